"""The plugin's pieces that need no test binary: the typed infrastructure verdict, the plan round trip."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner import catalogue, plugin, targets
from runner import plan as plan_mod
from runner.tests.conftest import BUILD, ROOT


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


def test_pytest_runs_exactly_the_plan_and_lists_nothing(tmp_path):
    """The controller and the xdist workers make their items from the plan: no binary is asked for its tests
    (--ipcsuite-list-rules), and a test in the binary but not in the plan does not run."""
    binary = BUILD / "bin" / "pipe_test"
    if not binary.is_file():
        pytest.skip(f"{binary} is not built")
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "pipe_test"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {binary} "$@"\n')
    wrapper.chmod(0o755)
    names = ["PipeEof.ReadReturnsBufferedDataThenZero", "PipeEof.EmptyPipeWithNoWriterReadsZeroAtOnce"]
    cases = [catalogue.TestCase(binary=wrapper, area="pipe", name=n, location="", rules=["pipe.r"]) for n in names]
    plan = plan_mod.write_plan(tmp_path / "plan.json", target=targets.parse("host").to_data(), seed=5,
                               test_timeout=60, tests=cases)
    out = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("IPCSUITE_RUN_PLANNED", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "runner" / "pytest.ini"), "--rootdir",
                           str(ROOT), "-p", "runner.plugin", "--ipcsuite-plan", str(plan), "--ipcsuite-results",
                           str(out), "-n", "2", "-q", "--basetemp", str(tmp_path / "pytest"), str(plan)],
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads(out.read_text())
    assert sorted(t["id"] for t in doc["tests"]) == sorted(c.id for c in cases)
    assert doc["environment"]["seed"] == "5"
    calls = log.read_text().splitlines()
    assert calls and not any("--ipcsuite-list-rules" in c for c in calls), calls


def test_the_text_tag_alone_makes_no_infrastructure_verdict():
    parts = [part("[infrastructure] fork: EAGAIN")]
    assert plugin.is_infrastructure({"status": "failed", "parts": parts}, parts) == (False, [False])
