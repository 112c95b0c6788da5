"""A full disk while the reports are written: one line on stderr, exit 2, no half-written report (junit.xml was
left as invalid XML), no stray temporary file, and the files of an earlier write as they were; results/latest
still names a run with a results.json.

The disk is a small tmpfs mounted in a mount namespace of the command's own (`unshare -m`: it vanishes with
the command, nothing to unmount or leak); it needs root (CAP_SYS_ADMIN), else the tests skip.
"""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.tests.conftest import BUILD, ROOT
from runner.tests.test_report_inputs import VALID

# Mounts a tmpfs of $1 KiB on $2, fills it up to $3 KiB free if $3 is not "-", runs the rest, then copies
# the tmpfs's files to $4 (outside the namespace) and exits with the command's status.
SCRIPT = r"""
size=$1 dir=$2 free=$3 out=$4; shift 4
mount -t tmpfs -o size=${size}k ipcsuite-test "$dir" || exit 99
if [ -n "$SEED_FROM" ]; then cp -a "$SEED_FROM"/. "$dir"/ || exit 98; fi
if [ "$free" != - ]; then
  dd if=/dev/zero of="$dir/filler" bs=1k count=$size 2>/dev/null
  truncate -s -${free}k "$dir/filler" 2>/dev/null || rm -f "$dir/filler"
fi
"$@"
rc=$?
rm -f "$dir/filler"
cp -a "$dir"/. "$out"/
exit $rc
"""


def can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           "mount -t tmpfs -o size=4k t /mnt"], capture_output=True, timeout=30).returncode == 0


pytestmark = pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root (CAP_SYS_ADMIN) and unshare")


def on_small_disk(tmp_path: Path, size_k: int, free_k, cmd: list[str], seed: Path | None = None, env=None):
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("LD_PRELOAD", None)
    if seed is not None:
        full_env["SEED_FROM"] = str(seed)
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", SCRIPT, "sh", str(size_k),
                           str(mnt), "-" if free_k is None else str(free_k), str(out), *cmd],
                          cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode not in (98, 99), proc.stderr
    return proc, mnt, out


def assert_one_line_no_space(proc) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    # A note that the run removed another (killed) run's leftovers in /tmp is not this run's error line: the
    # self-tests that SIGKILL runs on purpose run beside this one.
    lines = [ln for ln in proc.stderr.strip().splitlines()
             if not ln.startswith("ipcsuite: removed leftovers of an earlier run: ")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("ipcsuite: error: cannot write ") and "No space left on device" in lines[0], lines


def stray(out: Path) -> list[str]:
    return [str(p.relative_to(out)) for p in out.rglob("*") if ".tmp" in p.name]


def test_report_on_a_full_disk_is_one_line_and_leaves_the_run_as_it_was(tmp_path):
    seed = tmp_path / "seed" / "run"
    seed.mkdir(parents=True)
    (seed / "results.json").write_text(json.dumps(VALID, indent=2) + "\n")
    before = hashlib.sha256((seed / "results.json").read_bytes()).hexdigest()
    # The run directory is on a 2 MiB disk with 8 KiB free: not enough for report.html.
    proc, mnt, out = on_small_disk(tmp_path, 2048, 8, [str(ROOT / "ipcsuite"), "report", str(tmp_path / "mnt" / "run")],
                                   seed=seed.parent)
    assert_one_line_no_space(proc)
    assert sorted(p.name for p in (out / "run").iterdir()) == ["results.json"], "no report, no temporary file"
    assert hashlib.sha256((out / "run" / "results.json").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("size_k", [8, 64, 256, 480, 520, 4096])
def test_run_on_a_small_disk_is_whole_reports_or_one_line(tmp_path, size_k):
    """Whatever the size of the results directory's disk: exit 0 with every report whole, or exit 2 with one
    line; never a temporary file, never a latest without results.json."""
    proc, mnt, out = on_small_disk(
        tmp_path, size_k, None,
        [str(ROOT / "ipcsuite"), "run", "--no-build", "--filter", "pipe/PipeEnds.*", "--results-dir", str(tmp_path / "mnt")],
        env={"IPCSUITE_BUILD_DIR": str(BUILD)})
    assert stray(out) == []
    if proc.returncode == 0:
        latest = out / "latest"
        for name in ("results.json", "junit.xml", "results.ktap", "results.kirk.json", "report.html"):
            assert (latest / name).stat().st_size > 0, name
        json.loads((latest / "results.json").read_text())
        import xml.etree.ElementTree as ET
        ET.parse(latest / "junit.xml")
    else:
        assert_one_line_no_space(proc)
        latest = out / "latest"
        assert not latest.is_symlink(), "latest names a run without results"
