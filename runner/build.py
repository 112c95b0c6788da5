"""Configure and build into build/ (incremental)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from runner import deps, procinfo
from runner.errors import SetupError

ROOT = Path(__file__).resolve().parent.parent
# --sanitize choices and the build directory (build-<suffix>/) each gets.
SANITIZERS = {"address,undefined": "asan", "thread": "tsan"}


def build_dir() -> Path:
    return Path(os.environ.get("IPCSUITE_BUILD_DIR", ROOT / "build"))


def build(log=sys.stderr, extra_cmake_args: list[str] | None = None) -> Path:
    bdir = build_dir()
    logfile = bdir / "ipcsuite-build.log"
    try:
        bdir.mkdir(parents=True, exist_ok=True)
        open(logfile, "a").close()
    except OSError as e:  # e.g. another user's build/ (a checkout cloned as root, run as a user)
        raise SetupError(f"cannot write the build directory {bdir} ({e.strerror}): build as its owner, or set "
                         "IPCSUITE_BUILD_DIR to a directory you can write") from None
    steps = []
    if not (bdir / "build.ninja").exists():
        steps.append(["cmake", "-S", str(ROOT), "-B", str(bdir), "-G", "Ninja",
                      "-DCMAKE_BUILD_TYPE=RelWithDebInfo", *(extra_cmake_args or [])])
    steps.append(["cmake", "--build", str(bdir), "--parallel", str(os.cpu_count() or 1)])
    print(f"ipcsuite: building in {bdir} (log: {logfile})", file=log, flush=True)
    with open(logfile, "w") as out:
        for cmd in steps:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            proc = _run_with_progress(cmd, out, log)
            if proc.returncode != 0:
                out.flush()
                tail = Path(logfile).read_text(errors="replace").strip().splitlines()[-15:]
                print("\n".join(tail), file=log)
                raise SetupError(f"build failed ({' '.join(cmd[:2])} exit {proc.returncode}); see {logfile}")
    return bdir


_STEP = re.compile(r"^\[(\d+)/(\d+)\] ")


def _run_with_progress(cmd: list[str], out, log) -> subprocess.CompletedProcess:
    """Runs cmd with its output in the build log, and shows ninja's [N/M] progress: one updating line on a
    terminal, otherwise a line at every tenth of the steps (CI logs)."""
    tty = hasattr(log, "isatty") and log.isatty()
    shown, printed = -1, False
    # Under the guard (runner/guard.py): a SIGKILLed runner leaves no cmake, ninja or compiler running.
    proc = subprocess.Popen(procinfo.guarded(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
                            preexec_fn=procinfo.set_pdeathsig)
    try:
        for line in proc.stdout:
            out.write(line)
            m = _STEP.match(line)
            if not m:
                continue
            done, total = int(m.group(1)), int(m.group(2))
            if total < 20:
                continue
            if tty:
                print(f"\ripcsuite: build [{done}/{total}]", end="", file=log, flush=True)
                printed = True
            elif done * 10 // total > shown:
                shown = done * 10 // total
                print(f"ipcsuite: build {shown * 10}% ({done}/{total} steps)", file=log, flush=True)
        proc.wait()
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): the whole build goes with us. ninja runs each command in a process
        # group of its own and kills them when it gets SIGTERM, so the build's group gets SIGTERM first, and
        # SIGKILL only if it has not ended within 10 s.
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        raise
    finally:
        proc.stdout.close()
    if printed:
        print("\r\033[K", end="", file=log, flush=True)
    out.flush()
    return subprocess.CompletedProcess(cmd, proc.returncode)


# An installed ipcsuite (cmake --install) has no sources: it runs the build it was installed with.
INSTALLED = not (ROOT / "CMakeLists.txt").exists()


def results_root() -> Path:
    """Where results/<run-id>/ go by default: the checkout's results/, or ./results for an installed suite
    (whose directory the user may not write)."""
    return ROOT / "results" if os.access(ROOT, os.W_OK) and not INSTALLED else Path.cwd() / "results"


def prepare(args) -> Path:
    """The build a command uses: built (with the packages it needs) unless --no-build, in build-asan/ or
    build-tsan/ for --sanitize."""
    sanitize = getattr(args, "sanitize", None)
    if INSTALLED:
        if sanitize or getattr(args, "command", "") == "test":
            raise SetupError("an installed ipcsuite runs the suite; --sanitize and `test` need the source checkout")
        deps.ensure_packages(packages=deps.RUNTIME_PACKAGES)
        return build_dir()
    if sanitize:
        # A build of its own, so that switching modes never rebuilds build/.
        os.environ["IPCSUITE_BUILD_DIR"] = str(ROOT / f"build-{SANITIZERS[sanitize]}")
    if not getattr(args, "no_build", False):
        deps.ensure_packages(extra=deps.TEST_PACKAGES if args.command == "test" else ())
        return build(extra_cmake_args=[f"-DIPCSUITE_SANITIZE={sanitize}"] if sanitize else None)
    bdir = build_dir()
    if not (bdir / "ipcsuite-manifest.tsv").exists():
        raise SetupError(f"--no-build given but {bdir} has no build")
    return bdir
