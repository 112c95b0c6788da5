"""The wrap:CMD target: every test process runs under a wrapper command (an emulator, a sandbox, a tracer).

    ./ipcsuite run --target wrap:'valgrind -q --trace-children=yes'
    ./ipcsuite run --target wrap:qemu-x86_64
    ./ipcsuite run --target wrap:proot
    ./ipcsuite run --target wrap:'strace -f -o /dev/null'
    ./ipcsuite run --target wrap:'firejail --quiet --noprofile'

CMD is split as a shell would (shlex). The runner starts every test process as `CMD <binary> ...`: the fork
server (`CMD <binary> --ipcsuite-serve`, so that every test it forks runs under CMD too) or, in exec mode,
`CMD <binary> --gtest_filter=<test>`. Listing the tests does not go through the wrapper (it runs on the host).

Helper processes the tests re-exec (fixtures/helper.h ExecHelper, `<binary> --ipcsuite-helper ...`) follow
a wrapper that follows execve(2) by itself (ptrace-based tools: strace -f, proot; valgrind
--trace-children=yes; a sandbox whose children stay inside it). A wrapper that does not (a user-mode emulator:
qemu-*, which runs an exec'd native binary natively; valgrind without --trace-children=yes) gets the re-exec
through itself: the runner sets $IPCSUITE_WRAP to the wrapper's words separated by tabs, and ExecHelper runs
`<words> <binary> --ipcsuite-helper ...` instead of the binary.

Deadlines: `--timeout-scale F` multiplies the runner's per-test deadline and the fixtures' internal ones
($IPCSUITE_TIMEOUT_SCALE, read by fixtures/child.cc ScaledDeadline). Without it, known slow wrappers get a
default (SLOW below), printed in the run's header. The runner sets $IPCSUITE_TIMEOUT_SCALE for every test
process (the contract of a test process); set in the runner's own environment it is only a default for
--timeout-scale, as in earlier versions.

Before the run, the wrapper is probed once: `CMD <a test binary> --ipcsuite-helper exit 0` must exit 0. A
wrapper whose program is missing, or that cannot start the binary, is one line and exit 2 (SetupError).
"""
from __future__ import annotations

import math
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from runner.errors import SetupError, UsageError

PREFIX = "wrap:"
ENV_WRAP = "IPCSUITE_WRAP"            # the wrapper's words (tab-separated) when ExecHelper must go through it
ENV_SCALE = "IPCSUITE_TIMEOUT_SCALE"  # the fixtures' deadline factor (fixtures/child.cc)
PROBE_TIMEOUT_S = 120.0
# Default --timeout-scale of known slow wrappers (program name prefix -> factor): dynamic instrumentation and
# user-mode emulation (and ptrace on every system call: proot, strace) run the suite's busy children several
# times slower.
SLOW = (("valgrind", 10.0), ("qemu-", 5.0), ("proot", 4.0), ("strace", 4.0))


def words_of(spec: str) -> list[str]:
    """The wrapper command of `wrap:CMD`, split as a shell would."""
    text = spec[len(PREFIX):]
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"target {spec!r}: {e} (unbalanced quotes?)") from None
    if not words:
        raise UsageError("target wrap needs a command: wrap:CMD, e.g. wrap:'strace -f -o /dev/null'")
    if any("\t" in w or "\n" in w for w in words):
        raise UsageError(f"target {spec!r}: a word of the wrapper command holds a tab or newline")
    return words


def parse(spec: str) -> tuple[str, dict]:
    """(target name, options) of `wrap:CMD`; the name is `wrap:` and the words joined as a shell would."""
    words = words_of(spec)
    return PREFIX + shlex.join(words), {"command": words}


def program(words: list[str]) -> str:
    return os.path.basename(words[0])


def default_scale(words: list[str]) -> float:
    for prefix, scale in SLOW:
        if program(words).startswith(prefix):
            return scale
    return 1.0


def reexec_through_wrapper(words: list[str]) -> bool:
    """Whether an exec'd helper would escape the wrapper (so ExecHelper must go through it)."""
    prog = program(words)
    if prog.startswith("qemu-"):
        return True
    if prog == "valgrind":
        return "--trace-children=yes" not in words
    return False


def timeout_scale(text) -> float:
    """--timeout-scale F: a finite number above 0 (UsageError otherwise: one line, exit 2)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"--timeout-scale takes a number, not {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise UsageError(f"--timeout-scale must be a finite number above 0, not {text!r}")
    return v


def _resolve(prog: str) -> str | None:
    if os.sep in prog:
        return prog if os.path.isfile(prog) and os.access(prog, os.X_OK) else None
    return shutil.which(prog)


def availability(options: dict) -> tuple[bool, str]:
    words = options["command"]
    found = _resolve(words[0])
    if not found:
        return False, f"wrapper program {words[0]!r} not found"
    return True, f"every test process under {shlex.join(words)} ({found}), this kernel"


def probe(options: dict, binary: Path | None, scale: float) -> None:
    """Starts `CMD <binary> --ipcsuite-helper exit 0` once; SetupError (one line) unless it exits 0."""
    words = options["command"]
    name = PREFIX + shlex.join(words)
    ok, why = availability(options)
    if not ok:
        raise SetupError(f"target {name}: {why}")
    if binary is None:
        return
    cmd = [*words, str(binary), "--ipcsuite-helper", "exit", "0"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=PROBE_TIMEOUT_S * scale, check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise SetupError(f"target {name}: the wrapper did not run {binary.name} within "
                         f"{PROBE_TIMEOUT_S * scale:g} s") from None
    except OSError as e:
        raise SetupError(f"target {name}: cannot start the wrapper: {e.strerror}") from None
    if proc.returncode != 0:
        out = [ln.strip() for ln in proc.stdout.decode(errors="replace").splitlines() if ln.strip()]
        how = (f"exited {proc.returncode}" if proc.returncode > 0 else f"was killed by signal {-proc.returncode}")
        raise SetupError(f"target {name}: the wrapper cannot start the test binary {binary.name} (it {how}"
                         + (f": {out[-1][:200]}" if out else "") + ")")


def probe_binary(bdir: Path) -> Path | None:
    """A built test binary to probe the wrapper with (None: nothing built)."""
    bins = sorted((Path(bdir) / "bin").glob("*_test"))
    return bins[0] if bins else None


def wrap(options: dict, cmd: list[str]) -> list[str]:
    return [*options["command"], *cmd]


def env(target_data: dict) -> dict:
    """What a target adds to the environment of its test processes: the deadline factor, and the wrapper for
    ExecHelper where an exec'd helper would escape it."""
    options = target_data.get("options") or {}
    out = {ENV_SCALE: repr(float(options.get("timeout_scale", 1.0)))}
    if target_data.get("kind") == "wrap" and reexec_through_wrapper(options["command"]):
        out[ENV_WRAP] = "\t".join(options["command"])
    return out


def split_targets(text: str) -> list[str]:
    """A --target value split at its commas, except that a `wrap:` spec takes the rest of the value (its
    command may hold commas: wrap:'strace -f -e trace=read,write'); other targets go before it."""
    parts = text.split(",")
    for k, part in enumerate(parts):
        if part.strip().startswith(PREFIX):
            return parts[:k] + [",".join(parts[k:])]
    return parts


def set_scale(target, given: float | None) -> str:
    """Stores the target's deadline factor in its options (the plan carries it to every worker); returns
    what the run's header says about it ("" for 1)."""
    scale, why = (given, "--timeout-scale") if given is not None else (1.0, "")
    if given is None and os.environ.get(ENV_SCALE):  # the variable of earlier versions, as a default
        try:
            scale, why = timeout_scale(os.environ[ENV_SCALE]), f"${ENV_SCALE}"
        except UsageError as e:
            raise UsageError(f"${ENV_SCALE}: {e}") from None
    elif given is None and target.kind == "wrap":
        scale = default_scale(target.options["command"])
        why = f"default for {program(target.options['command'])}"
    target.options["timeout_scale"] = scale
    return f"timeout scale {scale:g} ({why})" if scale != 1.0 else ""
