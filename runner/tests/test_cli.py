"""Bad input to any command: one clear line on stderr, exit 2, no traceback."""
import pytest

from runner.tests.conftest import ROOT, ipcsuite

BAD = [
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["run", "--no-such-option"], "unrecognized arguments"),
    (["run", "--no-build", "--jobs", "0"], "must be at least 1"),
    (["run", "--no-build", "--jobs", "many"], "not a number"),
    (["run", "--no-build", "--test-timeout", "-3"], "must be positive"),
    (["run", "--no-build", "--test-timeout", "nan"], "must be a finite number"),
    (["run", "--no-build", "--test-timeout", "inf"], "must be a finite number"),
    (["run", "--no-build", "--deadline", "nan"], "must be a finite number"),
    (["run", "--no-build", "--deadline=-inf"], "must be a finite number"),
    (["run", "--no-build", "--jobs", "99999"], "at most 256"),
    (["run", "--no-build", "--preload", "/nonexistent/libx.so"], "no such file"),
    (["run", "--no-build", "--filter", "no-such-area/*"], "matches no test"),
    (["test", "--no-build", "--filter", "zzz*"], "matches no test"),
    (["rules", "--tabular"], "unrecognized arguments"),
    (["list", "--no-build", "--page", "nosuch(9)"], "matches no rule"),
    (["run", "--no-build", "--rule", "zzz.*"], "matches no rule"),
    (["rules", "--no-build", "--rule", "zzz.*"], "match no rule"),
]


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    proc = ipcsuite(*args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ipcsuite: error: ")
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_rules_check_passes_and_json_lists_every_rule_with_tests():
    import json
    proc = ipcsuite("rules", "--no-build", "--json", "--check", timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["problems"] == []
    assert len(doc["rules"]) > 0
    for rule in doc["rules"]:
        assert rule["page"] and rule["statement"]
        if rule["status"] == "tested":
            assert rule["tests"], rule["id"]
        else:
            assert rule["status"] == "not-provokable" and rule["reason"] and not rule["tests"]


def test_rules_table_has_a_row_per_rule():
    import json
    doc = json.loads(ipcsuite("rules", "--no-build", "--json", timeout=120).stdout)
    table = ipcsuite("rules", "--no-build", timeout=120).stdout
    for rule in doc["rules"]:
        assert rule["id"] in table


def test_version_names_the_release_and_the_commit():
    proc = ipcsuite("--version", timeout=30)
    assert proc.returncode == 0, proc.stderr
    release = (ROOT / "VERSION").read_text().strip()
    assert proc.stdout.startswith(f"ipcsuite {release}"), proc.stdout
    assert proc.stdout.count("\n") == 1


def test_rule_and_page_select_what_checks_those_rules(run_suite):
    import json
    rules = {r["id"]: r for r in json.loads(ipcsuite("rules", "--no-build", "--json", timeout=120).stdout)["rules"]}
    listed = json.loads(ipcsuite("list", "--no-build", "--json", "--page", "pipe(2)", timeout=120).stdout)
    assert listed and all(any(rules[r]["page"] == "pipe(2)" for r in t["rules"]) for t in listed)
    every = json.loads(ipcsuite("list", "--no-build", "--json", timeout=120).stdout)
    assert {t["id"] for t in every if any(rules[r]["page"] == "pipe(2)" for r in t["rules"])} == {
        t["id"] for t in listed}
    shown = json.loads(ipcsuite("rules", "--no-build", "--json", "--page", "pipe", timeout=120).stdout)["rules"]
    assert shown and {r["page"] for r in shown} == {"pipe(2)", "pipe(7)"}  # a page name without section
    run = run_suite("--rule", "pipe.pipe2-*")
    assert run.returncode == 0, run.stdout[-2000:]
    assert run.doc["tests"] and all(any(r.startswith("pipe.pipe2-") for r in t["rules"]) for t in run.doc["tests"])


def test_targets_json_lists_every_target_with_its_availability():
    import json
    proc = ipcsuite("targets", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = [r["target"] for r in rows]
    assert "host" in names and "userns" in names
    host = rows[names.index("host")]
    assert host["available"] is True and host["kind"] == "host"
    assert all(r["available"] or r["reason"] for r in rows), "an unavailable target says why"
