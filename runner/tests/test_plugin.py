"""The plugin's pieces that need no test binary: the typed infrastructure verdict, the plan round trip."""
from pathlib import Path

from runner import catalogue, plugin, targets
from runner import plan as plan_mod


def part(message, infra=None):
    p = {"kind": "failure", "file": "f.cc", "line": 1, "message": message}
    if infra is not None:
        p["infrastructure"] = infra
    return p


def test_the_typed_field_decides_not_the_text():
    parts = [part("[infrastructure] looks like one but is not marked", False), part("x", False)]
    assert plugin.is_infrastructure({"status": "failed", "infrastructure": False, "parts": parts}, parts) == \
        (False, [False, False])


def test_a_marked_part_is_an_infrastructure_verdict_and_says_which():
    parts = [part("assertion", False), part("fork: EAGAIN", True)]
    assert plugin.is_infrastructure({"status": "failed", "infrastructure": True, "parts": parts}, parts) == \
        (True, [False, True])


def test_the_plan_round_trips_and_the_target_is_data(tmp_path):
    target = targets.parse("userns")
    case = catalogue.TestCase(binary=Path("/b/pipe_test"), area="pipe", name="S.N", location="f.cc:3",
                              rules=["r.one", "r.two"])
    p = plan_mod.read_plan(plan_mod.write_plan(tmp_path / "plan.json", target=target.to_data(), seed=7,
                                               test_timeout=2.5, tests=[case]))
    assert targets.from_data(p.target) == target
    assert (p.seed, p.test_timeout, p.preload, p.replay) == (7, 2.5, "", "")
    assert p.tests == [case] and p.tests[0].id == "pipe/S.N"
