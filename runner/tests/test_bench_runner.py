"""./ipcsuite bench runner (runner/bench_runner.py): what running a test costs, fork server against exec.

- One small round without the whole run: the short-test figures of both modes, and the pipeline of 300
  distinct short tests (two copies of the probe binary: 250 + 50) through pytest and 2 workers, every one
  of them passed (the bench refuses a pipeline where one did not), with the goal's verdict in the text.
- Bad input is one line and exit 2.
"""
import json

import pytest

from runner import bench_runner
from runner.tests.conftest import ipcsuite


def test_short_tests_and_a_pipeline_over_two_binaries_in_both_modes():
    proc = ipcsuite("bench", "runner", "--no-whole-run", "--rounds", "1", "--short-tests", "5",
                    "--pipeline-tests", "300", "--json", timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    doc = json.loads(proc.stdout)
    assert "whole_run" not in doc
    p = doc["pipeline"]
    assert p["n"] == 300 and p["jobs"] == 2
    for mode in bench_runner.MODES:
        assert len(p[mode]["wall_s"]) == 1 and p[mode]["wall_s"][0] > 0
        assert p[mode]["median_per_test_ms"] == pytest.approx(p[mode]["wall_s"][0] * 1000 / 300)
        assert len(doc["short_tests"][mode]["per_test_ms"]) == 1
    assert "pipeline" in bench_runner.render(doc)


@pytest.mark.parametrize("argv, words", [
    (["--pipeline-tests", "0"], "must be from 1 to"),
    (["--pipeline-tests", "100000"], "must be from 1 to"),
    (["--pipeline-tests", "many"], "not a number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words):
    proc = ipcsuite("bench", "runner", *argv, timeout=60)
    assert proc.returncode == 2
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
