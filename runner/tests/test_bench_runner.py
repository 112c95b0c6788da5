"""./ipcsuite bench runner (runner/bench_runner.py): what running a test costs, fork server against exec.

- One small round without the whole run: the short-test figures of both modes, and the pipeline of 300
  distinct short tests (two copies of the probe binary: 250 + 50) through pytest, 2 at once, each of the
  three ways, every one of them passed (the bench refuses a pipeline where one did not), with the goal's
  verdict in the text; the machine's floor for a test process in the same rounds, and the pipeline's cost
  per test as a multiple of it; the rounds alternate which way goes first.
- Bad input is one line and exit 2.
"""
import json

import pytest

from runner import bench_runner
from runner.tests.conftest import ipcsuite


def test_short_tests_and_a_pipeline_over_two_binaries_every_way():
    proc = ipcsuite("bench", "runner", "--no-whole-run", "--rounds", "1", "--short-tests", "5",
                    "--pipeline-tests", "300", "--json", timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    doc = json.loads(proc.stdout)
    assert "whole_run" not in doc
    p = doc["pipeline"]
    assert p["n"] == 300 and p["jobs"] == 2
    for way in bench_runner.WAYS:
        assert len(p[way]["wall_s"]["runs"]) == 1 and p[way]["wall_s"]["runs"][0] > 0
        assert p[way]["per_test_ms"]["median"] == pytest.approx(p[way]["wall_s"]["runs"][0] * 1000 / 300)
    assert set(p["ratios"]) == {"fork/exec", "fork/fork-xdist"}
    for mode in bench_runner.MODES:
        assert len(doc["short_tests"][mode]["per_test_ms"]["runs"]) == 1
    f = doc["floor"]
    assert f["n"] == 5 and len(f["plain_ms"]["runs"]) == 1 and f["plain_ms"]["median"] > 0
    assert f["ipcns_ms"] is None or f["ipcns_ms"]["median"] > 0
    assert f["fork_per_test_multiple"] == pytest.approx(
        p["fork"]["per_test_ms"]["median"] / f[f["fork_per_test_over"]]["median"])
    text = bench_runner.render(doc)
    assert "pipeline" in text and "fork-xdist" in text and "goal <= 3 ms" in text
    assert "floor per test process" in text and "x the floor" in text


def test_rounds_alternate_which_way_goes_first():
    order = []
    bench_runner._rounds(3, ("a", "b", "c"), lambda w: order.append(w))
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]


@pytest.mark.parametrize("argv, words", [
    (["--pipeline-tests", "0"], "must be from 1 to"),
    (["--pipeline-tests", "100000"], "must be from 1 to"),
    (["--pipeline-tests", "many"], "not a number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words):
    proc = ipcsuite("bench", "runner", *argv, timeout=60)
    assert proc.returncode == 2
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
