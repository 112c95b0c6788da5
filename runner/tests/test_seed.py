"""--seed works: the run's seed ($IPCSUITE_SEED, which the CLI exports to every test process) seeds rapidcheck
through the test main, so the same seed replays the same generated cases and another seed gives others, in
both ways of running a test process."""
from __future__ import annotations

import pytest

from runner import executor, forkserver, targets
from runner.catalogue import TestCase as Case
from runner.plan import Plan
from runner.tests.conftest import BUILD

SELFTEST = BUILD / "bin" / "fixtures_selftest"
TEST = "SeedSelfTest.RapidcheckIsSeededFromTheRun"


def generated(seed: str, mode: str, tmp_path, monkeypatch, rc_params: str | None = None) -> list[str]:
    assert SELFTEST.is_file(), f"{SELFTEST} was not built"
    monkeypatch.setenv("IPCSUITE_EXEC_MODE", mode)
    p = Plan(target=targets.Target(name="host", kind="host", spec="host").to_data(), seed=int(seed),
             test_timeout=60.0)
    env = dict(executor.test_env(p, str(tmp_path)), IPCSUITE_SEED=seed)
    env.pop("RC_PARAMS", None)
    if rc_params is not None:
        env["RC_PARAMS"] = rc_params
    case = Case(binary=SELFTEST, area="selftest", name=TEST, location="", rules=[])
    out = executor.run_test(case, plan=p, timeout=60, env=env, tmp_base=str(tmp_path))
    forkserver.shutdown_all()
    text = out.output.decode(errors="replace")
    assert out.record and out.record["status"] == "passed", text
    lines = [ln for ln in text.splitlines() if ln.startswith("rapidcheck ")]
    assert len(lines) == 6, text
    return lines


@pytest.mark.parametrize("mode", executor.MODES)
def test_the_same_seed_replays_the_same_cases_and_another_seed_does_not(tmp_path, monkeypatch, mode):
    first = generated("12345", mode, tmp_path, monkeypatch)
    assert generated("12345", mode, tmp_path, monkeypatch) == first
    assert generated("12346", mode, tmp_path, monkeypatch)[1:] != first[1:]


def test_both_modes_generate_the_same_cases_for_a_seed(tmp_path, monkeypatch):
    assert generated("777", "fork", tmp_path, monkeypatch) == generated("777", "exec", tmp_path, monkeypatch)


def test_a_seed_in_rc_params_wins_and_other_settings_are_kept(tmp_path, monkeypatch):
    mine = generated("1", "fork", tmp_path, monkeypatch, rc_params="seed=99 verbose_progress=0")
    assert mine[0] == "rapidcheck seed 99"
    assert generated("2", "fork", tmp_path, monkeypatch, rc_params="seed=99") == mine
