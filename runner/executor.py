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

import json
import os
import signal
import subprocess
import tempfile
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
    if plan.preload:
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
    target = targets.from_data(plan.target)
    files: list[str] = []
    try:
        for prefix, suffix in (("result-", ".jsonl"), ("output-", ".txt")):
            fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=tmp_base)
            os.close(fd)
            target.give(Path(path))
            files.append(path)
        result_file, output_file = files
        child = None
        for attempt in (1, 2):
            server = forkserver.server_for(str(case.binary), target, env, tmp_base)
            try:
                child = server.run(case.name, output_file, {"IPCSUITE_RESULT_FILE": result_file}, timeout)
                break
            except forkserver.ServerGone as e:
                forkserver.forget(server)
                # A server that ended while the test ran, or twice before it started: the test was not run
                # to its end by no fault of the system under test.
                if e.started or attempt == 2:
                    why = f"{e} while this test ran" if e.started else str(e)
                    return Outcome(returncode=-signal.SIGKILL, output=_read_bytes(output_file), record=None,
                                   error=why)
        assert child is not None
        output = _read_bytes(output_file)
        if child.timed_out:
            returncode = (os.waitstatus_to_exitcode(child.wait_status) if child.wait_status is not None
                          else -signal.SIGKILL)
            return Outcome(returncode=returncode, output=output, record=None, timed_out=True, where=child.where)
        return Outcome(returncode=os.waitstatus_to_exitcode(child.wait_status), output=output,
                       record=read_record(result_file, case.name))
    finally:
        for path in files:
            try:
                os.unlink(path)
            except OSError:
                pass


def run_exec(case: TestCase, *, plan, timeout: float, env: dict, tmp_base: str | None) -> Outcome:
    """The test as an exec of its binary with --gtest_filter=<that test>."""
    target = targets.from_data(plan.target)
    fd, result_file = tempfile.mkstemp(prefix="result-", suffix=".jsonl", dir=tmp_base)
    os.close(fd)
    target.give(Path(result_file))
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
