"""Every output is read back by a parser or validator the project did not write.

results.ktap by python3-tap (tappy), junit.xml by python3-junitparser and lxml, results.json by
python3-jsonschema against reports/results.schema.json, results.kirk.json against the fields LTP's kirk
writes (libkirk/export.py: results[].test_fqn/status/test{...}, stats, environment).
"""
import json
from pathlib import Path

import jsonschema
import junitparser
import pytest
from lxml import etree
from tap.parser import Parser

from reports import formats
from reports import results as results_mod

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "reports" / "results.schema.json").read_text())

STATUSES = ["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


def make_doc(targets=("host",)) -> dict:
    tests = []
    for target in targets:
        for i, status in enumerate(STATUSES):
            tests.append({"id": f"pipe/PipeX.Case{i}", "nodeid": f"plan.json::pipe/PipeX.Case{i}", "area": "pipe",
                          "status": status, "duration_s": 0.01 * (i + 1), "rules": ["pipe.r1", "pipe.r2"],
                          "message": "" if status == "passed" else f"why # {status}\nWhich is: 7",
                          "location": "suite/pipe/x_test.cc:1", "target": target})
    doc = {"schema_version": 1,
           "environment": {"kernel_release": "6.18.0", "kernel_version": "#1", "libc": "glibc",
                           "libc_version": "2.36", "architecture": "x86_64", "target": ",".join(targets),
                           "seed": "42", "preload": None, "uid": 0, "cpus": 2, "run_id": "r"},
           "started": "2026-12-06T10:00:00Z", "duration_s": 1.5, "tests": tests}
    if len(targets) > 1:
        doc["targets"] = {t: dict(doc["environment"], target=t) for t in targets}
    return results_mod.recount(doc)


def parse_ktap(lines: list[str]) -> tuple[list, list]:
    """(plans, results) of one KTAP level, read by tappy; every line must be something tappy knows."""
    plans, results = [], []
    for item in Parser().parse_text("\n".join(lines) + "\n"):
        if item.category == "plan":
            plans.append(item)
        elif item.category == "test":
            results.append(item)
    # Only the KTAP version line is unknown to a TAP 13 parser; anything else would be a malformed line.
    unknown = [ln for ln in lines if ln and not ln.startswith(("#", "ok ", "not ok ", "1..", "KTAP version"))]
    assert not unknown, unknown
    return plans, results


def test_ktap_is_read_by_tappy_with_the_right_verdicts():
    doc = make_doc()
    text = formats.render_ktap(doc)
    lines = text.splitlines()
    assert lines[0] == "KTAP version 1"
    plans, results = parse_ktap(lines)
    assert [p.expected_tests for p in plans] == [len(STATUSES)]
    assert [r.number for r in results] == list(range(1, len(STATUSES) + 1))
    by_status = dict(zip(STATUSES, results))
    assert by_status["passed"].ok and not by_status["passed"].skip
    assert not by_status["failed"].ok and not by_status["error"].ok
    assert by_status["skipped"].ok and by_status["skipped"].skip
    assert by_status["skipped"].directive.reason.startswith("why")  # '#' of the message kept out of the name
    assert by_status["xfailed"].todo and not by_status["xfailed"].ok
    assert by_status["xpassed"].todo and by_status["xpassed"].ok
    assert all(r.description.startswith("pipe/PipeX.Case") for r in results)
    assert lines[-1] == "# Totals: pass:1 fail:1 xfail:1 xpass:1 skip:1 error:1"


def test_ktap_nests_one_subtest_per_target():
    doc = make_doc(("host", "userns"))
    lines = formats.render_ktap(doc).splitlines()
    top = [ln for ln in lines if not ln.startswith("    ")]
    plans, results = parse_ktap(top)
    assert [p.expected_tests for p in plans] == [2]
    assert [(r.ok, r.description) for r in results] == [(False, "host"), (False, "userns")]
    inner = [ln[4:] for ln in lines if ln.startswith("    ")]
    assert inner.count("KTAP version 1") == 2
    _, sub = parse_ktap([ln for ln in inner if not ln.startswith("KTAP")])
    assert len(sub) == 2 * len(STATUSES)


INTERRUPTED = {"by": "SIGTERM", "message": "the run was interrupted (SIGTERM)", "not_run": 2, "stopped": 1}


@pytest.mark.parametrize("targets", [("host",), ("host", "userns")])
def test_ktap_of_an_interrupted_run_says_so_and_bails_out_after_its_last_result(targets):
    doc = make_doc(targets)
    assert not any(ln.startswith("Bail out!") or "interrupted" in ln
                   for ln in formats.render_ktap(doc).splitlines()), "a finished run is no interrupted run"
    for junk in (None, "SIGINT", [1], 3, True):  # a mark that is no object is no mark
        assert "Bail out!" not in formats.render_ktap(dict(doc, interrupted=junk))
    doc["interrupted"] = INTERRUPTED
    lines = formats.render_ktap(doc).splitlines()
    top = [ln for ln in lines if not ln.startswith("    ")]
    assert top[2] == "# ipcsuite: interrupted: the run was interrupted (SIGTERM) (1 tests stopped while running, " \
                     "2 not run)"
    items = list(Parser().parse_text("\n".join(top) + "\n"))
    bails = [i for i in items if i.category == "bail"]
    assert [b.reason for b in bails] == ["the run was interrupted (SIGTERM)"]
    # After every result (a consumer that stops reading at "Bail out!" has all of them), before the totals.
    assert items.index(bails[0]) > max(n for n, i in enumerate(items) if i.category == "test")
    assert top[-2:] == ["Bail out! the run was interrupted (SIGTERM)",
                        "# Totals: pass:%d fail:%d xfail:%d xpass:%d skip:%d error:%d" % ((len(targets),) * 6)]
    plans, results = parse_ktap([ln for ln in top if not ln.startswith("Bail out!")])
    assert [p.expected_tests for p in plans] == [len(results)]


def test_ktap_interruption_mark_of_any_shape_stays_one_line():
    doc = make_doc()
    doc["interrupted"] = {"by": {"x": 1}, "message": "a\nb # c", "not_run": "2", "stopped": False}
    lines = formats.render_ktap(doc).splitlines()
    assert lines[2] == "# ipcsuite: interrupted: a b # c"
    assert lines[-2] == "Bail out! a b # c"


KIRK_SCHEMA = {
    # The fields libkirk's JSONExporter writes and LTP's kirk-to-logs script reads.
    "type": "object", "required": ["results", "stats", "environment"],
    "properties": {
        "results": {"type": "array", "items": {
            "type": "object", "required": ["test_fqn", "status", "test"],
            "properties": {
                "test_fqn": {"type": "string", "minLength": 1},
                "status": {"enum": ["pass", "fail", "brok", "conf", "warn"]},
                "test": {"type": "object",
                         "required": ["command", "arguments", "log", "retval", "duration", "failed", "passed",
                                      "broken", "skipped", "warnings", "result"],
                         "properties": {"arguments": {"type": "array", "items": {"type": "string"}},
                                        "retval": {"type": "array", "items": {"type": "string"}},
                                        "duration": {"type": "number"}, "log": {"type": "string"},
                                        "result": {"enum": ["pass", "fail", "brok", "conf", "warn"]}}}}}},
        "stats": {"type": "object", "required": ["runtime", "passed", "failed", "broken", "skipped", "warnings"]},
        "environment": {"type": "object", "required": ["distribution", "distribution_version", "kernel", "arch",
                                                       "cpu", "swap", "RAM"]},
    },
}


def test_kirk_json_has_kirks_shape_and_counts():
    doc = make_doc(("host", "userns"))
    kirk = formats.render_kirk(doc)
    jsonschema.validate(kirk, KIRK_SCHEMA)
    assert len(kirk["results"]) == 2 * len(STATUSES)
    assert len({r["test_fqn"] for r in kirk["results"]}) == len(kirk["results"]), "names unique per target"
    words = [r["status"] for r in kirk["results"][:len(STATUSES)]]
    assert words == ["pass", "fail", "brok", "conf", "pass", "fail"]
    assert kirk["stats"]["passed"] == 4 and kirk["stats"]["broken"] == 2 and kirk["stats"]["skipped"] == 2
    assert "rules: pipe.r1, pipe.r2" in kirk["results"][1]["test"]["log"]


def test_kirk_json_of_an_interrupted_run_says_so():
    doc = make_doc(("host", "userns"))
    assert "interrupted" not in formats.render_kirk(doc)
    assert "interrupted" not in formats.render_kirk(dict(doc, interrupted="yes"))["environment"]
    doc["interrupted"] = INTERRUPTED
    kirk = formats.render_kirk(doc)
    jsonschema.validate(kirk, KIRK_SCHEMA)
    assert kirk["interrupted"] == INTERRUPTED
    assert kirk["environment"]["interrupted"] == ("the run was interrupted (SIGTERM) (1 tests stopped while "
                                                  "running, 2 not run)")
    assert all(isinstance(v, str) for v in kirk["environment"].values())  # as kirk's own values


def test_junit_is_read_by_junitparser_and_has_no_per_case_properties(tmp_path):
    doc = make_doc(("host", "userns"))
    path = tmp_path / "junit.xml"
    results_mod.write_junit(path, doc)
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.name for s in suites] == ["ipcsuite.host", "ipcsuite.userns"]
    for s in suites:
        assert s.tests == len(STATUSES) and s.failures == 2 and s.errors == 1 and s.skipped == 2
        assert s.timestamp == "2026-12-06T10:00:00" and s.hostname and s.hostname != "6.18.0"
        kinds = {}
        for case in s:
            kinds[case.name] = [(type(r).__name__, r.type) for r in case.result]
            assert "rules: pipe.r1, pipe.r2" in case.system_out
        assert kinds["Case1"] == [("Failure", "rule-broken")] and kinds["Case2"] == [("Error", "infrastructure")]
        assert kinds["Case0"] == []
    tree = etree.parse(str(path))
    assert not tree.xpath("//testcase/properties"), "the xunit schema has no per-case properties"
    assert all(f.get("type") for f in tree.xpath("//failure|//error"))


def test_results_schema_is_valid_and_accepts_produced_documents():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(make_doc(), SCHEMA)
    jsonschema.validate(make_doc(("host", "userns")), SCHEMA)
    bad = make_doc()
    bad["tests"][0]["status"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_a_real_run_writes_every_format_and_each_validates(run_suite):
    r = run_suite("--filter", "pipe/PipeEnds*")
    assert r.returncode == 0, r.stdout[-2000:]
    run = r.results_dir / "latest"
    doc = json.loads((run / "results.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    jsonschema.validate(json.loads((run / "results.kirk.json").read_text()), KIRK_SCHEMA)
    lines = (run / "results.ktap").read_text().splitlines()
    plans, results = parse_ktap(lines)
    assert plans[0].expected_tests == len(doc["tests"]) == len(results) and all(x.ok for x in results)
    xml = junitparser.JUnitXml.fromfile(str(run / "junit.xml"))
    assert sum(s.tests for s in xml) == len(doc["tests"])
    assert not list(run.glob("*.tmp"))
