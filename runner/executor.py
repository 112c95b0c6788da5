"""How one test process runs: run_test() starts the binary for one test and returns what happened.

The plugin (runner/plugin.py) decides the verdict from the Outcome; this module only runs the process:
the binary with --gtest_filter=<that test> in its own process group (wrapped by the plan's target), with a
deadline, and reads the test's record from $IPCSUITE_RESULT_FILE (status, skip reason, failures).
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner import procinfo, targets, workspace
from runner.catalogue import TestCase


@dataclass
class Outcome:
    returncode: int            # as subprocess gives it (negative: killed by that signal)
    output: bytes              # stdout and stderr of the test process
    record: dict | None        # the test's record from $IPCSUITE_RESULT_FILE (None: it wrote none)
    timed_out: bool = False
    where: str = ""            # procinfo.describe_tree at the timeout, "" otherwise


def test_env(plan, tmp_base: str | None) -> dict:
    """The environment of the plan's test processes (without $IPCSUITE_RESULT_FILE, which run_test adds)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in ("GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_SHARD_STATUS_FILE"):
        env.pop(k, None)  # sharding is the runner's (--shard): each process runs exactly its one test
    if plan.preload:
        env["LD_PRELOAD"] = plan.preload
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
    target = targets.from_data(plan.target)
    fd, result_file = tempfile.mkstemp(prefix="result-", suffix=".jsonl", dir=tmp_base)
    os.close(fd)
    target.give(Path(result_file))
    cmd = target.wrap([str(case.binary), f"--gtest_filter={case.name}", "--gtest_color=no"], tmp_base)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=dict(env, IPCSUITE_RESULT_FILE=result_file),
                                start_new_session=True, **target.popen_kwargs())
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            where = procinfo.describe_tree(proc.pid)
            procinfo.kill_tree(proc.pid)
            output, _ = proc.communicate()
            return Outcome(returncode=proc.returncode, output=output, record=None, timed_out=True, where=where)
        record = read_record(result_file, case.name)
    finally:
        os.unlink(result_file)
    return Outcome(returncode=proc.returncode, output=output, record=record)
