"""An interrupted run (Ctrl-C, SIGTERM) keeps the verdicts it reached: results.json and every report, marked
`interrupted`, the test that was running and those not run as errors that say so, exit 130 or 143;
results/latest names only runs with a results.json; nothing is left behind (no test process, no temporary
directory of the run or of pytest). --repeat keeps the flake report of the repeats that finished.

The run is interrupted while one test is surely running: a preloaded library blocks that test's process in
its constructor after creating a marker file, and the signal is sent once the marker is there.
"""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runner import procinfo, run_cmd, targets
from runner import plan as plan_mod
from runner.catalogue import TestCase as Case
from runner.tests.conftest import BUILD, ROOT
from runner.tests.test_forkserver import PROBE
from runner.tests.test_preload_probe import compile_lib

# Whether this process runs the test $HANG_TEST (its --gtest_filter); for interposers' constructors.
IN_HANG_TEST = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int in_hang_test(void) {
  const char *test = getenv("HANG_TEST");
  char buf[4096] = {0}, want[512];
  if (!test) return 0;
  snprintf(want, sizeof want, "--gtest_filter=%s", test);
  FILE *f = fopen("/proc/self/cmdline", "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
    if (strcmp(buf + i, want) == 0) return 1;
  return 0;
}
"""
HANG = IN_HANG_TEST + r"""
/* In the process of the test $HANG_TEST: writes its pid to $HANG_MARK and blocks. With $HANG_SKIP, the first
   such process only creates that file and goes on (a later repeat blocks). */
__attribute__((constructor)) static void c(void) {
  const char *mark = getenv("HANG_MARK"), *skip = getenv("HANG_SKIP");
  if (!mark || !in_hang_test()) return;
  if (skip && access(skip, F_OK) != 0) { close(open(skip, O_WRONLY | O_CREAT, 0600)); return; }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (write(fd, pid, len) != len) abort();
  close(fd);
  for (;;) pause();
}
"""
FILTER = "pipe/PipeProcFd.*,pipe/PipeFs.*,pipe/PipeTee.*"
HANG_TEST = "PipeFs.FtruncateOnEitherEndFailsWithEinval"


def start_run(tmp_path: Path, lib: Path, *extra: str, skip: bool = False) -> tuple[subprocess.Popen, dict]:
    tmp_root = tmp_path / "tmp"  # the run's $TMPDIR: whatever the run leaves there is a leak
    tmp_root.mkdir()
    env = dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD), TMPDIR=str(tmp_root), HANG_TEST=HANG_TEST,
               HANG_MARK=str(tmp_path / "mark"))
    env.pop("LD_PRELOAD", None)
    if skip:
        env["HANG_SKIP"] = str(tmp_path / "skip")
    proc = subprocess.Popen([str(ROOT / "ipcsuite"), "run", "--no-build", "-j", "1", "--filter", FILTER,
                             "--results-dir", str(tmp_path / "results"), "--preload", str(lib), *extra],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, env


def wait_for_mark(proc, mark: Path) -> int:
    end = time.monotonic() + 120
    while not (mark.exists() and mark.read_text().endswith("\n")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the blocking test did not start"
        time.sleep(0.05)  # polling for the marker file, with a deadline
    return int(mark.read_text())


def gone(pid: int, name: str) -> bool:
    try:
        return name.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


@pytest.fixture
def hang_lib(tmp_path):
    return compile_lib(tmp_path, "hang", HANG)


@pytest.mark.parametrize("sig,code,name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_an_interrupted_run_keeps_the_verdicts_reached(tmp_path, hang_lib, sig, code, name):
    proc, _env = start_run(tmp_path, hang_lib)
    pid = wait_for_mark(proc, tmp_path / "mark")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err + out and "KeyboardInterrupt" not in err + out, err + out
    message = f"the run was interrupted ({name})"
    assert err.splitlines()[0].startswith(f"ipcsuite: {message}: the verdicts of the 7 tests that finished are in "), err
    latest = tmp_path / "results" / "latest"
    doc = json.loads((latest / "results.json").read_text())
    assert doc["interrupted"] == {"by": name, "message": message, "not_run": 4, "stopped": 1}
    status = {t["id"]: (t["status"], t["message"]) for t in doc["tests"]}
    assert len(status) == 12
    assert status[f"pipe/{HANG_TEST}"] == ("error", message + " while this test ran")
    assert [s for s in status.values() if s[0] == "passed"].__len__() == 7
    assert sorted(t for t, s in status.items() if s[1] == message + " before this test ran") == sorted(
        t for t in status if t.startswith("pipe/PipeTee."))
    assert f'name="interrupted" value="{message}; 4 tests not run"' in (latest / "junit.xml").read_text()
    assert "gate: INTERRUPTED" in (latest / "report.html").read_text()
    assert "gate: passed" not in (latest / "report.html").read_text()
    ktap = (latest / "results.ktap").read_text().splitlines()
    assert f"# ipcsuite: interrupted: {message} (1 tests stopped while running, 4 not run)" in ktap[:4], ktap[:4]
    assert ktap[-2:] == [f"Bail out! {message}", "# Totals: pass:7 fail:0 xfail:0 xpass:0 skip:0 error:5"], ktap
    kirk = json.loads((latest / "results.kirk.json").read_text())
    assert kirk["interrupted"] == {"by": name, "message": message, "stopped": 1, "not_run": 4}
    assert kirk["environment"]["interrupted"] == f"{message} (1 tests stopped while running, 4 not run)"
    # nothing left: the blocked test process, the run's and pytest's temporary directories
    assert gone(pid, HANG_TEST)
    assert list((tmp_path / "tmp").iterdir()) == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_the_tests_that_ended_ahead_of_the_interrupted_one_keep_their_verdicts(tmp_path):
    """Fork mode, two at once (runner/inflight.py): a hung test holds one slot while the others run past it in
    the second; interrupted while pytest waits for the hung one, the tests that had ended get their verdicts
    (passed), not "not run"; the hung one is an error."""
    assert PROBE.is_file(), f"{PROBE} was not built"
    shorts = tmp_path / "probe-shorts"  # a binary of their own: its servers go once its last test has ended
    shutil.copy(PROBE, shorts)
    cases = [Case(binary=PROBE, area="probe", name="Probe.Hang", location="", rules=[])] + [
        Case(binary=shorts, area="shorts", name=f"ShortProbe/Many.Pass/{k}", location="", rules=[])
        for k in range(100)]
    plan = plan_mod.write_plan(tmp_path / "plan.json", target=targets.parse("host").to_data(), seed=1,
                               test_timeout=120.0, tests=cases, in_flight=2)
    (tmp_path / "run").mkdir()
    results = tmp_path / "results.json"
    cmd = run_cmd.pytest_command(plan, results, tmp_path / "pytest", jobs=1, tracebacks=False) + [str(plan)]
    env = dict(os.environ, IPCSUITE_EXEC_MODE="fork", IPCSUITE_BUILD_DIR=str(BUILD), PYTHONPATH=str(ROOT),
               IPCSUITE_RUN_TMPDIR=str(tmp_path / "run"))
    for k in ("LD_PRELOAD", "IPCSUITE_RUN_PLANNED"):
        env.pop(k, None)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        seen, end = False, time.monotonic() + 120
        while True:  # until the shorts' fork servers have come and gone: all their tests have ended
            serving = any(str(shorts).encode() in _cmdline(p) for p in procinfo.tree(proc.pid))
            if serving:
                seen = True
            elif seen:
                break
            assert proc.poll() is None, proc.communicate()[0][-2000:]
            assert time.monotonic() < end, "the short tests did not all end"
            time.sleep(0.01)  # polling the process tree, with a deadline
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    doc = json.loads(results.read_text())
    status = {t["id"]: t["status"] for t in doc["tests"]}
    assert status.pop("probe/Probe.Hang") == "error", out[-2000:]
    assert status == {c.id: "passed" for c in cases[1:]}, out[-2000:]
    assert list((tmp_path / "run").iterdir()) == [], "files of the run were left"


def test_repeat_interrupted_keeps_the_flake_report_of_the_repeats_that_finished(tmp_path, hang_lib):
    proc, _env = start_run(tmp_path, hang_lib, "--repeat", "3", skip=True)
    wait_for_mark(proc, tmp_path / "mark")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "flake report of the 1 repeats that finished" in out
    results = tmp_path / "results"
    reports = list(results.glob("flakes-*.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text())["repeats"] == 1
    runs = [d for d in results.iterdir() if d.is_dir() and not d.is_symlink()]
    assert len(runs) == 2 and all((d / "results.json").exists() for d in runs)
    # latest names the last repeat, the interrupted one (run ids of the same second do not sort by time)
    [last] = [d for d in runs if "interrupted" in json.loads((d / "results.json").read_text())]
    assert os.readlink(results / "latest") == last.name


def test_latest_never_names_a_run_without_results(tmp_path):
    """A run that ends in a set-up error inside the run loop (pytest could not write its results) cleans its
    temporary directory and leaves results/latest at the last run with results."""
    results, tmp_root = tmp_path / "results", tmp_path / "tmp"
    tmp_root.mkdir()
    env = dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD), TMPDIR=str(tmp_root))
    env.pop("LD_PRELOAD", None)
    cmd = [str(ROOT / "ipcsuite"), "run", "--no-build", "--filter", "pipe/PipeFs.*", "--results-dir", str(results)]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    good = os.readlink(results / "latest")
    # pytest refuses its options (an unknown one from PYTEST_ADDOPTS): it exits without writing the target's
    # results, which the runner finds inside its run loop.
    second = subprocess.run(cmd, cwd=ROOT, env=dict(env, PYTEST_ADDOPTS="--ipcsuite-no-such-option"),
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 2, second.stderr
    assert "without writing" in second.stderr.strip().splitlines()[-1], second.stderr
    assert "Traceback" not in second.stderr
    assert os.readlink(results / "latest") == good
    assert (results / good / "results.json").exists()
    assert list(tmp_root.iterdir()) == [], "the run's temporary directory was left behind"


FAIL_FIRST = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* The process of test $FAIL_TEST aborts at once; every other test process blocks in its constructor. */
__attribute__((constructor)) static void c(void) {
  char buf[4096] = {0}, want[512];
  const char *t = getenv("FAIL_TEST");
  if (!t) return;
  snprintf(want, sizeof want, "--gtest_filter=%s", t);
  FILE *f = fopen("/proc/self/cmdline", "r");
  if (!f) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  int filtered = 0;
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
    if (strcmp(buf + i, want) == 0) abort();
    if (strncmp(buf + i, "--gtest_filter", 14) == 0) filtered = 1;
  }
  if (filtered) for (;;) pause();
}
"""


def test_exitfirst_with_two_jobs_says_why_the_other_workers_test_has_no_verdict(tmp_path, run_suite):
    """-x -j 2: the first test fails at once on one worker while the other worker's first test is running
    (blocked); that one is an error that says the run stopped at the first failure, not an empty message."""
    lib = compile_lib(tmp_path, "fail_first", FAIL_FIRST)
    r = run_suite("-x", "-j", "2", "--filter", "pipe/PipeEnds.*", "--preload", str(lib), "--test-timeout", "10",
                  env={"IPCSUITE_BUILD_DIR": str(BUILD), "FAIL_TEST": "PipeEnds.DataWrittenToWriteEndIsReadFromReadEnd"})
    assert r.returncode == 1, r.stderr
    assert all(t["message"] for t in r.doc["tests"]), [t for t in r.doc["tests"] if not t["message"]]
    stopped = [t for t in r.doc["tests"] if t["message"].startswith("not finished: the run stopped at the first "
                                                                    "failure (-x")]
    assert len(stopped) == 1 and stopped[0]["status"] == "error", r.doc["tests"]
