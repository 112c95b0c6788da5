"""Configure and build into build/ (incremental)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runner.errors import SetupError

ROOT = Path(__file__).resolve().parent.parent


def build_dir() -> Path:
    return Path(os.environ.get("IPCSUITE_BUILD_DIR", ROOT / "build"))


def build(log=sys.stderr, extra_cmake_args: list[str] | None = None) -> Path:
    bdir = build_dir()
    bdir.mkdir(parents=True, exist_ok=True)
    logfile = bdir / "ipcsuite-build.log"
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
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  check=False)
            if proc.returncode != 0:
                out.flush()
                tail = Path(logfile).read_text(errors="replace").strip().splitlines()[-15:]
                print("\n".join(tail), file=log)
                raise SetupError(f"build failed ({' '.join(cmd[:2])} exit {proc.returncode}); see {logfile}")
    return bdir
