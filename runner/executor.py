"""How one test process runs: run_test() runs one test in a process of its own and returns what happened.

The plugin (runner/plugin.py) decides the verdict from the Outcome; this module only runs the process, in
one of two modes. Both give each test a fresh process of its own, in its own process group, with its own
deadline (the tree is killed at it), and read the test's record from $IPCSUITE_RESULT_FILE (status, skip
reason, failures):
- fork (the default): a fork server per binary and pytest worker (runner/forkserver.py: the binary started
  once with --ipcsuite-serve, wrapped by the plan's target) forks one child per test;
- exec: the binary is started for each test with --gtest_filter=<that test>, wrapped by the plan's target.
$IPCSUITE_EXEC_MODE=exec|fork chooses. Runs with a preloaded library (--preload) always exec: an LD_PRELOAD
interposer would act in the server too, and its state would reach every test.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runner import forkserver, procinfo, target_wrap, targets, workspace
from runner.catalogue import TestCase

MODES = ("fork", "exec")


@dataclass
class Outcome:
    returncode: int            # as subprocess gives it (negative: killed by that signal)
    output: bytes              # stdout and stderr of the test process
    record: dict | None        # the test's record from $IPCSUITE_RESULT_FILE (None: it wrote none)
    timed_out: bool = False
    where: str = ""            # procinfo.describe_tree at the timeout, "" otherwise
    error: str = ""            # why the runner could not run the test (its fork server died): verdict `error`


def exec_mode(plan) -> str:
    """fork or exec: $IPCSUITE_EXEC_MODE (default fork); always exec when the plan preloads a library."""
    return mode_for(plan.preload)


def mode_for(preload: str) -> str:
    """exec_mode of a plan that preloads `preload` ("": nothing)."""
    if preload:
        return "exec"
    mode = os.environ.get("IPCSUITE_EXEC_MODE", "") or "fork"
    return mode if mode in MODES else "fork"


def test_env(plan, tmp_base: str | None) -> dict:
    """The environment of the plan's test processes (without $IPCSUITE_RESULT_FILE, which run_test adds)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in ("GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE"):
        env.pop(k, None)  # sharding is the runner's (--shard): each process runs exactly its one test
    if plan.preload:
        env["LD_PRELOAD"] = plan.preload
    env.pop(target_wrap.ENV_WRAP, None)
    env.update(target_wrap.env(plan.target))  # $IPCSUITE_TIMEOUT_SCALE, and $IPCSUITE_WRAP for wrap: targets
    run_tmp = tmp_base or os.environ.get("IPCSUITE_RUN_TMPDIR")
    if plan.target["kind"] == "host" and workspace.test_tmpdir_override():
        run_tmp = workspace.test_tmpdir_override()
    if run_tmp:
        env["TMPDIR"] = run_tmp
    return env


def read_record(path, name: str) -> dict | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        rec = json.loads(line)
        if rec.get("test") == name:
            return rec
    return None


_files = itertools.count()


def _new_file(prefix: str, suffix: str, tmp_base: str | None) -> str:
    """A new empty file (mode 0600) in `tmp_base` (else the system's temporary directory), named after this
    process and a counter: mkstemp's random names cost more than the rest of starting a forked test."""
    base = tmp_base or tempfile.gettempdir()
    while True:
        path = os.path.join(base, f"{prefix}{os.getpid()}-{next(_files)}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
            return path
        except FileExistsError:  # left by an earlier process with this pid: the next number
            continue


def run_test(case: TestCase, *, plan, timeout: float, env: dict, tmp_base: str | None) -> Outcome:
    if exec_mode(plan) == "fork":
        return run_forked(case, plan=plan, timeout=timeout, env=env, tmp_base=tmp_base)
    return run_exec(case, plan=plan, timeout=timeout, env=env, tmp_base=tmp_base)


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def run_forked(case: TestCase, *, plan, timeout: float, env: dict, tmp_base: str | None) -> Outcome:
    """The test as a child of its binary's fork server (started on first use, and again after it died)."""
    return Forked(case, plan=plan, timeout=timeout, env=env, tmp_base=tmp_base).ended().done


class Forked:
    """One test started as a child of an idle fork server of its binary; outcome() tells how it ended. Several
    run at once on servers of their own (runner/inflight.py)."""

    def __init__(self, case: TestCase, *, plan, timeout: float, env: dict, tmp_base: str | None,
                 target: targets.Target | None = None):
        """`target`: the plan's, when the caller has it already (targets.from_data(plan.target))."""
        self.case, self.timeout, self.env, self.tmp_base = case, timeout, env, tmp_base
        self.target = target or targets.from_data(plan.target)
        self.started_at = time.monotonic()
        self.ended_at: float | None = None
        self.files: list[str] = []
        self.server: forkserver.ForkServer | None = None
        self.attempt = 0
        self.done: Outcome | None = None
        self.cut: str | None = None  # "N" when the run's deadline (--deadline N) cut `timeout` short
        try:
            for prefix, suffix in (("result-", ".jsonl"), ("output-", ".txt")):
                path = _new_file(prefix, suffix, tmp_base)
                self.target.give(path)
                self.files.append(path)
            self._start()
        except BaseException:
            self._remove_files()
            raise

    def _start(self) -> None:
        result_file, output_file = self.files
        while self.done is None:
            self.attempt += 1
            self.server = forkserver.server_for(str(self.case.binary), self.target, self.env, self.tmp_base)
            try:
                self.server.start(self.case.name, output_file, {"IPCSUITE_RESULT_FILE": result_file}, self.timeout)
                return
            except forkserver.ServerGone as e:
                self._gone(e)

    def _gone(self, e: "forkserver.ServerGone") -> None:
        forkserver.forget(self.server)
        self.server = None
        # A server that ended while the test ran, or twice before it started: the test was not run to its end
        # by no fault of the system under test.
        if e.started or self.attempt >= 2:
            why = f"{e} while this test ran" if e.started else str(e)
            self._finish(Outcome(returncode=-signal.SIGKILL, output=_read_bytes(self.files[1]), record=None,
                                 error=why))

    def fileno(self) -> int:
        return self.server.fileno()

    def outcome(self, until: float | None) -> Outcome | None:
        """The outcome, waiting until `until` (time.monotonic(); None: until the test has ended) at the most;
        None when the test still runs then."""
        while self.done is None:
            try:
                child = self.server.result(until)
            except forkserver.ServerGone as e:
                self._gone(e)
                if self.done is None:
                    self._start()  # the server refused before the test started: once more, on a fresh one
                continue
            if child is None:
                return None
            output = _read_bytes(self.files[1])
            if child.timed_out:
                returncode = (os.waitstatus_to_exitcode(child.wait_status) if child.wait_status is not None
                              else -signal.SIGKILL)
                self._finish(Outcome(returncode=returncode, output=output, record=None, timed_out=True,
                                     where=child.where))
            else:
                self._finish(Outcome(returncode=os.waitstatus_to_exitcode(child.wait_status), output=output,
                                     record=read_record(self.files[0], self.case.name)))
        return self.done

    def ended(self) -> "Forked":
        """Waits until the test has ended (stopping it at its deadline); stopped when interrupted meanwhile."""
        try:
            self.outcome(None)
        except BaseException:
            self.cancel()
            raise
        return self

    def cancel(self) -> None:
        """Stops the test if it still runs (its server with it) and removes its files."""
        if self.done is None and self.server is not None:
            forkserver.forget(self.server)
            self.server = None
        self._remove_files()

    def _finish(self, outcome: Outcome) -> None:
        self.done, self.ended_at = outcome, time.monotonic()
        self._remove_files()

    def _remove_files(self) -> None:
        for path in self.files:
            try:
                os.unlink(path)
            except OSError:
                pass


def run_exec(case: TestCase, *, plan, timeout: float, env: dict, tmp_base: str | None) -> Outcome:
    """The test as an exec of its binary with --gtest_filter=<that test>."""
    target = targets.from_data(plan.target)
    result_file = _new_file("result-", ".jsonl", tmp_base)
    target.give(result_file)
    cmd = target.wrap([str(case.binary), f"--gtest_filter={case.name}", "--gtest_color=no"], tmp_base)
    try:
        # PR_SET_PDEATHSIG: the test process dies with its pytest worker, however the worker ends.
        kwargs = target.popen_kwargs()
        if "preexec_fn" not in kwargs:
            kwargs["preexec_fn"] = procinfo.set_pdeathsig
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=dict(env, IPCSUITE_RESULT_FILE=result_file),
                                start_new_session=True, **kwargs)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            where = procinfo.describe_tree(proc.pid)
            procinfo.kill_tree(proc.pid)
            output, _ = proc.communicate()
            return Outcome(returncode=proc.returncode, output=output, record=None, timed_out=True, where=where)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM, -x): the test process and its tree go too
            procinfo.kill_tree(proc.pid)
            proc.wait()
            raise
        record = read_record(result_file, case.name)
    finally:
        os.unlink(result_file)
    return Outcome(returncode=proc.returncode, output=output, record=record)
