"""What a process tree is doing (for timeout messages) and killing it."""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import time
from pathlib import Path

from runner import syscalls

PR_SET_PDEATHSIG = 1


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def children_of(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").glob("[0-9]*/stat"):
        stat = _read(p)
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) > 1 and rest[1] == str(pid):
            out.append(int(p.parent.name))
    return out


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(children_of(p))
    return pids


def describe_task(pid: int) -> str:
    d = Path(f"/proc/{pid}")
    stat = _read(d / "stat")
    if not stat:
        return f"pid {pid} gone"
    state = stat[stat.rfind(")") + 2:].split()[0]
    sc = _read(d / "syscall")
    call = "running" if sc.startswith("running") or not sc else syscalls.name(int(sc.split()[0]))
    wchan = _read(d / "wchan")
    where = f"pid {pid} state {state}, in {call}" if call != "running" else f"pid {pid} running"
    if wchan and wchan != "0":
        where += f" (wchan {wchan})"
    return where


def describe_tree(pid: int) -> str:
    return "; ".join(describe_task(p) for p in tree(pid))


def kill_tree(pid: int) -> None:
    for p in reversed(tree(pid)):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def with_environment(entry: str) -> list[int]:
    """The processes whose environment holds `entry` ("NAME=value", exactly): e.g. every process of a run,
    whichever session, process group or PID namespace it is in (a zombie's environment reads empty)."""
    want = entry.encode()
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if want in env.split(b"\0"):
            out.append(int(d.name))
    return out


def kill_with_environment(entry: str, deadline_s: float) -> list[int]:
    """SIGKILLs every process whose environment holds `entry` until none is left or `deadline_s` passed (a
    process may fork while it is being killed); returns those still there at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        left = [p for p in with_environment(entry) if p != os.getpid()]
        if not left or time.monotonic() > end:
            return left
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)  # the killed processes exit; looked at again, with the deadline above


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def set_pdeathsig() -> None:
    """Die with the parent process (a SIGKILLed runner leaves no worker or child behind)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


GUARD = Path(__file__).resolve().parent / "guard.py"


def guarded(cmd: list[str]) -> list[str]:
    """cmd run under runner/guard.py: every process it starts, however (posix_spawn, vfork, a daemon, a
    compiler in a process group of its own), dies when it ends or when this runner dies, even by SIGKILL."""
    return ["/usr/bin/python3", "-S", str(GUARD), "--parent", str(os.getpid()), "--", *cmd]


# The guard is one more process of the user. Below this many processes and threads left under RLIMIT_NPROC
# the run does without it (see guard_fits).
GUARD_MIN_NPROC_HEADROOM = 64


def tasks_of_uid(uid: int) -> int:
    """Processes and threads whose real uid is `uid` (what RLIMIT_NPROC counts), as far as /proc shows them."""
    n = 0
    for d in Path("/proc").glob("[0-9]*"):
        uid_line = threads = None
        for line in _read(d / "status").splitlines():
            if line.startswith("Uid:"):
                uid_line = line.split()[1]
            elif line.startswith("Threads:"):
                threads = line.split()[1]
        if uid_line == str(uid):
            n += int(threads) if threads and threads.isdigit() else 1
    return n


def nproc_headroom() -> int | None:
    """How many more processes/threads RLIMIT_NPROC lets this user start; None when it is unlimited."""
    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    return soft - tasks_of_uid(os.getuid())


def guard_fits() -> tuple[bool, int | None]:
    """Whether a command can run under the guard without taking a process the tests need: RLIMIT_NPROC is
    unlimited or leaves at least GUARD_MIN_NPROC_HEADROOM; and the headroom measured."""
    room = nproc_headroom()
    return room is None or room >= GUARD_MIN_NPROC_HEADROOM, room
