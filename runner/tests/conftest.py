"""Shared helpers for the runner's own tests."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("IPCSUITE_BUILD_DIR", ROOT / "build"))


def _hypothesis_home_outside_the_checkout() -> None:
    """python3-hypothesis keeps a cache of Unicode data in ./.hypothesis (the checkout) even without an
    example database: it goes to a temporary directory, removed when the tests end."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:
        return
    import atexit
    import shutil
    import tempfile
    home = tempfile.mkdtemp(prefix="ipcsuite-hypothesis-")
    atexit.register(shutil.rmtree, home, True)
    set_hypothesis_home_dir(home)


_hypothesis_home_outside_the_checkout()


class RunResult:
    def __init__(self, proc, results_dir: Path):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results_dir = results_dir
        path = results_dir / "latest" / "results.json"
        # Read now: a later run in the same directory moves "latest".
        self.doc = json.loads(path.read_text()) if path.exists() else None

    def by_status(self, status: str) -> list[dict]:
        return [t for t in self.doc["tests"] if t["status"] == status]


def ipcsuite(*args, timeout=300, env=None) -> subprocess.CompletedProcess:
    """Runs ./ipcsuite as a user would (a subprocess), without stdin."""
    full_env = dict(os.environ)
    full_env.pop("LD_PRELOAD", None)
    if env:
        full_env.update(env)
    return subprocess.run([str(ROOT / "ipcsuite"), *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=full_env, check=False)


@pytest.fixture
def run_suite(tmp_path):
    """run_suite(*args) -> RunResult: ./ipcsuite run --no-build with results in a temporary directory."""
    counter = [0]

    def _run(*args, timeout=300, env=None):
        counter[0] += 1
        rdir = tmp_path / f"results{counter[0]}"
        proc = ipcsuite("run", "--no-build", "--results-dir", str(rdir), *args, timeout=timeout, env=env)
        return RunResult(proc, rdir)
    return _run


def compile_lib(tmp_path: Path, name: str, source: str) -> Path:
    """A shared library (tmp_path/lib<name>.so) built from C `source`, for a test's own --preload."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src, lib = tmp_path / f"{name}.c", tmp_path / f"lib{name}.so"
    src.write_text(source)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, timeout=120)
    return lib


def constructor_lib(tmp_path: Path, name: str, arg_prefix: str, action: str) -> Path:
    """compile_lib of a library whose constructor runs the C statement `action` (abort(); pause(); ...) in a
    process with an argument that starts with `arg_prefix`, and does nothing in any other."""
    return compile_lib(tmp_path, name, r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void c(void) {
  char buf[4096] = {0};
  FILE *f = fopen("/proc/self/cmdline", "r");
  if (!f) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
    if (strncmp(buf + i, "%s", %d) == 0) { %s }
}
""" % (arg_prefix, len(arg_prefix), action))


def preload_lib(name: str) -> Path:
    lib = BUILD / "preload" / f"lib{name}.so"
    assert lib.is_file(), f"{lib} was not built"
    return lib
