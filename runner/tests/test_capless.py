"""Capability-less root: verdicts stay honest when root lacks the capabilities a test merely uses.

The whole runner runs under setpriv(1) with CAP_SETUID, CAP_SETGID, CAP_IPC_OWNER, CAP_CHOWN, CAP_SYS_ADMIN
and CAP_DAC_OVERRIDE removed from the bounding set: every process it starts (pytest, the fork servers, the
test processes) is root whose permitted and effective sets lack them (root's sets after execve are the
bounding set), as in a container runtime's default configuration. The permission tests of the SysV areas
(sem, shm, msg) must then give no `failed` and no `error`: a test that needs one of those capabilities
skips, and its reason names the capability (CAP_...), never just "root".
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from runner.tests.conftest import BUILD, ROOT, RunResult

DROPPED = ("setuid", "setgid", "ipc_owner", "chown", "sys_admin", "dac_override")
# The SysV areas' tests of permissions, ownership and privilege (names as the suites spell them).
FILTER = ",".join(f"{area}/*{word}*" for area in ("sem", "shm", "msg")
                  for word in ("Perm", "Eacces", "Eperm", "Owner", "Nobody", "Cap", "Set", "Stat", "Rmid"))
NEEDS_PRIVILEGE = ("root", "privilege", "other user", "CAP_")


def _binaries_built() -> bool:
    manifest = BUILD / "ipcsuite-manifest.tsv"
    if not manifest.exists():
        return False
    areas = {line.split("\t")[1] for line in manifest.read_text().splitlines() if line.strip()}
    return {"sem", "shm", "msg"} <= areas


@pytest.fixture
def capless_run(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: the point is root without some capabilities")
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv (Debian package util-linux)")
    if not _binaries_built():
        pytest.skip(f"the sem, shm and msg test binaries are not built in {BUILD}")

    def run(*args):
        rdir = tmp_path / "results"
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        cmd = ["setpriv", "--bounding-set", ",".join(f"-{c}" for c in DROPPED), "--inh-caps", "-all", "--",
               str(ROOT / "ipcsuite"), "run", "--no-build", "--no-expectations", "--results-dir", str(rdir),
               *args]
        proc = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=900, env=env, check=False)
        return RunResult(proc, rdir)
    return run


def test_setpriv_really_drops_the_capabilities():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")
    out = subprocess.run(["setpriv", "--bounding-set", ",".join(f"-{c}" for c in DROPPED), "--", "grep",
                          "^CapEff:", "/proc/self/status"], stdout=subprocess.PIPE, text=True, check=True).stdout
    eff = int(out.split()[1], 16)
    for bit in (7, 6, 15, 0, 21, 1):  # setuid, setgid, ipc_owner, chown, sys_admin, dac_override
        assert not eff >> bit & 1, out


def test_capability_less_root_skips_permission_tests_instead_of_failing(capless_run):
    r = capless_run("--filter", FILTER)
    assert r.doc is not None, r.stderr[-2000:]
    failed = [(t["id"], t.get("message", "")) for t in r.by_status("failed") + r.by_status("error")]
    assert not failed, "capability-less root must skip, not fail:\n" + "\n".join(f"{i}: {m}" for i, m in failed)
    assert r.returncode == 0, r.stderr[-2000:]
    skipped = r.by_status("skipped")
    assert r.by_status("passed"), "nothing ran"
    assert skipped, "no test needed a dropped capability: the filter selects no permission test"
    # Every skip for a missing privilege names the capability.
    vague = [(t["id"], t.get("message", "")) for t in skipped
             if any(w in t.get("message", "") for w in NEEDS_PRIVILEGE) and "CAP_" not in t.get("message", "")]
    assert not vague, "skips that do not name the capability:\n" + "\n".join(f"{i}: {m}" for i, m in vague)
    named = {cap for t in skipped for cap in ("CAP_SETUID", "CAP_IPC_OWNER", "CAP_SYS_ADMIN")
             if cap in t.get("message", "")}
    assert "CAP_SETUID" in named, sorted({t.get("message", "") for t in skipped})
