"""Honest verdicts under hostile conditions: the run finishes and a machine problem is never a
conformance `failed` (it is `error` or `skipped` with a reason), and never a `passed`."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runner.tests.conftest import ROOT


def sysv_objects() -> set:
    out = set()
    for kind in ("sem", "shm", "msg"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        out |= {(kind, line.split()[1]) for line in lines if line.strip()}
    return out


@pytest.fixture
def open_dir():
    d = Path(tempfile.mkdtemp(prefix="ipcsuite-hostile-"))
    d.chmod(0o777)  # the unprivileged run writes its results here
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run(args, prefix=(), env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.pop("LD_PRELOAD", None)
    full_env.update(env or {})
    proc = subprocess.run([*prefix, str(ROOT / "ipcsuite"), "run", "--no-build", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=full_env, timeout=timeout, check=False)
    return proc


def load(results_dir: Path) -> dict:
    import json
    return json.loads((results_dir / "latest" / "results.json").read_text())


def assert_honest(doc, allow_error=False):
    bad = [t for t in doc["tests"] if t["status"] == "failed" or (t["status"] == "error" and not allow_error)]
    assert not bad, "\n".join(f"{t['id']}: {t['status']}: {t['message']}" for t in bad[:10])
    for t in doc["tests"]:
        if t["status"] in ("skipped", "error"):
            assert t["message"].strip(), f"{t['id']} is {t['status']} without a reason"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_unprivileged_user_gets_skips_with_reasons_never_failures(open_dir):
    proc = run(["--results-dir", str(open_dir / "results")],
               prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
               env={"HOME": str(open_dir)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = load(open_dir / "results")
    assert doc["environment"]["uid"] == 65534
    assert_honest(doc)
    assert doc["counts"]["skipped"] > 0 and doc["counts"]["passed"] > 0


def test_too_few_file_descriptors_is_an_error_not_a_failure(open_dir):
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*,fifo/*"],
               prefix=("prlimit", "--nofile=40"))
    assert proc.returncode in (0, 1), proc.stderr
    doc = load(open_dir / "results")
    assert_honest(doc, allow_error=True)
    errors = [t for t in doc["tests"] if t["status"] == "error"]
    assert all("[infrastructure]" in t["message"] for t in errors), errors
    assert (proc.returncode == 1) == bool(errors)


def test_without_an_ipc_namespace_sysv_tests_skip_with_reason_and_leak_nothing(open_dir):
    before = sysv_objects()
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "sem/*,shm/*,msg/*"],
               env={"IPCSUITE_NO_IPC_NAMESPACE": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = load(open_dir / "results")
    assert_honest(doc)
    reasons = {t["message"] for t in doc["tests"] if t["status"] == "skipped"}
    assert any("IPCSUITE_NO_IPC_NAMESPACE" in r for r in reasons), reasons
    assert sysv_objects() == before


def test_unusable_temporary_directory_is_a_setup_error(open_dir):
    not_a_dir = open_dir / "file"
    not_a_dir.write_text("")
    proc = run(["--results-dir", str(open_dir / "results"), "--filter", "pipe/*"],
               env={"IPCSUITE_TMP_ROOT": str(not_a_dir)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "temporary directory" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
