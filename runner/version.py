"""The project's version: VERSION at the top of the checkout (CMake's project VERSION reads it too), plus
the git commit when run from a git checkout."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def version() -> str:
    try:
        base = (ROOT / "VERSION").read_text().strip() or "unknown"
    except OSError:
        base = "unknown"
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return base
    commit = proc.stdout.strip() if proc.returncode == 0 else ""
    return f"{base} (git {commit})" if commit else base
