"""Capability-less root: verdicts stay honest when root lacks the capabilities a test merely uses.

The whole runner runs under setpriv(1) with CAP_SETUID, CAP_SETGID, CAP_IPC_OWNER, CAP_CHOWN, CAP_SYS_ADMIN
and CAP_DAC_OVERRIDE removed from the bounding set: every process it starts (pytest, the fork servers, the
test processes) is root whose permitted and effective sets lack them (root's sets after execve are the
bounding set), as in a container runtime's default configuration. The permission tests of the SysV areas
(sem, shm, msg) must then give no `failed` and no `error`: a test that needs one of those capabilities
skips, and its reason names the capability (CAP_...), never just "root".

Nothing leaks either. Without CAP_SYS_ADMIN a test process cannot enter a private IPC namespace, so its SysV
objects live in the namespace it was started in, and root may not IPC_RMID another user's object (that needs
CAP_SYS_ADMIN too): the objects that Create*AsNobody makes as uid 65534 must be removed as their creator.
Each run here starts in a fresh IPC namespace of its own (unshare --ipc, before the capabilities are
dropped), where `ipcs` is taken before and after the run: it must be unchanged, and no parallel test of the
machine can disturb it.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from runner.tests.conftest import BUILD, ROOT, RunResult

DROPPED = ("setuid", "setgid", "ipc_owner", "chown", "sys_admin", "dac_override")
# Root that may still switch users and read any object (so the tests that use Create*AsNobody run) but can
# neither enter a private IPC namespace nor IPC_RMID another user's object (both need CAP_SYS_ADMIN).
DROPPED_SYS_ADMIN = ("sys_admin",)
# The SysV areas' tests of permissions, ownership and privilege (names as the suites spell them).
FILTER = ",".join(f"{area}/*{word}*" for area in ("sem", "shm", "msg")
                  for word in ("Perm", "Eacces", "Eperm", "Owner", "Nobody", "Cap", "Set", "Stat", "Rmid"))
# The tests that make objects as uid 65534 (Create*AsNobody), besides FILTER's.
AS_NOBODY = ",".join(("shm/ShmGet.*AnotherUser*", "shm/ShmCtl.*", "msg/MsgCtlSet.*", "sem/SemCtlSet.*",
                      "sysv/*"))
NEEDS_PRIVILEGE = ("root", "privilege", "other user", "CAP_")
# The run, in a fresh IPC namespace: $0 is the directory for the two `ipcs` snapshots, "$@" the command.
IPCS_AROUND = 'ipcs -a > "$0/ipcs.before"; "$@"; rc=$?; ipcs -a > "$0/ipcs.after"; exit $rc'


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
    for tool in ("setpriv", "unshare", "ipcs"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} (Debian package util-linux)")
    if not _binaries_built():
        pytest.skip(f"the sem, shm and msg test binaries are not built in {BUILD}")

    def run(*args, dropped=DROPPED):
        rdir = tmp_path / "results"
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        cmd = ["unshare", "--ipc", "--", "sh", "-c", IPCS_AROUND, str(tmp_path),
               "setpriv", "--bounding-set", ",".join(f"-{c}" for c in dropped), "--inh-caps", "-all", "--",
               str(ROOT / "ipcsuite"), "run", "--no-build", "--no-expectations", "--results-dir", str(rdir),
               *args]
        proc = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=900, env=env, check=False)
        r = RunResult(proc, rdir)
        r.ipcs_before = (tmp_path / "ipcs.before").read_text()
        r.ipcs_after = (tmp_path / "ipcs.after").read_text()
        return r
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
    assert r.ipcs_after == r.ipcs_before, "the run left SysV objects behind:\n" + r.ipcs_after


def test_objects_made_as_nobody_are_removed_without_cap_sys_admin(capless_run):
    """Root that may switch users but lacks CAP_SYS_ADMIN (no private IPC namespace, no IPC_RMID of another
    user's object): the tests that make objects as uid 65534 run, and leave nothing behind."""
    r = capless_run("--filter", f"{FILTER},{AS_NOBODY}", dropped=DROPPED_SYS_ADMIN)
    assert r.doc is not None, r.stderr[-2000:]
    failed = [(t["id"], t.get("message", "")) for t in r.by_status("failed") + r.by_status("error")]
    assert not failed, "root without CAP_SYS_ADMIN must skip, not fail:\n" + "\n".join(
        f"{i}: {m}" for i, m in failed)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.ipcs_after == r.ipcs_before, "the run left SysV objects behind:\n" + r.ipcs_after
    # It made objects as uid 65534 and its destructor had to remove one (nothing else does in this test).
    ran = {t["id"] for t in r.by_status("passed")}
    assert "shm/ShmGet.SegmentCreatedByAnotherUserRecordsItsCredentials" in ran, sorted(ran)
