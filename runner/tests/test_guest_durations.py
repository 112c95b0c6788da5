"""Under a qemu target each test's duration is the guest's measure of it, not the replay's."""
from __future__ import annotations

from types import SimpleNamespace

from reports.results import record_report


def _report(when, duration, props=(), outcome="passed"):
    return SimpleNamespace(nodeid="plan::pipe/PipeIo.X", when=when, duration=duration, outcome=outcome,
                           passed=outcome == "passed", failed=outcome == "failed", skipped=outcome == "skipped",
                           longrepr=None, user_properties=list(props))


def test_the_guest_duration_replaces_the_replay_time():
    records: dict = {}
    props = [("id", "pipe/PipeIo.X"), ("area", "pipe"), ("rules", "pipe.x"), ("guest_duration_s", 0.25)]
    for when, d in (("setup", 0.5), ("call", 3.0), ("teardown", 0.5)):
        record_report(records, _report(when, d, props if when != "setup" else props[:3]))
    (rec,) = records.values()
    assert rec["duration_s"] == 0.25


def test_without_a_guest_duration_the_phases_add_up():
    records: dict = {}
    props = [("id", "pipe/PipeIo.X"), ("area", "pipe"), ("rules", "pipe.x")]
    for when, d in (("setup", 0.5), ("call", 3.0), ("teardown", 0.25)):
        record_report(records, _report(when, d, props))
    (rec,) = records.values()
    assert rec["duration_s"] == 3.75
