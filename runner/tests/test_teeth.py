"""Each test has teeth: an interposer that breaks one documented rule makes the run fail and name it.

The interposers live in runner/tests/preload/break_*.c (built into build/preload/). Each one declares,
in a line of its own source,

    // ipcsuite-teeth: filter=<areas or tests to run> rules=<rule>,<rule>...

and for each one the run, restricted to that filter, must exit 1, list a failed test that checks every
named rule, and print that rule in its summary; the same tests must pass without the interposer. An
interposer without the line is a tool for other self-tests (e.g. break_hang_read), not a tooth.
"""
import re
from pathlib import Path

import pytest

from runner.tests.conftest import preload_lib

PRELOAD_SRC = Path(__file__).resolve().parent / "preload"
DECL = re.compile(r"^// ipcsuite-teeth: filter=(\S+) rules=(\S+)\s*$", re.M)


def declared_teeth() -> list[tuple[str, str, list[str]]]:
    """(interposer, filter, rules) for every break_*.c that declares the rules it breaks."""
    teeth = []
    for src in sorted(PRELOAD_SRC.glob("break_*.c")):
        decls = DECL.findall(src.read_text())
        assert len(decls) <= 1, f"{src.name}: more than one ipcsuite-teeth line"
        for filt, rules in decls:
            teeth.append((src.stem, filt, rules.split(",")))
    return teeth


TEETH = declared_teeth()


def test_teeth_are_declared():
    assert len(TEETH) >= 12, [t[0] for t in TEETH]


@pytest.mark.parametrize("lib,areas,rules", TEETH, ids=[lib for lib, _, _ in TEETH])
def test_broken_rule_fails_the_run_and_is_named(run_suite, lib, areas, rules):
    broken = run_suite("--filter", areas, "--preload", str(preload_lib(lib)), "--test-timeout", "30")
    assert broken.doc is not None, broken.stderr
    assert broken.returncode == 1, broken.stdout[-3000:]
    caught = []
    for rule in rules:
        hits = [t for t in broken.doc["tests"] if t["status"] == "failed" and rule in t["rules"]]
        assert hits, f"no failed test names {rule}:\n" + broken.stdout[-3000:]
        assert rule in broken.stdout, f"the summary does not name the broken rule {rule}"
        caught += hits
    # Control: the tests that caught it pass without the interposer.
    control = run_suite("--filter", ",".join(t["id"] for t in caught))
    assert control.returncode == 0, control.stdout[-3000:]
    assert {t["id"] for t in control.doc["tests"]} == {t["id"] for t in caught}
    assert len(control.doc["tests"]) == len({t["id"] for t in caught})
    assert all(t["status"] == "passed" for t in control.doc["tests"])
