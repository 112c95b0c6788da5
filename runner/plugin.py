"""pytest plugin: each GoogleTest case of the suite's binaries is one pytest item.

Collection: pytest is given test binaries as arguments (./ipcsuite does that from the build manifest);
each binary lists its tests and their rules (--ipcsuite-list-rules). Running an item runs the binary
with --gtest_filter=<that test> in its own process group, with a deadline, and reads the test's record
from $IPCSUITE_RESULT_FILE (status, skip reason, failures with file:line). -k, -x, --junitxml and
pytest-xdist (-n) work as usual, and the verdicts are the same serial or parallel.
"""
from __future__ import annotations

import ctypes
import fnmatch
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from runner import catalogue, executor, procinfo, targets
from runner import plan as plan_mod
from reports import results as results_mod

PR_SET_PDEATHSIG = 1
INFRASTRUCTURE_TAG = "[infrastructure]"
# gtest boilerplate lines that say nothing on their own in a one-line summary.
_NOISE = re.compile(r"^(Failed|Value of: .*|Expected: (true|false)|Actual: (true|false)|Which is: .*)$")


def compact_message(message: str, limit: int = 300) -> str:
    """One line for summaries: the first failure's location and its informative lines."""
    if not message:
        return ""
    first, _, rest = message.partition("\n")
    lines = [first] + [ln.strip() for ln in rest.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    text = " ".join(lines)
    text = text.replace(str(catalogue.ROOT) + "/", "")
    # A tagged result reported by a tagging assertion carries the tag twice: keep the first.
    head, tag, tail = text.partition(INFRASTRUCTURE_TAG + " ")
    text = head + tag + tail.replace(INFRASTRUCTURE_TAG + " ", "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def set_pdeathsig() -> None:
    """Die with the parent process (a SIGKILLed runner leaves no worker behind)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run_deadline() -> tuple[float, str] | None:
    """(CLOCK_MONOTONIC time, "N") of the whole run's deadline (./ipcsuite run --deadline N), or None.

    Passed in the environment so that xdist workers see it too; CLOCK_MONOTONIC is one clock for every
    process of the machine, so the controller and the workers agree on it.
    """
    at, seconds = os.environ.get("IPCSUITE_RUN_DEADLINE_AT"), os.environ.get("IPCSUITE_RUN_DEADLINE")
    if not at or not seconds:
        return None
    try:
        return float(at), seconds
    except ValueError:
        return None


def deadline_message(seconds: str) -> str:
    return f"run deadline of {seconds} s exceeded"


def pytest_runtest_setup(item):
    # A test that would start after the run's deadline does not start: it is an `error` (it was not run,
    # so it neither passed nor failed), and the rest of the run goes by in no time.
    deadline = run_deadline()
    if deadline and time.monotonic() >= deadline[0]:
        msg = deadline_message(deadline[1]) + " before this test started"
        item.user_properties.append(("message", msg))
        pytest.fail(msg, pytrace=False)


def pytest_addoption(parser):
    g = parser.getgroup("ipcsuite")
    g.addoption("--ipcsuite-manifest", help="build/ipcsuite-manifest.tsv: which files are test binaries")
    g.addoption("--ipcsuite-preload", default="", help="LD_PRELOAD for the test processes only")
    g.addoption("--ipcsuite-filter", action="append", default=[],
                help="glob on test ids (area/Suite.Name); may repeat")
    g.addoption("--ipcsuite-results", default="", help="write results.json here")
    g.addoption("--ipcsuite-test-timeout", type=float, default=60.0, help="deadline per test process (s)")
    g.addoption("--ipcsuite-seed", default="", help="seed recorded in the results")
    g.addoption("--ipcsuite-target", default="host",
                help="where test processes run: host, userns, bwrap, qemu:<kernel> (see runner/targets.py)")
    g.addoption("--ipcsuite-select", default="",
                help="file with the test ids to run, one a line (this machine's shard); others are deselected")
    g.addoption("--ipcsuite-replay", default="",
                help="JSON of per-test outcomes recorded elsewhere (the qemu guest): replay them, run nothing")


def _terminated(signum, frame):
    raise KeyboardInterrupt


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        set_pdeathsig()
    else:
        # The runner stops pytest with SIGTERM (Ctrl-C, or a run deadline pytest did not keep by itself):
        # handled as an interrupt, so that pytest_sessionfinish still writes the verdicts reached so far.
        signal.signal(signal.SIGTERM, _terminated)
    config._ipcsuite_records = {}
    config._ipcsuite_target = targets.parse(config.getoption("--ipcsuite-target"))
    config._ipcsuite_plan = plan_mod.Plan(target=config._ipcsuite_target.to_data(), seed=0,
                                          test_timeout=config.getoption("--ipcsuite-test-timeout"),
                                          preload=config.getoption("--ipcsuite-preload"))
    config._ipcsuite_replay = None
    replay = config.getoption("--ipcsuite-replay")
    if replay:
        doc = json.loads(Path(replay).read_text())
        config._ipcsuite_replay = {(r["area"], r["test"]): r for r in doc["results"]}
        config._ipcsuite_replay_problem = doc.get("problem", "")
    manifest = config.getoption("--ipcsuite-manifest")
    config._ipcsuite_binaries = {}
    if manifest:
        for _name, area, path in catalogue.read_manifest(Path(manifest).parent):
            config._ipcsuite_binaries[str(path.resolve())] = area


def pytest_collect_file(file_path, parent):
    area = parent.config._ipcsuite_binaries.get(str(Path(file_path).resolve()))
    if area is not None:
        return GTestBinary.from_parent(parent, path=Path(file_path), area=area)
    return None


def _matches(patterns, test_id, name):
    return any(fnmatch.fnmatchcase(test_id, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def planned_id(item) -> str:
    """The id results.json gives the item (reports/results.py record_report does the same)."""
    return getattr(item, "test_id", None) or "runner/" + item.nodeid.split("::", 1)[-1]


def pytest_collection_finish(session):
    """After every selection (--ipcsuite-filter/-select, -k): $IPCSUITE_RUN_PLANNED gets the ids that
    will run, so that the runner can report the ones a run deadline left unfinished. Every xdist worker
    collects the same items and writes the same file (atomically)."""
    planned = os.environ.get("IPCSUITE_RUN_PLANNED")
    if planned:
        tmp = f"{planned}.{os.getpid()}"
        Path(tmp).write_text(json.dumps([planned_id(i) for i in session.items]))
        os.replace(tmp, planned)


def pytest_collection_modifyitems(config, items):
    patterns = config.getoption("--ipcsuite-filter")
    select = config.getoption("--ipcsuite-select")
    if select:
        wanted = set(Path(select).read_text().split())
        keep, drop = [], []
        for item in items:
            (keep if getattr(item, "test_id", None) in wanted or not hasattr(item, "test_id") else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if not patterns:
        return
    keep, drop = [], []
    for item in items:
        tid = getattr(item, "test_id", item.nodeid)
        (keep if _matches(patterns, tid, item.name) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class GTestBinary(pytest.File):
    def __init__(self, *, area, **kw):
        super().__init__(**kw)
        self.area = area

    def collect(self):
        for case in catalogue.list_binary(self.path, self.area):
            yield GTestItem.from_parent(self, name=case.name, case=case)


class GTestFailure(Exception):
    pass


class GTestItem(pytest.Item):
    def __init__(self, *, case, **kw):
        super().__init__(**kw)
        self.case = case
        self.test_id = case.id
        self.user_properties.append(("area", case.area))
        self.user_properties.append(("rules", ",".join(case.rules)))
        self.user_properties.append(("location", case.location))

    def reportinfo(self):
        return self.path, None, self.test_id

    def _replayed(self, timeout):
        """(returncode, output, record) of this test as the qemu guest ran it."""
        r = self.config._ipcsuite_replay.get((self.case.area, self.case.name))
        if r is None:
            problem = getattr(self.config, "_ipcsuite_replay_problem", "") or "no record"
            self._fail(f"the guest reported no result for this test: {problem}", None)
        output = (r.get("output") or "").encode()
        if r.get("timed_out"):
            self._fail(f"timed out after {timeout:g} s in the guest", output)
        return os.waitstatus_to_exitcode(r["wait_status"]), output, r.get("record")

    def runtest(self):
        timeout = self.config.getoption("--ipcsuite-test-timeout")
        if self.config._ipcsuite_replay is not None:
            returncode, output, record = self._replayed(timeout)
        else:
            # The run's deadline cuts the test's own deadline short; a test stopped by it is an `error`.
            deadline = run_deadline()
            cut = None
            if deadline and deadline[0] - time.monotonic() < timeout:
                timeout, cut = max(deadline[0] - time.monotonic(), 0.001), deadline[1]
            returncode, output, record = self._execute(timeout, cut)
        text = output.decode(errors="replace")
        if record is None:
            self._fail(f"the test process {procinfo.describe_exit(returncode)} before reporting a "
                       "result", output)
        status = record["status"]
        if status == "skipped":
            reasons = [p["message"] for p in record["parts"] if p["kind"] == "skip"]
            msg = " ".join(" ".join(reasons).split()) or "skipped without a reason"
            self.user_properties.append(("message", msg))
            pytest.skip(msg)
        if status == "failed":
            parts = [p for p in record["parts"] if p["kind"] == "failure"]
            failures = [f"{p['file']}:{p['line']}: {p['message']}" for p in parts]
            # A setup step the machine refused (fixtures tag it "[infrastructure]": EMFILE, ENOMEM, fork
            # EAGAIN, ...) makes the verdict `error`: the rule was not checked, so it neither passed nor failed.
            if any(INFRASTRUCTURE_TAG in p["message"] for p in parts):
                self.user_properties.append(("verdict", "error"))
                # The refused setup step is the reason: it leads the message (which reports shorten), the
                # failures it caused follow.
                tagged = [f for f, p in zip(failures, parts) if INFRASTRUCTURE_TAG in p["message"]]
                failures = tagged + [f for f in failures if f not in tagged]
            self._fail("\n".join(failures) or "failed", None)
        if returncode != 0:
            self._fail(f"the test passed but its process {procinfo.describe_exit(returncode)}",
                       output)
        del text

    def _execute(self, timeout, deadline_cut=None):
        plan = self.config._ipcsuite_plan
        tmp_base = targets.from_data(plan.target).tmp_dir(os.environ.get("IPCSUITE_RUN_TMPDIR") or None)
        out = executor.run_test(self.case, plan=plan, timeout=timeout, env=executor.test_env(plan, tmp_base),
                                tmp_base=tmp_base)
        if out.timed_out:
            if deadline_cut is not None:
                self.user_properties.append(("verdict", "error"))
                self._fail(f"{deadline_message(deadline_cut)} while this test ran; {out.where}", out.output)
            self._fail(f"timed out after {timeout:g} s; {out.where}", out.output)
        return out.returncode, out.output, out.record

    def _fail(self, message, output):
        rules = ", ".join(self.case.rules) or "(none)"
        body = f"{message}\nrules: {rules}"
        if output:
            tail = output.decode(errors="replace").strip().splitlines()[-20:]
            body += "\n--- output (last lines) ---\n" + "\n".join(tail)
        self.user_properties.append(("message", compact_message(message)))
        raise GTestFailure(body)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GTestFailure):
            return f"{self.test_id}\n{excinfo.value}"
        return super().repr_failure(excinfo)


# ---- results.json (written by the controller only; xdist sends reports to it) ----

def pytest_runtest_logreport(report):
    config = getattr(report, "_ipcsuite_config", None) or _CONFIG.get("config")
    if config is None:
        return
    results_mod.record_report(config._ipcsuite_records, report)


_CONFIG: dict = {}


def pytest_sessionstart(session):
    _CONFIG["config"] = session.config
    session.config._ipcsuite_started = time.time()


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if hasattr(config, "workerinput"):
        return
    out = config.getoption("--ipcsuite-results")
    if out:
        results_mod.write_results(
            Path(out), config._ipcsuite_records,
            target=config._ipcsuite_target.name,
            seed=config.getoption("--ipcsuite-seed"),
            preload=config.getoption("--ipcsuite-preload"),
            started=config._ipcsuite_started)
