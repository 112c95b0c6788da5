"""The entry script on a machine without pytest: the runner's command line imports pytest, so ./ipcsuite
installs python3-pytest before that starts (as root, with runner/deps.py), or says in one line how to (not
as root): never a Python traceback. A Python that does not see Debian's modules stands in for a machine
without them (python3 -S: no site directories)."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runner.tests.conftest import ROOT


def _no_site_python(tmp_path):
    py = tmp_path / "python-no-site"
    py.write_text("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n")
    py.chmod(0o755)
    assert subprocess.run([str(py), "-c", "import pytest"], stderr=subprocess.DEVNULL).returncode != 0
    return py


def _start(tmp_path, extra_path=None, as_nobody=False):
    env = dict(os.environ, IPCSUITE_PYTHON=str(_no_site_python(tmp_path)))
    if extra_path:
        env["PATH"] = f"{extra_path}:{env['PATH']}"
    cmd = [str(ROOT / "ipcsuite"), "--version"]
    if as_nobody:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60, check=False)


def test_without_pytest_not_root_says_how_to_install_in_one_line():
    where = tempfile.mkdtemp(prefix="ipcsuite-startup-")  # pytest's tmp_path is not open to nobody
    try:
        os.chmod(where, 0o755)
        proc = _start(Path(where), as_nobody=True)
    finally:
        shutil.rmtree(where)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == ["ipcsuite: error: missing Debian packages python3-pytest; as root run: "
                                        "apt-get update && apt-get install -y python3-pytest"]


def test_without_pytest_as_root_installs_it_first(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs euid 0: the entry script installs only as root")
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt.log"
    # apt-get that records its arguments and fails as an unreachable mirror would.
    (fake / "apt-get").write_text(f"#!/bin/sh\necho \"$*\" >>{log}\necho 'E: mirror unreachable'\nexit 100\n")
    (fake / "apt-get").chmod(0o755)
    proc = _start(tmp_path, extra_path=fake)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "ipcsuite: installing Debian packages: python3-pytest",
        "ipcsuite: error: 'apt-get -o DPkg::Lock::Timeout=600 update -qq' failed (exit 100): E: mirror unreachable"]
    assert log.read_text().splitlines() == ["-o DPkg::Lock::Timeout=600 update -qq"]
