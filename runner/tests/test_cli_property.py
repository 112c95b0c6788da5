"""Every command and every option, with any value: exit 0, 1 or 2 (or the command gets as far as starting its
work), at most one line on stderr when it refuses, never a traceback, never a hang, never a file written
outside the test's own directory.

The command lines are generated (python3-hypothesis) from the parser itself (runner/cli.py make_parser), so a
new command or option is covered the day it is added: for each example a command (and its subcommand), a few
of its options and its positional arguments, each with a value drawn from hostile strings (numbers out of
range, nan and inf, globs, target specs, paths to files of every kind: text, bytes, empty, a directory, a
FIFO, a symlink loop, /dev/full, /proc) and from arbitrary text. The command runs in this process
(cli.main), as far as it goes without starting another program: the first program it would start other
than the suite's own test binaries listing their tests (a build, a package install, a test run, a wrapper, a
benchmark), or the results directory of a run it would create, ends the example as "started". That keeps an
example a few milliseconds and the machine untouched. IPCSUITE_FUZZ_EXAMPLES raises the number of examples
(default 150); `--hypothesis-show-statistics` prints how many each command got and how they ended.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runner import cli, workspace
from runner.tests.conftest import BUILD, ROOT

EXAMPLES = int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
HANG_S = 20  # an example that takes longer than this is a hang

# Options whose value is a program the suite would start (a wrapper) get their values from the same pool:
# the pool holds nothing that does harm when run, and nothing but the suite's own binaries ever runs here.
FILE_METAVARS = {"FILE", "LOG", "DIR", "LIB", "RUN", "RUN_A", "RUN_B", "T[,T...]"}
LISTING_ARGS = {"--gtest_list_tests", "--ipcsuite-list-rules"}


class Started(BaseException):
    """The command got past its checks to the point of starting its work."""


class Hang(BaseException):
    """The example outlived HANG_S."""


def _files(d: Path) -> dict[str, str]:
    """Files of every kind the commands may be given (and the path of each)."""
    (d / "text").write_text("hello\n")
    (d / "bytes").write_bytes(bytes(range(256)) * 4)
    (d / "empty").write_bytes(b"")
    (d / "json").write_text('{"tests": [{"id": 1}], "environment": []}\n')
    (d / "results.json").write_text('{"environment": {"target": "host"}, "tests": []}\n')
    (d / "dir").mkdir()
    (d / "dir" / "results.json").write_text("[]")
    os.mkfifo(d / "fifo")
    (d / "loop").symlink_to(d / "loop")
    (d / "nul").write_bytes(b"\0" * 64)
    names = ("text", "bytes", "empty", "json", "results.json", "dir", "fifo", "loop", "nul")
    files = {name: str(d / name) for name in names}
    files.update({f"qemu:{name}": f"qemu:{d / name}" for name in names})  # a kernel image of every kind
    return files


HOSTILE = ["", "-", "--", " ", "0", "-0", "1", "-1", "2", "3", "7", "255", "256", "257", "99999", "1e308",
           "-1e308", "1e-320", "nan", "-nan", "inf", "-inf", "0x10", "1_000", "٣", "½", "0/1", "1/2", "2/2", "-1/2",
           "1/0", "0/0", "3/2", "*", "?", "[", "[!", "]", "**", "pipe/*", "sem/*", "*.*", "not", "a and", "(",
           "host", "userns", "bwrap", "host,host", "qemu:", "qemu:/proc/version", "qemu:nosuch", "wrap:",
           "wrap:'", 'wrap:"a b', "wrap:/proc/version", "wrap:/nonexistent/tool", "oci:", "oci:/proc/version",
           "oci:no-such-runtime", "nosuch:target", "address,undefined", "thread", "memory", "tree", "process",
           "6.1", "6.12", "6.1-rt", "write=EIO", "write=EIO@0", "semop=EIDRM@1", "read[fd=0]=EAGAIN%2",
           "nosuch=EIO", "write=ENOSUCH", "%", "@", "=", "/", "/proc", "/proc/version", "/proc/self/status",
           "/dev/null", "/dev/full", "/nonexistent", "/nonexistent/x", "~", "\\", "'", '"', "\t", "\n", "\x7f",
           "é", "\udcff", "x" * 300, "a" * 5000]


def _values(files: dict[str, str]) -> st.SearchStrategy[str]:
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=24)
    numbers = st.one_of(st.integers(-2**70, 2**70).map(str), st.floats(allow_nan=True).map(repr))
    return st.one_of(st.sampled_from(HOSTILE), st.sampled_from(sorted(files.values())), numbers, text)


def _parsers(parser: argparse.ArgumentParser, path=()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(command words, parser) for every command and subcommand that runs something."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    return [p for name, sub in subs[0].choices.items() for p in _parsers(sub, (*path, name))]


PARSERS = _parsers(cli.make_parser())


@st.composite
def command_lines(draw, files: dict[str, str]) -> list[str]:
    words, parser = draw(st.sampled_from(PARSERS))
    values = _values(files)
    paths = st.one_of(st.sampled_from(sorted(files.values())), values)  # for what names a file (metavar)
    argv = list(words)
    options = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    for action in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        opt = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(opt)
        elif action.choices is not None and draw(st.booleans()):
            argv += [opt, str(draw(st.sampled_from(sorted(action.choices))))]
        elif opt.startswith("--") and draw(st.integers(0, 3)) == 0:
            argv.append(f"{opt}={draw(values)}")
        else:
            argv += [opt, draw(paths if action.metavar in FILE_METAVARS else values)]
    if "--no-build" in parser._option_string_actions and "--no-build" not in argv:
        argv.append("--no-build")  # a command that builds would start the build (Started) before its checks
    if "--results-dir" in parser._option_string_actions and not any(a.startswith("--results-dir") for a in argv):
        argv += ["--results-dir", str(Path(files["dir"]).parent / "results")]  # not the checkout's results/
    for action in (a for a in parser._actions if not a.option_strings):
        if action.nargs in (None, 1):
            count = 1
        elif action.nargs == "?":
            count = draw(st.integers(0, 1))
        elif action.nargs == "+":
            count = draw(st.integers(1, 2))
        else:  # "*", REMAINDER
            count = draw(st.integers(0, 2))
        if action.nargs == argparse.REMAINDER and count:
            argv.append("--")
        for _ in range(count):
            if action.choices is not None and draw(st.booleans()):
                argv.append(str(draw(st.sampled_from(sorted(action.choices)))))
            else:
                argv.append(draw(paths if action.metavar in FILE_METAVARS else values))
    return argv


@contextlib.contextmanager
def _contained(monkeypatch):
    """Everything but the suite's own binaries listing their tests ends the example as Started."""
    real_popen_init = subprocess.Popen.__init__

    def popen_init(self, args, *a, **kw):
        argv = [args] if isinstance(args, (str, bytes)) else list(args)
        exe = Path(str(argv[0])) if argv else Path()
        if len(argv) == 2 and argv[1] in LISTING_ARGS and exe.is_absolute() and \
                exe.resolve().is_relative_to(BUILD.resolve()):
            return real_popen_init(self, args, *a, **kw)
        if argv[:1] == ["git"] and "describe" in argv:  # the version in the parser's --version
            return real_popen_init(self, args, *a, **kw)
        raise Started(f"would start {argv[:4]}")

    def stop(*a, **kw):
        raise Started("would start a process or a run")

    monkeypatch.setattr(subprocess.Popen, "__init__", popen_init)
    for name in ("fork", "forkpty", "execv", "execve", "execvp", "execvpe", "posix_spawn", "posix_spawnp",
                 "system"):
        monkeypatch.setattr(os, name, stop)
    monkeypatch.setattr(workspace.Run, "create", stop)

    def hang(signum, frame):
        raise Hang()

    old_alarm = signal.signal(signal.SIGALRM, hang)
    old_term = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)


def _record_writes(mp, writes: list[str]) -> None:
    """Every file the command opens for writing, creates, renames to or links: recorded in `writes`. (The
    import system's own writes, __pycache__, go through posix directly and are not the command's.)"""
    import builtins
    import io
    real_open, real_os_open = builtins.open, os.open

    def open_(file, mode="r", *a, **kw):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
            writes.append(os.fsdecode(file))
        return real_open(file, mode, *a, **kw)

    def os_open(path, flags, *a, **kw):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            writes.append(os.fsdecode(path))
        return real_os_open(path, flags, *a, **kw)

    mp.setattr(builtins, "open", open_)
    mp.setattr(io, "open", open_)
    mp.setattr(os, "open", os_open)
    for name, arg in (("mkdir", 0), ("replace", 1), ("rename", 1), ("link", 1), ("symlink", 1),
                      ("mkfifo", 0), ("mknod", 0)):
        real = getattr(os, name)

        def wrapped(*a, _real=real, _arg=arg, **kw):
            writes.append(os.fsdecode(a[_arg]))
            return _real(*a, **kw)

        mp.setattr(os, name, wrapped)


def _outside(path: str, argv: list[str]) -> bool:
    """Whether a write to `path` is outside the example's directory and every path the command line names."""
    where = Path(os.path.abspath(os.path.join(_WORKDIR, path)))
    allowed = [Path(_WORKDIR), Path(os.devnull)] + [Path(os.path.abspath(a.split("=", 1)[-1])) for a in argv if "/" in a]
    return not any(where == a or where.is_relative_to(a) for a in allowed)


# Made when the module is imported (the strategy needs the paths), so removed when the process ends: every
# pytest-xdist worker imports the module, and only one of them runs its test.
_WORKDIR = tempfile.mkdtemp(prefix="ipcsuite-cli-property-")
atexit.register(shutil.rmtree, _WORKDIR, True)
_FILES = _files(Path(_WORKDIR))
(Path(_WORKDIR) / "tmp").mkdir()


@SETTINGS
@given(argv=command_lines(_FILES))
def test_any_command_line_is_an_exit_status_or_one_line(monkeypatch, argv):
    writes: list[str] = []
    out, err = io.StringIO(), io.StringIO()
    outcome = None
    with monkeypatch.context() as mp, _contained(mp):
        mp.chdir(_WORKDIR)
        _record_writes(mp, writes)
        mp.setenv("IPCSUITE_BUILD_DIR", str(BUILD))
        # Runs' temporary directories (and the sweep of earlier runs' leftovers) in the example's own place:
        # another run's leftovers are not this test's to remove.
        mp.setenv("IPCSUITE_TMP_ROOT", str(Path(_WORKDIR) / "tmp"))
        mp.setattr(tempfile, "tempdir", str(Path(_WORKDIR) / "tmp"))  # and every temporary file
        mp.delenv("LD_PRELOAD", raising=False)
        for k in [k for k in os.environ if k.startswith("IPCSUITE_") and k not in ("IPCSUITE_BUILD_DIR",
                                                                                  "IPCSUITE_TMP_ROOT")]:
            mp.delenv(k)
        signal.alarm(HANG_S)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli.main(argv)
        except Started:
            outcome = "started"
        except SystemExit as e:  # argparse's --help and --version
            rc = e.code
        except Hang:
            pytest.fail(f"ipcsuite {argv!r} did not finish within {HANG_S} s")
        finally:
            signal.alarm(0)
    stderr = err.getvalue()
    assert "Traceback" not in stderr + out.getvalue(), (argv, stderr)
    if outcome is None:
        assert rc in (0, 1, 2), (argv, rc, stderr)
        if rc == 2:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("ipcsuite: "), (argv, stderr)
        outcome = f"exit {rc}"
    event(f"{' '.join(argv[:2] if argv[:1] == ['bench'] else argv[:1])}: {outcome}")
    outside = [w for w in writes if _outside(w, argv)]
    assert not outside, (argv, outside)  # nothing written but in the example's directory or where it said
    left = sorted(str(p) for p in (Path(_WORKDIR) / "tmp").iterdir())
    assert not left, (argv, left)  # no temporary file left behind, even by a command that stopped early
