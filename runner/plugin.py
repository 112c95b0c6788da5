"""pytest plugin: each planned GoogleTest case is one pytest item.

Collection: the CLI (runner/run_cmd.py) lists, filters and shards the tests once and writes the plan
(runner/plan.py); pytest gets `--ipcsuite-plan PLAN` and PLAN as a file argument, and this plugin makes one
item per planned test, in plan order, from the plan alone (the controller and every xdist worker read the
same file; nothing lists a binary or parses a target spec again). Running an item runs the test's process
through runner/executor.py and turns its record into a verdict (status, skip reason, failures with
file:line). -k, -x, --junitxml and pytest-xdist (-n) work as usual, and the verdicts are the same serial or
parallel. The plugin's state lives in one IpcsuiteSession registered as "ipcsuite-session".
"""
from __future__ import annotations

import functools
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from reports import results as results_mod
from runner import catalogue, executor, forkserver, procinfo, targets
from runner import plan as plan_mod
from runner.inflight import InFlight

SESSION_NAME = "ipcsuite-session"
# The text fixtures put before a refused setup step's message, for people; the verdict comes from the
# record's typed "infrastructure" field.
INFRASTRUCTURE_TAG = "[infrastructure]"
# gtest boilerplate lines that say nothing on their own in a one-line summary.
_NOISE = re.compile(r"^(Failed|Value of: .*|Expected: (true|false)|Actual: (true|false))$")


def compact_message(message: str, limit: int = 300) -> str:
    """One line for summaries: the first failure's location and its informative lines."""
    if not message:
        return ""
    first, _, rest = message.partition("\n")
    lines = [first] + [ln.strip() for ln in rest.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    # GoogleTest's "Which is: 1" is the actual value of the line before it: kept, as "(which is 1)".
    lines = [f"(which is {ln[len('Which is: '):]})" if ln.startswith("Which is: ") else ln for ln in lines]
    text = " ".join(lines)
    text = text.replace(str(catalogue.ROOT) + "/", "")
    # A tagged result reported by a tagging assertion carries the tag twice: keep the first.
    head, tag, tail = text.partition(INFRASTRUCTURE_TAG + " ")
    text = head + tag + tail.replace(INFRASTRUCTURE_TAG + " ", "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def not_started(item, seconds: str) -> None:
    """Fails `item` as an `error` that the run's deadline (--deadline `seconds`) kept from starting."""
    msg = deadline_message(seconds) + " before this test started"
    item.user_properties.append(("message", msg))
    item.user_properties.append(("verdict", "error"))  # in the call phase too (a test InFlight did not start)
    pytest.fail(msg, pytrace=False)


def planned_id(item) -> str:
    """The id results.json gives the item (reports/results.py record_report does the same)."""
    return getattr(item, "test_id", None) or "runner/" + item.nodeid.split("::", 1)[-1]


def is_infrastructure(record: dict, parts: list[dict]) -> tuple[bool, list[bool]]:
    """(the failure is the machine's, which failure parts are), from the record's typed fields: a top-level
    "infrastructure" and one per failure part (fixtures/main.cc). The text tag is for people only."""
    marked = [bool(p.get("infrastructure")) for p in parts]
    return bool(record.get("infrastructure")) or any(marked), marked


def pytest_addoption(parser):
    g = parser.getgroup("ipcsuite")
    g.addoption("--ipcsuite-plan", default="",
                help="plan.json written by ./ipcsuite (runner/plan.py): the exact tests to run and how")
    g.addoption("--ipcsuite-results", default="", help="write results.json here")


def _terminated(signum, frame):
    raise KeyboardInterrupt


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        procinfo.set_pdeathsig()
    else:
        # The runner stops pytest with SIGTERM (Ctrl-C, or a run deadline pytest did not keep by itself):
        # handled as an interrupt, so that pytest_sessionfinish still writes the verdicts reached so far.
        signal.signal(signal.SIGTERM, _terminated)
    config.pluginmanager.register(IpcsuiteSession(config), SESSION_NAME)


def session_of(config) -> "IpcsuiteSession":
    return config.pluginmanager.get_plugin(SESSION_NAME)


class IpcsuiteSession:
    """The plugin's state for one pytest process (controller or xdist worker) and its hooks."""

    def __init__(self, config):
        self.config = config
        self.plan_path = config.getoption("--ipcsuite-plan")
        self.plan = plan_mod.read_plan(Path(self.plan_path)) if self.plan_path else None
        self.target = targets.from_data(self.plan.target) if self.plan else None
        self.replay: dict | None = None
        self.replay_problem = ""
        if self.plan and self.plan.replay:
            doc = json.loads(Path(self.plan.replay).read_text())
            self.replay = {(r["area"], r["test"]): r for r in doc["results"]}
            self.replay_problem = doc.get("problem", "")
        self.records: dict = {}
        self.started = time.time()
        self._env: tuple[str | None, dict] | None = None
        self.inflight: InFlight | None = None  # several tests at once in this process (plan.in_flight > 1)

    def test_env(self) -> tuple[str | None, dict]:
        """($TMPDIR base, environment) for the plan's test processes (the same for every test)."""
        if self._env is None:
            tmp_base = self.target.tmp_dir(os.environ.get("IPCSUITE_RUN_TMPDIR") or None)
            self._env = (tmp_base, executor.test_env(self.plan, tmp_base))
        return self._env

    # ---- collection: the plan file is the one collector of GoogleTest items ----
    def pytest_collect_file(self, file_path, parent):
        if self.plan and Path(file_path).resolve() == Path(self.plan_path).resolve():
            return PlanFile.from_parent(parent, path=Path(file_path))
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        # pytest-xdist writes "bringing up nodes..." as a line of its own when the output is not a terminal
        # (once per target and pytest process): runner noise here, the run's header says how many jobs run.
        dist = self.config.pluginmanager.get_plugin("terminaldistreporter")
        if dist is not None and hasattr(dist, "ensure_show_status"):
            dist.ensure_show_status = lambda: None

    def pytest_collection_finish(self, session):
        """After -k (pytest's own selection): $IPCSUITE_RUN_PLANNED gets the ids that will run, so that the
        runner can report the ones a run deadline left unfinished. Every xdist worker collects the same
        items and writes the same file (atomically)."""
        planned = os.environ.get("IPCSUITE_RUN_PLANNED")
        if planned:
            tmp = f"{planned}.{os.getpid()}"
            try:
                Path(tmp).write_text(json.dumps([planned_id(i) for i in session.items]))
                os.replace(tmp, planned)
            except OSError:  # a full disk: the runner then counts every test it planned
                Path(tmp).unlink(missing_ok=True)
        if (self.plan and self.plan.in_flight > 1 and not self.plan.replay
                and not hasattr(self.config, "workerinput") and executor.exec_mode(self.plan) == "fork"):
            cases = [i.case for i in session.items if isinstance(i, GTestItem)]
            self.inflight = InFlight(cases, self.plan.in_flight, self.begin)

    def timeout_now(self) -> tuple[float, str | None]:
        """(the deadline of a test started now, s; "N" when the run's deadline --deadline N cut it short)."""
        timeout, deadline = self.plan.test_timeout, run_deadline()
        if deadline and deadline[0] - time.monotonic() < timeout:
            return max(deadline[0] - time.monotonic(), 0.001), deadline[1]
        return timeout, None

    def begin(self, case) -> executor.Forked | None:
        """Starts `case`'s test as a fork server's child (InFlight); None after the run's deadline."""
        deadline = run_deadline()
        if deadline and time.monotonic() >= deadline[0]:
            return None
        timeout, cut = self.timeout_now()
        tmp_base, env = self.test_env()
        f = executor.Forked(case, plan=self.plan, timeout=timeout, env=env, tmp_base=tmp_base, target=self.target)
        f.cut = cut
        return f

    def pytest_runtest_setup(self, item):
        if self.inflight is not None and isinstance(item, GTestItem) and self.inflight.started(item.case):
            return  # started before the run's deadline, while earlier items ran
        # A test that would start after the run's deadline does not start: it is an `error` (it was not run,
        # so it neither passed nor failed), and the rest of the run goes by in no time.
        deadline = run_deadline()
        if deadline and time.monotonic() >= deadline[0]:
            not_started(item, deadline[1])

    @pytest.hookimpl(trylast=True)
    def pytest_keyboard_interrupt(self, excinfo):
        # The runner stopped pytest (Ctrl-C, SIGTERM) and says so itself in one line: no pytest traceback of
        # where the controller happened to be.
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and hasattr(reporter, "_report_keyboardinterrupt"):
            reporter._report_keyboardinterrupt = lambda: None

    # ---- results.json (written by the controller only; xdist sends reports to it) ----
    def pytest_runtest_logreport(self, report):
        results_mod.record_report(self.records, report)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.inflight is not None:
            if exitstatus == pytest.ExitCode.INTERRUPTED:
                self._report_ended_ahead(session)
            self.inflight.cancel()  # tests started ahead of items pytest did not reach (-x, an interruption)
        forkserver.shutdown_all()  # this process's fork servers (controller and every worker)
        if hasattr(self.config, "workerinput"):
            return
        out = self.config.getoption("--ipcsuite-results")
        self._no_verdict(session, exitstatus)
        if out:
            try:
                results_mod.write_results(
                    Path(out), self.records,
                    target=self.target.name if self.target else "host",
                    seed=str(self.plan.seed) if self.plan else "",
                    preload=self.plan.preload if self.plan else "",
                    started=self.started)
            except OSError as e:  # a full disk: one line (the runner then says results are missing), no .tmp
                Path(out).with_suffix(".json.tmp").unlink(missing_ok=True)
                print(f"ipcsuite: error: cannot write {out}: {e.strerror or e}", file=sys.stderr, flush=True)
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _report_ended_ahead(self, session) -> None:
        """The run was interrupted while pytest waited for one test (a slow one holds its slot while the others
        go on past it): the tests after it that have ended get their verdicts now, not "not run". Only their
        call phase is reported (pytest has stopped its output capture, which a set-up needs; the items have
        no fixtures)."""
        ended = self.inflight.ended_ahead()
        try:
            for item in session.items:
                if isinstance(item, GTestItem) and item.case.id in ended and item.nodeid not in self.records:
                    call = pytest.CallInfo.from_call(item.runtest, when="call", reraise=KeyboardInterrupt)
                    item.ihook.pytest_runtest_logreport(
                        report=item.ihook.pytest_runtest_makereport(item=item, call=call))
        except KeyboardInterrupt:  # interrupted again: the rest are not run
            pass

    def _no_verdict(self, session, exitstatus) -> None:
        """A test that had started but got no verdict: pytest ended while it ran (-x stopped the run at
        another worker's failure, or the run was interrupted). It is an `error` that says so, not an error
        with an empty message."""
        if session.shouldfail:
            why = f"not finished: the run stopped at the first failure (-x: {session.shouldfail})"
        elif exitstatus == pytest.ExitCode.INTERRUPTED:
            why = ""  # the runner stopped pytest and says why (SIGINT, SIGTERM, its deadline) "while this test ran"
        else:
            why = "not finished: pytest ended while this test ran"
        for rec in self.records.values():
            if rec["status"] is None:
                rec["status"], rec["message"] = "error", why


class PlanFile(pytest.File):
    @functools.cached_property
    def ihook(self):
        """pytest looks the hooks up again (conftest files of the path: a stat each) at every use of an item's
        ihook; the plan's items share their file's, looked up once."""
        return self.session.gethookproxy(self.path)

    def collect(self):
        for case in session_of(self.config).plan.tests:
            yield GTestItem.from_parent(self, name=case.id, case=case)


class GTestFailure(Exception):
    pass


class GTestItem(pytest.Item):
    def __init__(self, *, case, **kw):
        super().__init__(**kw)
        self.case = case
        self.test_id = case.id
        self.user_properties.append(("id", case.id))
        self.user_properties.append(("area", case.area))
        self.user_properties.append(("rules", ",".join(case.rules)))
        self.user_properties.append(("location", case.location))

    @property
    def ihook(self):
        return self.parent.ihook

    def reportinfo(self):
        return self.case.binary, None, self.test_id

    def _replayed(self, state, timeout):
        """(returncode, output, record) of this test as the qemu guest ran it."""
        r = state.replay.get((self.case.area, self.case.name))
        if r is None:
            self._fail(f"the guest reported no result for this test: {state.replay_problem or 'no record'}", None)
        output = (r.get("output") or "").encode()
        if isinstance(r.get("elapsed_ms"), (int, float)) and r["elapsed_ms"] >= 0:
            self.user_properties.append(("guest_duration_s", r["elapsed_ms"] / 1000.0))
        if r.get("timed_out"):
            self._fail(f"timed out after {timeout:g} s in the guest", output)
        return os.waitstatus_to_exitcode(r["wait_status"]), output, r.get("record")

    def runtest(self):
        state = session_of(self.config)
        timeout = state.plan.test_timeout
        if state.replay is not None:
            returncode, output, record = self._replayed(state, timeout)
        elif state.inflight is not None:
            f = state.inflight.take(self.case)
            if f is None:  # the run's deadline passed before it could start
                not_started(self, (run_deadline() or (0.0, "?"))[1])
            # Its duration is its process's, from start to end, not the time this item waited for it.
            self.user_properties.append(("process_duration_s", f.ended_at - f.started_at))
            returncode, output, record = self._judge(state, f.done, f.timeout, f.cut)
        else:
            # The run's deadline cuts the test's own deadline short; a test stopped by it is an `error`.
            timeout, cut = state.timeout_now()
            returncode, output, record = self._execute(state, timeout, cut)
        if record is None:
            if state.replay is None and not self._started(state, output):
                # It died before GoogleTest started the test (a preloaded library's constructor, the loader):
                # no rule was checked, so it neither passed nor failed.
                self.user_properties.append(("verdict", "error"))
                why = (f" (with {state.plan.preload} preloaded: in the library's constructor?)"
                       if state.plan.preload else "")
                self._fail(f"the test process {procinfo.describe_exit(returncode)} before its test started"
                           + why, output)
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
            # A setup step the machine refused (EMFILE, ENOMEM, fork EAGAIN, ...; the record marks it
            # "infrastructure") makes the verdict `error`: the rule was not checked, so it neither passed
            # nor failed.
            infra, marked = is_infrastructure(record, parts)
            if infra:
                self.user_properties.append(("verdict", "error"))
                # The refused setup step is the reason: it leads the message (which reports shorten), the
                # failures it caused follow.
                failures = ([f for f, m in zip(failures, marked) if m]
                            + [f for f, m in zip(failures, marked) if not m])
            self._fail("\n".join(failures) or "failed", None)
        if returncode != 0:
            self._fail(f"the test passed but its process {procinfo.describe_exit(returncode)}", output)

    def _started(self, state, output) -> bool:
        """Whether GoogleTest started this test ("[ RUN      ] Suite.Name" in its output). Known only in exec
        mode, where the output is the whole process's; in fork mode the server had started it."""
        if executor.exec_mode(state.plan) != "exec":
            return True
        return f"[ RUN      ] {self.case.name}".encode() in (output or b"")

    def _execute(self, state, timeout, deadline_cut=None):
        tmp_base, env = state.test_env()
        out = executor.run_test(self.case, plan=state.plan, timeout=timeout, env=env, tmp_base=tmp_base)
        return self._judge(state, out, timeout, deadline_cut)

    def _judge(self, state, out, timeout, deadline_cut):
        """(returncode, output, record) of a test process that ran to its end; fails the item when it did not."""
        if out.timed_out:
            if deadline_cut is not None:
                self.user_properties.append(("verdict", "error"))
                self._fail(f"{deadline_message(deadline_cut)} while this test ran; {out.where}", out.output)
            if not self._started(state, out.output):  # hung before its test started (a constructor)
                self.user_properties.append(("verdict", "error"))
                self._fail(f"timed out after {timeout:g} s before its test started; {out.where}", out.output)
            self._fail(f"timed out after {timeout:g} s; {out.where}", out.output)
        if out.error:  # the runner could not run the test to its end (e.g. its fork server died)
            self.user_properties.append(("verdict", "error"))
            self._fail(out.error, out.output)
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
