"""guard.py --parent PID -- CMD...: runs CMD so that every process it starts dies with it and with the runner.

The runner starts the commands whose descendants it cannot otherwise reach through this guard: the program
of `ipcsuite inject` (a child it starts with posix_spawn or vfork has no PR_SET_PDEATHSIG, and was reparented
to init when the runner was SIGKILLed) and the build (cmake, ninja and the compilers, each in a process group
of ninja's). The guard is a child subreaper (PR_SET_CHILD_SUBREAPER): every orphaned descendant of CMD becomes
its child, so that it can always find them all. It kills all of them (SIGKILL) when
- the runner dies, however (PR_SET_PDEATHSIG: SIGUSR1 here), or
- CMD itself has ended (nothing CMD left running outlives it).
SIGINT, SIGTERM and SIGHUP are CMD's own: a terminal, or the runner's killpg, sends them to the whole process
group, the guard included, which outlives them to clean up after CMD. The guard exits with CMD's status (128+N when a signal N
killed it).

Self-contained (no runner import): started as `python3 -S runner/guard.py`, it costs a few tens of ms.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PARENT_GONE = signal.SIGUSR1


class ParentGone(Exception):
    pass


def _prctl(option: int, arg: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def descendants(root: int) -> list[int]:
    """Every process below `root`, parents before their children."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def kill_all() -> None:
    """SIGKILLs every descendant and reaps them, until the guard has no child left: an orphan of a killed
    process is reparented to the guard (a subreaper) and killed on the next round."""
    me = os.getpid()
    while True:
        for pid in descendants(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] != "--parent" or argv[2] != "--":
        print("guard.py: usage: guard.py --parent PID -- CMD...", file=sys.stderr)
        return 2
    parent, cmd = int(argv[1]), argv[3:]

    def parent_gone(signum, frame):
        raise ParentGone()

    signal.signal(PARENT_GONE, parent_gone)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_PDEATHSIG, PARENT_GONE)
    except OSError as e:
        print(f"guard.py: {e}", file=sys.stderr)
        return 2
    if os.getppid() != parent:  # the runner died before the death signal was armed
        return 128 + signal.SIGKILL
    child = None
    try:
        pid = os.fork()
        if pid == 0:  # the command: default signal dispositions (SIGINT too), no death signal of the guard's
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(PARENT_GONE, signal.SIG_DFL)
                os.execvp(cmd[0], cmd)
            except OSError as e:
                print(f"guard.py: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)
        child = pid

        def survive(signum, frame):
            pass  # the command's process group got it too: the guard stays to clean up after the command

        signal.signal(signal.SIGTERM, survive)
        signal.signal(signal.SIGHUP, survive)
        while True:
            try:
                done, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return 0
            if done == child:
                break
        code = os.waitstatus_to_exitcode(status)
        kill_all()  # what the command left running
        return code if code >= 0 else 128 - code
    except ParentGone:
        kill_all()
        return 128 + signal.SIGKILL


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
