"""The fork server (runner/forkserver.py, fixtures/main.cc --ipcsuite-serve) keeps each test in a fresh
process with its own deadline: a hang is killed at its deadline and the next test still runs, nothing a test
leaves behind reaches the next one, a crash is reported as with exec-per-test, a server that dies makes the
test it ran an `error` and the next test gets a new server, and servers die with their runner."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import executor, forkserver, procinfo, targets
from runner.catalogue import TestCase as Case
from runner.plan import Plan
from runner.tests.conftest import BUILD, ROOT, compile_lib

PROBE = BUILD / "probe" / "ipcsuite_probe"
SELFTEST = BUILD / "bin" / "fixtures_selftest"
HOST = targets.Target(name="host", kind="host", spec="host").to_data()


@pytest.fixture(autouse=True)
def _fresh_servers():
    forkserver.shutdown_all()
    yield
    forkserver.shutdown_all()


def plan(preload: str = "") -> Plan:
    return Plan(target=HOST, seed=1, test_timeout=60.0, preload=preload)


def case(name: str, binary: Path = PROBE) -> Case:
    assert binary.is_file(), f"{binary} was not built"
    return Case(binary=binary, area="probe", name=name, location="", rules=[])


def run(name: str, *, mode: str = "fork", timeout: float = 30.0, binary: Path = PROBE, env: dict | None = None,
        tmp_path: Path) -> executor.Outcome:
    p = plan()
    base = dict(executor.test_env(p, str(tmp_path)), **(env or {}))
    old = os.environ.get("IPCSUITE_EXEC_MODE")
    os.environ["IPCSUITE_EXEC_MODE"] = mode
    try:
        return executor.run_test(case(name, binary), plan=p, timeout=timeout, env=base, tmp_base=str(tmp_path))
    finally:
        if old is None:
            os.environ.pop("IPCSUITE_EXEC_MODE")
        else:
            os.environ["IPCSUITE_EXEC_MODE"] = old


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def wait_gone(pid: int, deadline_s: float = 10.0) -> bool:
    end = time.monotonic() + deadline_s
    while alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)  # polling /proc for an exit, with a deadline
    return True


def test_fork_is_the_default_and_exec_stays_selectable(monkeypatch):
    monkeypatch.delenv("IPCSUITE_EXEC_MODE", raising=False)
    assert executor.exec_mode(plan()) == "fork"
    monkeypatch.setenv("IPCSUITE_EXEC_MODE", "exec")
    assert executor.exec_mode(plan()) == "exec"
    monkeypatch.setenv("IPCSUITE_EXEC_MODE", "fork")
    assert executor.exec_mode(plan(preload="/x.so")) == "exec"  # an interposer would act in the server


def test_one_server_per_binary_runs_many_tests(tmp_path):
    for _ in range(3):
        out = run("Probe.Pass", tmp_path=tmp_path)
        assert out.returncode == 0 and out.record["status"] == "passed", out
    assert len(forkserver.servers()) == 1
    assert list(tmp_path.iterdir()) == [s.log for s in forkserver.servers()]  # result and output files are gone


def test_the_output_file_holds_the_test_output_only(tmp_path):
    # The child opens the runner's output file without O_TRUNC (on ext4 a truncated file is written out at
    # its close: a disk write per test); a file that is not empty is still emptied first.
    server = forkserver.ForkServer(str(PROBE), targets.Target(name="host", kind="host", spec="host"),
                                   executor.test_env(plan(), str(tmp_path)), str(tmp_path))
    try:
        for stale in ("", "stale output of an earlier user\n" * 500):
            output = tmp_path / "output"
            output.write_text(stale)
            done = server.run("Probe.Fail", str(output), {}, 30.0)
            assert done.wait_status is not None and os.waitstatus_to_exitcode(done.wait_status) == 1, done
            text = output.read_text()
            assert "stale" not in text and "probe failure" in text, text[-300:]
    finally:
        server.close()


def test_a_bad_or_overlong_request_is_answered_and_the_server_goes_on(tmp_path):
    # The server reads requests into a buffer of its own (1 MiB a line): what does not fit, or is not a run
    # request, gets an error line, and the next request runs.
    output = tmp_path / "output"
    output.touch()
    proc = subprocess.Popen([str(PROBE), "--ipcsuite-serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        good = f"run\tProbe.Pass\t{output}\tPROBE_VALUE=1\n".encode()
        answers = proc.communicate(b"walk\tProbe.Pass\n" + b"run\t" + b"x" * (2 << 20) + b"\n" + good,
                                   timeout=60)[0].decode().splitlines()
    finally:
        proc.kill()
        proc.wait()
    assert answers[:2] == ["error bad request", "error bad request (too long)"], answers
    assert len(answers) == 3 and answers[2].startswith("status ") and answers[2].endswith(" 0"), answers
    assert "[       OK ] Probe.Pass" in output.read_text()


def test_a_hang_is_killed_at_its_deadline_and_the_next_test_runs(tmp_path):
    started = time.monotonic()
    out = run("Probe.Hang", timeout=1.0, tmp_path=tmp_path)
    assert out.timed_out and out.record is None
    assert "pid " in out.where and "state S" in out.where, out.where
    assert time.monotonic() - started < 15
    [server] = forkserver.servers()
    out = run("Probe.Pass", tmp_path=tmp_path)
    assert out.record["status"] == "passed"
    assert forkserver.servers() == [server]  # the same server: only the test's tree was killed


def test_leftover_state_does_not_reach_the_next_test(tmp_path):
    # Each checks that signal disposition, mask, environment, static state and its SysV set are as new,
    # then leaves all of them behind.
    for name in ("Probe.LeaveStateA", "Probe.LeaveStateB", "Probe.LeaveStateA"):
        out = run(name, tmp_path=tmp_path)
        assert out.record and out.record["status"] == "passed", out.output.decode(errors="replace")
    assert len(forkserver.servers()) == 1


@pytest.mark.parametrize("mode", executor.MODES)
def test_a_crash_and_a_failure_are_reported_alike_in_both_modes(tmp_path, mode):
    out = run("Probe.Crash", mode=mode, tmp_path=tmp_path)
    assert out.record is None and out.returncode == -signal.SIGABRT and not out.error
    out = run("Probe.Fail", mode=mode, tmp_path=tmp_path)
    assert out.record["status"] == "failed" and out.returncode == 1
    assert b"probe failure" in out.output


def test_the_environment_reaches_the_test_and_only_it(tmp_path):
    out = run("Probe.PrintEnv", env={"PROBE_VALUE": "forty two"}, tmp_path=tmp_path)
    assert b"PROBE_VALUE=forty two" in out.output
    [server] = forkserver.servers()
    # The server's own LD_BIND_NOW does not reach the test.
    assert b"LD_BIND_NOW=" in Path(f"/proc/{server.proc.pid}/environ").read_bytes()
    assert b"LD_BIND_NOW=(unset)" in out.output


def test_a_server_that_dies_makes_the_running_test_an_error_and_the_next_test_gets_a_new_one(tmp_path):
    run("Probe.Pass", tmp_path=tmp_path)
    [first] = forkserver.servers()
    out = run("Probe.KillParent", timeout=20, tmp_path=tmp_path)
    assert out.error and "fork server" in out.error and "SIGKILL" in out.error, out
    assert not out.timed_out
    assert wait_gone(first.proc.pid)
    out = run("Probe.Pass", tmp_path=tmp_path)
    assert out.record["status"] == "passed" and not out.error
    [second] = forkserver.servers()
    assert second is not first


def test_a_server_that_died_between_tests_is_replaced_without_losing_the_test(tmp_path):
    run("Probe.Pass", tmp_path=tmp_path)
    [first] = forkserver.servers()
    first.proc.kill()
    first.proc.wait()
    out = run("Probe.Pass", tmp_path=tmp_path)
    assert out.record["status"] == "passed" and not out.error


def test_servers_shut_down_cleanly_and_die_with_their_runner(tmp_path):
    run("Probe.Pass", tmp_path=tmp_path)
    [server] = forkserver.servers()
    forkserver.shutdown_all()
    assert server.proc.returncode == 0  # ended by EOF on its stdin, not killed
    # A runner that is SIGKILLed leaves no server (PR_SET_PDEATHSIG) and no test child behind.
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from runner import forkserver, targets\n"
            "t = targets.Target(name='host', kind='host', spec='host')\n"
            "s = forkserver.server_for(%r, t, {'PATH': '/usr/bin:/bin'}, %r)\n"
            "s._send('run\\tProbe.Hang\\t%s/out.txt\\tIPCSUITE_RESULT_FILE=%s/r.jsonl')\n"
            "end, kids = time.monotonic() + 30, []\n"
            "while not kids and time.monotonic() < end:\n"
            "    kids = s.test_children() or time.sleep(0.02) or []\n"
            "print(s.proc.pid, *kids[:1], flush=True)\n"
            "time.sleep(600)\n") % (str(ROOT), str(PROBE), str(tmp_path), str(tmp_path), str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(x) for x in proc.stdout.readline().split()]
    assert len(pids) == 2, f"the server's test child was not found in 30 s: {pids}"
    server_pid, child_pid = pids
    assert alive(server_pid) and alive(child_pid)
    proc.kill()
    proc.wait()
    assert wait_gone(server_pid) and wait_gone(child_pid)


# Holds the forked test child in its first call (setsid), where it still has the server's request pipe as
# its stdin: the window between fork and redirecting stdin, made as long as the test needs.
HOLD_IN_SETSID = r"""
#include <unistd.h>
pid_t setsid(void) { for (;;) pause(); }
"""


def test_a_child_just_forked_is_found_while_it_still_holds_the_request_pipe(tmp_path):
    lib = compile_lib(tmp_path, "hold", HOLD_IN_SETSID)
    server = forkserver.ForkServer(str(PROBE), targets.Target(name="host", kind="host", spec="host"),
                                   {"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(lib)}, str(tmp_path))
    try:
        server.start("Probe.Pass", str(tmp_path / "out.txt"), {}, 30.0)
        end = time.monotonic() + 30
        while not procinfo.children_of(server.proc.pid):
            assert time.monotonic() < end, "the server forked no child"
            time.sleep(0.01)  # polling /proc for the child, with a deadline
        [child] = procinfo.children_of(server.proc.pid)
        assert os.readlink(f"/proc/{child}/fd/0") == f"pipe:[{os.fstat(server.proc.stdin.fileno()).st_ino}]"
        assert server.test_children() == [child]
    finally:
        server.kill()
    assert wait_gone(child)


def test_infrastructure_failures_are_typed_in_the_record(tmp_path):
    env = {"IPCSUITE_SELFTEST_LET_INFRASTRUCTURE_FAILURES_THROUGH": "1"}
    out = run("InfrastructureTypedSelfTest.ResourceErrnoFailuresAreMarked", binary=SELFTEST, env=env,
              tmp_path=tmp_path)
    rec = out.record
    assert rec["status"] == "failed" and rec["infrastructure"] is True, rec
    [part] = [p for p in rec["parts"] if p["kind"] == "failure"]
    assert part["infrastructure"] is True and "[infrastructure] " in part["message"]  # the text stays too
    out = run("InfrastructureTypedSelfTest.ChildFailuresKeepTheirKindInTheParent", binary=SELFTEST, env=env,
              tmp_path=tmp_path)
    assert out.record["infrastructure"] is True
    assert [p["infrastructure"] for p in out.record["parts"] if p["kind"] == "failure"][0] is True
    out = run("InfrastructureTypedSelfTest.OtherFailuresAreNotMarked", binary=SELFTEST, env=env,
              tmp_path=tmp_path)
    assert out.record["status"] == "failed" and out.record["infrastructure"] is False
    assert all(p["infrastructure"] is False for p in out.record["parts"] if p["kind"] == "failure")
