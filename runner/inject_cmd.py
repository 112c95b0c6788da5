"""./ipcsuite inject: run any program under a seccomp fault plan (front end of build/bin/ipcsuite-inject).

The options are checked here and by the injector itself (`--check`) before the program starts, so that
bad input gets one line and exit 2 and never a half-started program; after that the program's own exit
status is passed through unchanged (128+N when it is killed by signal N).
"""
from __future__ import annotations

import argparse
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from runner import build as build_mod
from runner import deps, procinfo, workspace
from runner.errors import SetupError, Terminated, UsageError

INJECTOR = "ipcsuite-inject"
MAX_INPUT = 64 << 20  # the injector's limit for a plan or replay log (fault/inject_main.cc kMaxInput)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "inject", help="run a program with injected system call failures (seccomp; faster strace --inject)",
        description="Run PROGRAM with system call failures injected into it, its threads and its children.")
    p.add_argument("--fail", action="append", default=[], metavar="SPEC",
                   help="NAME[ARG=V,...]=ERRNO[@N|@N+|@N+K|%%P]; repeatable (e.g. semop=EIDRM@3, "
                        "write[fd=3]=EPIPE%%0.1)")
    p.add_argument("--plan", action="append", default=[], metavar="FILE",
                   help="a file of SPECs, one a line, '#' comments")
    p.add_argument("--seed", metavar="N", help="seed for %%P rules (default: fresh; always printed)")
    p.add_argument("--log", metavar="FILE", help="write every injected fault (pid, tid, syscall, index, errno)")
    p.add_argument("--replay", metavar="LOG", help="inject exactly the faults recorded in LOG")
    p.add_argument("--count", choices=("tree", "process"), default="tree",
                   help="call indices count over the whole tree (default) or per process")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]")
    return p


def injector_path() -> Path:
    return build_mod.build_dir() / "bin" / INJECTOR


def build_command(args) -> list[str]:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("inject: no program given (./ipcsuite inject --fail SPEC -- PROGRAM [ARGS...])")
    if args.seed is not None and not args.seed.isdigit():
        raise UsageError(f"inject: --seed takes a non-negative integer, not {args.seed!r}")
    cmd = [str(injector_path())]
    for spec in args.fail:
        cmd += ["--fail", spec]
    for f in args.plan:
        cmd += ["--plan", f]
    if args.seed is not None:
        cmd += ["--seed", args.seed]
    if args.log:
        cmd += ["--log", args.log]
    if args.replay:
        cmd += ["--replay", args.replay]
    cmd += ["--count", args.count, "--", *argv]
    return cmd


def ensure_built() -> None:
    if injector_path().is_file():
        return
    deps.ensure_packages()
    build_mod.build()
    if not injector_path().is_file():
        raise SetupError(f"{injector_path()} was not built")


def read_once(path: str) -> bytes | None:
    """The bytes of a --plan or --replay input that can be read only once (a FIFO, a shell's <(...)), read
    as the injector reads it (a FIFO without a writer reads as empty); None for a regular file, a directory
    or a path that does not open: the injector reads those, or refuses them, itself."""
    if not once_only(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_INPUT:
                raise UsageError(f"inject: cannot read {path}: larger than {MAX_INPUT >> 20} MiB")
        return b"".join(chunks)
    except OSError as e:
        raise UsageError(f"inject: cannot read {path}: {e.strerror}") from None
    finally:
        os.close(fd)


def once_only(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def copy_streams(args, tmp: Path) -> dict[str, str]:
    """The injector is run twice (--check, then the program), so a --plan or --replay input that can be read
    only once is read here, once, into a copy in `tmp` that both runs read. Returns copy -> given path (for
    the injector's messages)."""
    given: dict[str, str] = {}

    def copy(path: str) -> str:
        data = read_once(path)
        if data is None:
            return path
        c = tmp / f"input{len(given)}"
        c.write_bytes(data)
        given[str(c)] = path
        return str(c)

    args.plan = [copy(f) for f in args.plan]
    if args.replay:
        args.replay = copy(args.replay)
    return given


def run(args) -> int:
    build_command(args)  # the usage errors first
    if not any(once_only(f) for f in [*args.plan, args.replay] if f):
        return _run(build_command(args), {})
    with workspace.scratch("inject") as tmp:
        given = copy_streams(args, tmp)
        return _run(build_command(args), given)


def _run(cmd: list[str], given: dict[str, str]) -> int:
    ensure_built()
    env = dict(os.environ)
    # Validate first: bad input must not start the program.
    # errors="replace": the injector quotes the user's input, which may be any bytes (a plan file that is
    # not UTF-8); the message stays one line.
    chk = subprocess.run([cmd[0], "--check", *cmd[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace", env=env, check=False)
    if chk.returncode != 0:
        line = (chk.stderr.strip().splitlines() or [f"inject: check failed (exit {chk.returncode})"])[-1]
        for c, path in given.items():
            line = line.replace(c, path)
        prefix = "ipcsuite inject: error: "
        raise UsageError("inject: " + (line[len(prefix):] if line.startswith(prefix) else line))
    sys.stdout.flush()
    sys.stderr.flush()
    # Under the guard: the program and everything it starts (posix_spawn, vfork: no death signal of their
    # own) die with this runner, even when it is SIGKILLed, and when the program ends.
    proc = subprocess.Popen(procinfo.guarded(cmd), env=env, preexec_fn=procinfo.set_pdeathsig)
    while True:
        try:
            rc = proc.wait()
            return rc if rc >= 0 else 128 - rc
        except Terminated:
            for pid in procinfo.children_of(proc.pid):  # to the injector under the guard; its status decides
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        except KeyboardInterrupt:
            continue  # the program got SIGINT too (same process group); its status decides
