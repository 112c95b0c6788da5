"""results.json folding of pytest phase reports, and the summary."""
from types import SimpleNamespace

from reports import results, summary


def rep(nodeid, when, outcome, duration=0.1, props=(), longrepr=None, **extra):
    r = SimpleNamespace(nodeid=nodeid, when=when, outcome=outcome, duration=duration,
                        user_properties=list(props), longrepr=longrepr,
                        passed=outcome == "passed", failed=outcome == "failed", skipped=outcome == "skipped")
    for k, v in extra.items():
        setattr(r, k, v)
    return r


PROPS = [("area", "pipe"), ("rules", "pipe.a,pipe.b")]


def fold(*reports):
    recs = {}
    for r in reports:
        results.record_report(recs, r)
    return recs


def test_statuses():
    recs = fold(
        rep("b::T.pass", "setup", "passed", props=PROPS), rep("b::T.pass", "call", "passed", props=PROPS),
        rep("b::T.pass", "teardown", "passed", props=PROPS),
        rep("b::T.fail", "setup", "passed"), rep("b::T.fail", "call", "failed", props=PROPS, longrepr="boom"),
        rep("b::T.skip", "setup", "passed"),
        rep("b::T.skip", "call", "skipped", props=PROPS + [("message", "needs root")]),
        rep("b::T.err", "setup", "failed", longrepr="fixture broke"),
        rep("b::T.xf", "call", "skipped", wasxfail="known"),
        rep("b::T.xp", "call", "passed", wasxfail="known"),
        rep("b::T.td", "call", "passed"), rep("b::T.td", "teardown", "failed", longrepr="leak"),
    )
    got = {k.split("::")[1]: v["status"] for k, v in recs.items()}
    assert got == {"T.pass": "passed", "T.fail": "failed", "T.skip": "skipped", "T.err": "error",
                   "T.xf": "xfailed", "T.xp": "xpassed", "T.td": "error"}
    assert recs["b::T.pass"]["rules"] == ["pipe.a", "pipe.b"]
    assert recs["b::T.pass"]["id"] == "pipe/T.pass"
    assert abs(recs["b::T.pass"]["duration_s"] - 0.3) < 1e-9
    assert recs["b::T.skip"]["message"] == "needs root"
    assert recs["b::T.fail"]["message"] == "boom"


def test_write_and_summary(tmp_path):
    recs = fold(rep("b::T.ok", "call", "passed", props=PROPS),
                rep("b::T.bad", "call", "failed", props=PROPS + [("message", "write returned 1")]))
    doc = results.write_results(tmp_path / "r" / "results.json", recs, target="host", seed="7",
                                preload="", started=0.0)
    loaded = results.load(tmp_path / "r" / "results.json")
    assert loaded == doc
    env = loaded["environment"]
    for key in ("kernel_release", "libc", "libc_version", "architecture", "target", "command_line", "seed"):
        assert env[key], key
    assert loaded["counts"]["passed"] == 1 and loaded["counts"]["failed"] == 1
    for t in loaded["tests"]:
        assert set(t) >= {"id", "area", "status", "duration_s", "rules", "message"}
    text = summary.render(loaded, "RESULTS")
    assert "FAILED  pipe/T.bad  [rules: pipe.a, pipe.b]" in text
    assert "write returned 1" in text
    assert text.splitlines()[-1] == "1 passed, 1 failed, 0 errors, 0 skipped"
    assert [t["id"] for t in summary.unexpected(loaded)] == ["pipe/T.bad"]


def test_flake_report_lists_tests_whose_verdict_changed():
    from reports import flakes

    def doc(statuses):
        return {"tests": [{"id": i, "target": "host", "status": s} for i, s in statuses.items()]}

    report = flakes.compare([doc({"a": "passed", "b": "passed", "c": "skipped"}),
                             doc({"a": "passed", "b": "failed", "c": "skipped"}),
                             doc({"a": "passed", "b": "passed"})], ["r1", "r2", "r3"])
    assert report["repeats"] == 3 and report["tests"] == 3
    assert [f["test"] for f in report["flaky"]] == ["host:b", "host:c"]
    assert report["flaky"][0]["counts"] == {"passed": 2, "failed": 1}
    assert "2 changed verdict" in flakes.render(report, "x.json")


def test_infrastructure_verdict_is_an_error():
    recs = fold(rep("b::T.emfile", "call", "failed", props=PROPS + [("verdict", "error")], longrepr="x"))
    assert recs["b::T.emfile"]["status"] == "error"
