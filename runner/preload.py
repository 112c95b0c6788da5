"""--preload LIB: refused at once when the dynamic loader would not load it into the test processes.

The loader ignores an LD_PRELOAD object it cannot load (a text file, a 32-bit or foreign library, a path the
target's sandbox hides) with a warning on stderr and runs the program anyway: every test would pass without
the library, a false green. So the run checks LIB twice, each time one line and exit 2:
- before the build, the file itself (static_problem): an ELF shared object of the test binaries' class and
  machine (those of this runner's own Python, which the build targets);
- after the build and the targets' set-up, a test binary started as every test process is (the target's
  wrapper, LD_PRELOAD=LIB) listing its tests (probe): the loader's refusal, or a library that kills or
  stops the process before its first test (an abort in its constructor) is the library's problem, not a
  verdict on any rule. Under oci:RUNTIME that is a container of its own, with the bundle's rootfs and the
  container's loader: a library that loads on the host but links a library the rootfs lacks is refused.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from runner import procinfo
from runner.errors import UsageError

ELF_MAGIC = b"\x7fELF"
ET_DYN = 3
_REFUSED = re.compile(r"ld\.so: object '.*' from LD_PRELOAD cannot be preloaded \((.*)\): ignored")
# A library LIB links that the loader cannot find is fatal (the process exits 127), not ignored.
_UNLOADABLE = re.compile(r"error while loading shared libraries: (.*)")
PROBE_TIMEOUT_S = 60.0


def _elf_header(path: Path) -> tuple[int, int, int, int] | None:
    """(class, data, type, machine) of an ELF file, None if it is not one."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != ELF_MAGIC or head[5] not in (1, 2):
        return None
    order = "little" if head[5] == 1 else "big"
    return head[4], head[5], int.from_bytes(head[16:18], order), int.from_bytes(head[18:20], order)


def static_problem(lib: Path) -> str | None:
    """Why the loader cannot load `lib` into a test process, judged from the file alone, or None."""
    try:
        got = _elf_header(lib)
        want = _elf_header(Path(sys.executable).resolve())
    except IsADirectoryError:
        return f"{lib} is a directory, not a shared library"
    except OSError as e:
        return f"cannot read {lib}: {e.strerror}"
    if got is None:
        return f"{lib} is not an ELF shared library"
    if want is None:
        return None  # nothing to compare with: the probe decides
    if got[0] != want[0]:
        bits = {1: "32", 2: "64"}
        return (f"{lib} is a {bits.get(got[0], '?')}-bit library; the test binaries are "
                f"{bits.get(want[0], '?')}-bit")
    if got[1] != want[1] or got[3] != want[3]:
        return f"{lib} is built for another machine (ELF machine {got[3]}, the test binaries' is {want[3]})"
    if got[2] != ET_DYN:
        return f"{lib} is not a shared library (ELF type {got[2]}, a shared object's is {ET_DYN})"
    return None


def check_file(lib: Path) -> None:
    if (why := static_problem(lib)) is not None:
        raise UsageError(f"--preload: {why}")


def probe(lib: Path, target, binary: Path | None, env: dict, tmp: str) -> None:
    """Starts `binary --gtest_list_tests` as the target starts a test process, with LD_PRELOAD=lib and `tmp` as
    its temporary directory (the caller removes it); raises UsageError when the loader refuses the library or
    the process does not get to list its tests."""
    if binary is None:
        return  # nothing built to probe with: the static check is all
    cmd = target.wrap([str(binary), "--gtest_list_tests"], tmp)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=dict(env, LD_PRELOAD=str(lib)), timeout=PROBE_TIMEOUT_S, check=False,
                              preexec_fn=procinfo.set_pdeathsig, **target.popen_kwargs())
    except subprocess.TimeoutExpired:
        raise UsageError(f"--preload {lib}: {binary.name} with it preloaded did not list its tests within "
                         f"{PROBE_TIMEOUT_S:g} s (target {target.name})") from None
    err = proc.stderr.decode(errors="replace")
    m = _REFUSED.search(err) or _UNLOADABLE.search(err)
    if m:
        where = "" if target.kind == "host" else f" in target {target.name}"
        if target.kind == "oci":  # what the container's loader can reach
            where += (" (its rootfs holds the build's binaries, the libraries they link and the preloaded file "
                      "itself, not what that file links besides)")
        raise UsageError(f"--preload {lib}: the dynamic loader refuses it{where} ({m.group(1).strip()})")
    if proc.returncode != 0:
        last = " ".join((err.strip().splitlines() or [""])[-1].split())[:200]
        raise UsageError(f"--preload {lib}: {binary.name} with it preloaded "
                         f"{procinfo.describe_exit(proc.returncode)} before its first test (target "
                         f"{target.name}; in the library's constructor?)" + (f": {last}" if last else ""))


def clean_env() -> dict:
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env
