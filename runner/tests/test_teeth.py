"""Each test has teeth: an interposer that breaks one documented rule makes the run fail and name it.

The interposers live in runner/tests/preload/break_*.c (built into build/preload/). For each one the run,
restricted to the areas it touches, must exit 1, list a failed test that checks the named rule, and print
that rule in its summary; the same tests must pass without the interposer.
"""
import pytest

from runner.tests.conftest import preload_lib

TEETH = [
    # (interposer, areas to run, rule that must be reported broken)
    ("break_sigpipe", "pipe/*", "pipe.epipe-no-reader"),
]


@pytest.mark.parametrize("lib,areas,rule", TEETH, ids=[f"{lib}:{rule}" for lib, _, rule in TEETH])
def test_broken_rule_fails_the_run_and_is_named(run_suite, lib, areas, rule):
    broken = run_suite("--filter", areas, "--preload", str(preload_lib(lib)), "--test-timeout", "30")
    assert broken.doc is not None, broken.stderr
    assert broken.returncode == 1, broken.stdout[-3000:]
    caught = [t for t in broken.doc["tests"] if t["status"] == "failed" and rule in t["rules"]]
    assert caught, f"no failed test names {rule}:\n" + broken.stdout[-3000:]
    assert rule in broken.stdout, "the summary does not name the broken rule"
    # Control: the tests that caught it pass without the interposer.
    control = run_suite("--filter", ",".join(t["id"] for t in caught))
    assert control.returncode == 0, control.stdout[-3000:]
    assert {t["id"] for t in control.doc["tests"]} == {t["id"] for t in caught}
    assert all(t["status"] == "passed" for t in control.doc["tests"])
