"""Several tests at once in one pytest process (runner/inflight.py): each test is still a fresh process
with its own deadline, at most `slots` run at once, a slow or hung test holds one slot while the others go
on past it, every running test's deadline is kept while another is waited for, a test not started is
reported as such, cancel() stops what still runs and leaves no file, and a binary whose tests are all
done keeps no idle fork server."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from runner import executor, forkserver
from runner.inflight import InFlight
from runner.catalogue import TestCase as Case
from runner.tests.test_forkserver import PROBE, alive, plan, wait_gone


@pytest.fixture(autouse=True)
def _fresh_servers(monkeypatch):
    monkeypatch.setenv("IPCSUITE_EXEC_MODE", "fork")
    forkserver.shutdown_all()
    yield
    forkserver.shutdown_all()


def case(name: str, binary: Path = PROBE, area: str = "probe") -> Case:
    assert binary.is_file(), f"{binary} was not built"
    return Case(binary=binary, area=area, name=name, location="", rules=[])


def in_flight(tmp_path: Path, cases: list, slots: int, timeouts: dict | None = None, refuse: set | None = None,
              log: list | None = None) -> InFlight:
    """InFlight over `cases` whose tests get `timeouts[id]` (default 30 s); `refuse`d ids are not started;
    `log` gets (name, how many tests were running) as each starts."""
    p = plan()
    env = executor.test_env(p, str(tmp_path))

    def begin(c):
        if refuse and c.id in refuse:
            return None
        if log is not None:
            log.append((c.name, len(inflight.running)))
        return executor.Forked(c, plan=p, timeout=(timeouts or {}).get(c.id, 30.0), env=env,
                               tmp_base=str(tmp_path))
    inflight = InFlight(cases, slots, begin)
    return inflight


def test_a_hung_test_holds_one_slot_while_the_others_run_past_it_in_plan_order(tmp_path):
    names = ["Probe.Hang", "Probe.Pass", "Probe.Fail", "Probe.Crash", "ShortProbe/Many.Pass/0"]
    cases = [case(n) for n in names]
    log: list = []
    inflight = in_flight(tmp_path, cases, 2, timeouts={"probe/Probe.Hang": 3.0}, log=log)
    hang = inflight.take(cases[0])
    assert hang.done.timed_out and hang.done.record is None
    assert 2.5 < hang.ended_at - hang.started_at < 15
    # While the hang ran, the others started one after another in the second slot, and all ended before it.
    assert [n for n, _ in log] == names
    assert all(busy < 2 for _, busy in log), log
    others = [inflight.take(c) for c in cases[1:]]
    assert all(f.ended_at < hang.ended_at for f in others)
    passed, failed, crashed, many = (f.done for f in others)
    assert passed.record["status"] == "passed" and many.record["status"] == "passed"
    assert failed.record["status"] == "failed"
    assert crashed.returncode == -6 and crashed.record is None
    assert not inflight.running and not inflight.ended


def test_each_running_test_keeps_its_own_deadline_while_another_is_waited_for(tmp_path):
    cases = [case("Probe.Hang"), case("Probe.Hang", area="probe2")]
    inflight = in_flight(tmp_path, cases, 2, timeouts={"probe/Probe.Hang": 6.0, "probe2/Probe.Hang": 1.0})
    first = inflight.take(cases[0])
    second = inflight.take(cases[1])
    assert first.done.timed_out and second.done.timed_out
    # The second (1 s) was stopped at its own deadline while the first (6 s) was waited for, not after it.
    assert second.ended_at - second.started_at < 5.5
    assert second.ended_at < first.ended_at


def test_a_test_not_started_is_none_and_the_rest_run(tmp_path):
    cases = [case("Probe.Pass"), case("Probe.Fail"), case("ShortProbe/Many.Pass/1")]
    inflight = in_flight(tmp_path, cases, 2, refuse={"probe/Probe.Fail"})
    assert inflight.take(cases[0]).done.record["status"] == "passed"
    assert inflight.take(cases[1]) is None
    assert inflight.take(cases[2]).done.record["status"] == "passed"


def test_cancel_stops_what_still_runs_and_leaves_no_file(tmp_path):
    cases = [case("Probe.Pass"), case("Probe.Hang")]
    inflight = in_flight(tmp_path, cases, 2)
    assert inflight.take(cases[0]).done.record["status"] == "passed"
    [hung] = inflight.running.values()
    end = time.monotonic() + 30
    while not hung.server.test_children():  # the request is sent; the server forks the child soon after
        assert time.monotonic() < end, "the hanging test's process did not start"
        time.sleep(0.01)  # polling /proc for the child, with a deadline
    [child] = hung.server.test_children()
    inflight.cancel()
    assert wait_gone(child), "the running test's process outlived cancel()"
    forkserver.shutdown_all()
    assert list(tmp_path.iterdir()) == []


def test_a_binary_whose_tests_are_done_keeps_no_idle_server(tmp_path):
    other = tmp_path / "bin" / "probe-copy"
    other.parent.mkdir()
    shutil.copy(PROBE, other)
    work = tmp_path / "work"
    work.mkdir()
    cases = [case("Probe.Pass"), case("ShortProbe/Many.Pass/2"), case("Probe.Pass", other, "copy"),
             case("ShortProbe/Many.Pass/3", other, "copy")]
    inflight = in_flight(work, cases, 2)
    for c in cases:
        assert inflight.take(c).done.record["status"] == "passed"
    binaries = {s.binary for s in forkserver.servers()}
    assert str(PROBE) not in binaries, "the first binary's servers outlived its last test"
    assert binaries <= {str(other)}
    pids = [s.proc.pid for s in forkserver.servers()]
    forkserver.shutdown_all()
    assert all(not alive(p) for p in pids)


def test_at_most_slots_tests_run_at_once(tmp_path):
    cases = [case(f"ShortProbe/Many.Pass/{k}") for k in range(12)]
    log: list = []
    inflight = in_flight(tmp_path, cases, 3, log=log)
    started = time.monotonic()
    for c in cases:
        assert inflight.take(c).done.record["status"] == "passed"
    assert time.monotonic() - started < 60
    assert [n for n, _ in log] == [c.name for c in cases]
    assert max(busy for _, busy in log) <= 2, log  # when one starts, at most slots - 1 others run
    assert len([s for s in forkserver.servers() if s.binary == str(PROBE)]) <= 3


def test_interrupted_the_tests_that_ended_ahead_are_handed_over_and_none_starts(tmp_path):
    names = ["Probe.Hang"] + [f"ShortProbe/Many.Pass/{k}" for k in range(8)]
    cases = [case(n) for n in names]
    log: list = []
    inflight = in_flight(tmp_path, cases, 2, log=log)
    inflight._fill()
    end = time.monotonic() + 60
    while len(inflight.ended) < 3:  # as while pytest waits for the hang: the others run past it
        assert time.monotonic() < end, "three short tests did not end in 60 s"
        inflight._step()
        inflight._fill()
    before = set(inflight.ended)
    started = len(log)
    ahead = inflight.ended_ahead()
    assert before <= ahead <= {c.id for c in cases[1:started]}
    assert all(inflight.ended[i].done.record["status"] == "passed" for i in ahead)
    inflight._fill()
    assert len(log) == started, "a test started after the interruption"
    inflight.cancel()
    forkserver.shutdown_all()
