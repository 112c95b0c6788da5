"""./ipcsuite bench targets (runner/bench_targets.py): the suite's wall time per target, side by side with the host.

- A tiny run (the PipeEnds tests) of the host and a wrapper that changes nothing (wrap:env), one round: both
  timed, the ratio to the host per round and its median, the test counts and exit codes; a target that is not
  available here (a wrapper that does not exist) is reported as skipped with the reason, not an error.
- The rendering of a document with skipped targets and several rounds.
- Bad input is one line and exit 2.
"""
import json

import pytest

from runner import bench_targets
from runner.tests.conftest import ipcsuite

FILTER = "pipe/PipeEnds.*"
MISSING = "wrap:ipcsuite-no-such-wrapper --flag"


def test_host_and_a_harmless_wrapper_side_by_side_and_a_missing_one_skipped():
    proc = ipcsuite("bench", "targets", "--filter", FILTER, "--rounds", "1", "--target", "wrap:env",
                    "--target", MISSING, "--json", timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    doc = json.loads(proc.stdout)
    rows = {r["target"]: r for r in doc["targets"]}
    assert list(rows) == ["host", "wrap:env", MISSING]
    for name in ("host", "wrap:env"):
        r = rows[name]
        assert "skipped" not in r, r
        assert len(r["wall_s"]) == 1 and r["wall_s"][0] > 0
        assert r["exits"] == [0] and r["tests"] == rows["host"]["tests"], r
        assert r["tests"] == [r["counts"]["passed"]] and r["counts"]["passed"] >= 3, r
        assert r["median_ratio_to_host"] == pytest.approx(r["wall_s"][0] / rows["host"]["wall_s"][0])
    assert rows["host"]["median_ratio_to_host"] == pytest.approx(1.0)
    assert "not found" in rows[MISSING]["skipped"] and not rows[MISSING]["runs"], rows[MISSING]


def test_render_names_medians_ratios_counts_exits_and_skips():
    counts = dict.fromkeys(bench_targets.COUNTS, 0) | {"passed": 5, "xfailed": 1}
    doc = {"rounds": 2, "filter": ["pipe/*"], "jobs": None, "cpus": 2, "load_before": 1.0, "load_after": 2.0,
           "targets": [
               {"target": "host", "wall_s": [10.0, 12.0], "median_wall_s": 11.0, "ratio_to_host": [1.0, 1.0],
                "median_ratio_to_host": 1.0, "tests": [6], "counts": counts, "counts_vary": False,
                "exits": [0, 0]},
               {"target": "wrap:slow", "wall_s": [30.0, 24.0], "median_wall_s": 27.0, "ratio_to_host": [3.0, 2.0],
                "median_ratio_to_host": 2.5, "tests": [6], "counts": counts, "counts_vary": True,
                "exits": [0, 1]},
               {"target": "oci:crun", "skipped": "crun cannot start a container here"}]}
    text = bench_targets.render(doc)
    assert "pipe/*" in text and "2 interleaved rounds" in text
    slow = next(line for line in text.splitlines() if "wrap:slow" in line)
    for needle in ("27.0", "2.50", "30.0 24.0", "3.00 2.00", "passed 5 xfailed 1 (varied)", "0 1"):
        assert needle in slow, (needle, slow)
    crun = next(line for line in text.splitlines() if "oci:crun" in line)
    assert crun.split() == ["oci:crun", "skipped:", "crun", "cannot", "start", "a", "container", "here"], crun


@pytest.mark.parametrize("args,needle", [
    (["--rounds", "0"], "--rounds"),
    (["--rounds", "x"], "--rounds"),
    (["--target", "nosuchkind"], "unknown target"),
    (["--target", "wrap:'unbalanced"], "wrap:'unbalanced"),
    (["-j", "0"], "--jobs"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    proc = ipcsuite("bench", "targets", *args, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, proc.stderr
