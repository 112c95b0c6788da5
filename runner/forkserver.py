"""Fork servers: one pre-initialised process per test binary (and pytest worker) that forks one child per test.

A test binary started with --ipcsuite-serve (fixtures/main.cc) initialises GoogleTest once, then reads one
request per line on stdin and forks one child per test; the child is the test process exactly as an exec'd
binary would be (own process group, PR_SET_PDEATHSIG, a private IPC namespace of its own, the result
recorder, the seed), and the server answers with the child's pid and then its wait status. The runner
keeps each test's deadline here and kills the child's tree at it (procinfo.kill_tree/describe_tree) as it
does for an exec'd test process; the server only forks and reaps, and never runs a test itself, so nothing
a test changes reaches the next one.

The server is started through the target's wrap()/popen_kwargs() like the exec'd test process (userns,
bwrap and later wrappers pay their start-up once per worker and binary), dies with its worker
(PR_SET_PDEATHSIG, and EOF on its stdin), and is started again when it died: the test it was running is an
`error` whose reason names the server's end. shutdown_all() (also at interpreter exit) ends them cleanly.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runner import procinfo, targets

# How long a server gets to report a child's status after the child's tree was killed (it only reaps).
REAP_GRACE_S = 10.0
# How long shutdown waits for a server to exit after its stdin closed.
SHUTDOWN_GRACE_S = 5.0


class ServerGone(Exception):
    """The fork server ended (or could not start): `started` says whether the test's child had started."""

    def __init__(self, message: str, started: bool):
        super().__init__(message)
        self.started = started


@dataclass
class ChildResult:
    wait_status: int | None      # as waitpid(2) gives it; None when timed out and never reaped
    timed_out: bool = False
    where: str = ""              # procinfo.describe_tree of the child at its deadline


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rfind(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


class ForkServer:
    def __init__(self, binary: str, target: targets.Target, env: dict, tmp_base: str | None):
        self.binary = binary
        self.target = target
        fd, log = tempfile.mkstemp(prefix="forkserver-", suffix=".log", dir=tmp_base)
        self.log = Path(log)
        cmd = target.wrap([binary, "--ipcsuite-serve"], tmp_base)
        # The server binds every symbol at start-up (LD_BIND_NOW), so that its children (one per test) do not
        # each resolve them again lazily: about 20 fewer copy-on-write faults and 10 % less CPU per test. The
        # children unset it again (their environment is the test's, as exec'd).
        self.unset: list[str] = []
        if "LD_BIND_NOW" not in env:
            env = dict(env, LD_BIND_NOW="1")
            self.unset.append("LD_BIND_NOW")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fd, env=env,
                                         start_new_session=True, close_fds=True, **target.popen_kwargs())
        finally:
            os.close(fd)
        self._buf = b""
        self._busy = False  # a test child may be running (between a request and its status)
        self.deadline = 0.0  # of the test started last (time.monotonic())

    # ---- protocol ----
    def _send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise ServerGone(self._death(), started=False) from None

    def _read_line(self, deadline: float | None) -> str | None:
        """The next reply line; None when `deadline` (time.monotonic()) passed first; ServerGone at EOF."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise ServerGone(self._death(), started=True)
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode(errors="replace")

    def _death(self) -> str:
        try:
            rc = self.proc.wait(timeout=2)
            how = procinfo.describe_exit(rc)
        except subprocess.TimeoutExpired:
            how = "stopped answering"
        try:
            tail = " ".join(self.log.read_text(errors="replace").split())[-300:]
        except OSError:
            tail = ""
        return f"the fork server of {Path(self.binary).name} {how}" + (f" ({tail})" if tail else "")

    def alive(self) -> bool:
        return self.proc.poll() is None

    # ---- one test ----
    def run(self, name: str, output_file: str, overrides: dict, timeout: float) -> ChildResult:
        """Runs the test `name` in a child and returns once it has ended (or its deadline has passed)."""
        self.start(name, output_file, overrides, timeout)
        result = self.result(None)
        assert result is not None
        return result

    def start(self, name: str, output_file: str, overrides: dict, timeout: float) -> None:
        """Asks for the test `name` and returns at once; result() tells how it ended. One test at a time."""
        for k, v in overrides.items():
            if "\t" in k or "\n" in k or "\t" in str(v) or "\n" in str(v):
                raise ValueError(f"environment override {k!r} holds a tab or newline")
        fields = ["run", name, output_file] + [f"{k}={v}" for k, v in overrides.items()] + [
            f"-{k}" for k in self.unset]
        self.deadline = time.monotonic() + timeout
        self._busy = True
        self._send("\t".join(fields))

    def fileno(self) -> int:
        """Readable when the started test's status line (or the server's end) has come."""
        return self.proc.stdout.fileno()

    def result(self, until: float | None) -> ChildResult | None:
        """How the started test ended, waiting until `until` (time.monotonic(); None: as long as it takes) at
        the most; None when it is still running then. At the test's deadline its tree is killed (the server
        reaps it and answers). ServerGone when the server ends or refuses (fork failed)."""
        line = self._read_line(self.deadline if until is None else min(until, self.deadline))
        if line is None:
            if time.monotonic() < self.deadline:
                return None
            children = self.test_children()
            where = "; ".join(procinfo.describe_tree(c) for c in children) or procinfo.describe_tree(self.proc.pid)
            for c in children:
                procinfo.kill_tree(c)
            line = self._read_line(time.monotonic() + REAP_GRACE_S) if children else None
            if line is None or not line.startswith("status "):  # no child, or not reaped: the server is stuck
                self.kill()
                return ChildResult(None, timed_out=True, where=where)
            self._busy = False
            return ChildResult(int(line.split()[2]), timed_out=True, where=where)
        if line.startswith("error "):
            # The machine refused the test process (EAGAIN under RLIMIT_NPROC, ENOMEM): an infrastructure error,
            # tagged for people like the fixtures' refused setup steps.
            raise ServerGone(f"[infrastructure] the fork server of {Path(self.binary).name}: fork failed with "
                             f"{line[6:]}", started=False)
        if not line.startswith("status "):
            raise ServerGone(f"the fork server of {Path(self.binary).name} answered {line!r}", started=True)
        self._busy = False
        return ChildResult(int(line.split()[2]))

    def busy(self) -> bool:
        return self._busy

    def test_children(self) -> list[int]:
        """The server's children (pids in the runner's PID namespace): the test process it runs. Found in the
        tree under the server's process (wrappers such as userns and bwrap start it in a PID namespace of its
        own): the processes started as `<binary> --ipcsuite-serve` whose parent is the server itself, i.e. the
        one such process whose parent is not one."""
        serving = {}
        # Under a wrap: target the wrapper's processes (strace, proot, firejail) name --ipcsuite-serve too;
        # the server is then the one reading our requests (stdin: our pipe) whose children do not.
        try:
            pipe = f"pipe:[{os.fstat(self.proc.stdin.fileno()).st_ino}]"
        except (OSError, ValueError):
            pipe = ""
        reading = set()
        cmdlines = {}
        for p in procinfo.tree(self.proc.pid):
            try:
                cmdlines[p] = Path(f"/proc/{p}/cmdline").read_bytes()
            except OSError:
                continue
            argv = cmdlines[p].split(b"\0")
            if b"--ipcsuite-serve" not in argv[1:]:
                continue
            try:
                if pipe and os.readlink(f"/proc/{p}/fd/0") == pipe:
                    reading.add(p)
            except OSError:
                pass
            if argv[1] == b"--ipcsuite-serve":
                serving[p] = _ppid(p)
        if reading:
            # A test child just forked holds our pipe as its stdin too, until it redirects it (fixtures/main.cc):
            # a process reading it whose parent reads it with the same command line is that child (a wrapper's
            # command line differs from the server's).
            reading = {p for p in reading if not (_ppid(p) in reading and cmdlines.get(_ppid(p)) == cmdlines[p])}
            return [p for p in procinfo.tree(self.proc.pid) if _ppid(p) in reading and p not in reading]
        servers = {p for p, parent in serving.items() if parent not in serving}
        return [p for p, parent in serving.items() if parent in servers]

    # ---- ending ----
    def close(self) -> None:
        """Clean shutdown: EOF on its stdin ends the server; killed if it does not end in time, or at once when
        a test child may still run (the runner was interrupted during a test)."""
        if self._busy:
            self.kill()
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()
        self._cleanup()

    def kill(self) -> None:
        procinfo.kill_tree(self.proc.pid)
        try:
            self.proc.wait(timeout=SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        self._cleanup()

    def _cleanup(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.log.unlink()
        except OSError:
            pass


# ---- the servers of this process (a pytest process): for each binary, target and environment, as many as
# tests of it run at once ----

_SERVERS: dict[tuple, list[ForkServer]] = {}


_last_key: tuple = (None, None, "", ())  # (target, env, their parts of the key): one run uses one of each


def _key(binary: str, target: targets.Target, env: dict) -> tuple:
    global _last_key
    if _last_key[0] is not target or _last_key[1] is not env:  # not once per test: ~100 variables sorted
        _last_key = (target, env, json.dumps(target.to_data(), sort_keys=True), tuple(sorted(env.items())))
    return binary, _last_key[2], _last_key[3]


def server_for(binary: str, target: targets.Target, env: dict, tmp_base: str | None) -> ForkServer:
    """An idle server of `binary` (one that runs no test): a live one if there is, else a new one."""
    pool = _SERVERS.setdefault(_key(binary, target, env), [])
    for s in list(pool):
        if s.busy():
            continue
        if s.alive():
            return s
        s.kill()
        pool.remove(s)
    s = ForkServer(binary, target, env, tmp_base)
    pool.append(s)
    return s


def forget(server: ForkServer) -> None:
    """Ends `server` and drops it: the next test of its binary starts a fresh one."""
    server.kill()
    for pool in _SERVERS.values():
        if server in pool:
            pool.remove(server)


def close_idle(binary: str) -> None:
    """Ends the servers of `binary` that run no test (no test of it is left to run)."""
    for key, pool in _SERVERS.items():
        if key[0] == binary:
            for s in [s for s in pool if not s.busy()]:
                s.close()
                pool.remove(s)


def shutdown_all() -> None:
    while _SERVERS:
        _k, pool = _SERVERS.popitem()
        for s in pool:
            s.close()


def servers() -> list[ForkServer]:
    """The live servers of this process (for self-tests)."""
    return [s for pool in _SERVERS.values() for s in pool]


atexit.register(shutdown_all)
