"""The runner's behaviour: verdicts serial vs parallel, hangs become named failures, preload scope."""
import os

from runner.tests.conftest import preload_lib


def statuses(result):
    return {t["id"]: t["status"] for t in result.doc["tests"]}


def test_verdicts_are_the_same_serial_and_parallel(run_suite):
    serial = run_suite("--filter", "pipe/*,signal/*", "--jobs", "1")
    parallel = run_suite("--filter", "pipe/*,signal/*", "--jobs", "2")
    assert serial.returncode == parallel.returncode == 0, serial.stdout[-2000:] + parallel.stdout[-2000:]
    assert statuses(serial) == statuses(parallel)
    assert len(statuses(serial)) > 10


def test_a_hanging_call_fails_the_test_names_the_call_and_the_run_goes_on(run_suite):
    # PipeEof.* read pipes in the test process and in children: both kinds of hang are covered.
    r = run_suite("--filter", "pipe/PipeEof.*", "--preload", str(preload_lib("break_hang_read")),
                  "--test-timeout", "3")
    assert r.returncode == 1
    timed_out = [t for t in r.doc["tests"] if "timed out after" in t["message"]]
    assert timed_out, r.stdout[-3000:]
    # The message names where the test process was stuck (the interposer sleeps in pause()).
    assert any(" in pause" in t["message"] or "while" in t["message"] for t in timed_out)
    # The run finished although every pipe read in a preloaded process hangs: the runner, which reads
    # the test processes' output through pipes, was not preloaded.
    assert r.doc["environment"]["preload"].endswith("libbreak_hang_read.so")
    # Every selected test still got a verdict.
    listed = [line for line in r.stdout.splitlines() if line.startswith("ipcsuite: run ")]
    assert listed and f"{len(r.doc['tests'])} tests" in listed[0]


def test_results_json_has_environment_and_entries(run_suite):
    r = run_suite("--filter", "pipe/*", "--seed", "1234")
    assert r.returncode == 0, r.stdout[-2000:]
    env = r.doc["environment"]
    assert env["seed"] == "1234"
    assert env["kernel_release"] == os.uname().release
    assert env["target"] == "host"
    for t in r.doc["tests"]:
        assert t["area"] == "pipe" and t["rules"] and t["duration_s"] >= 0
        assert t["status"] == "passed" or (t["status"] == "skipped" and t["message"]), t
    assert (r.results_dir / "latest" / "junit.xml").is_file()
