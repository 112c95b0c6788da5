"""Nothing survives a run: not after a normal run, not after the runner is SIGKILLed halfway."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from runner import forkserver
from runner.tests.conftest import BUILD, ROOT, constructor_lib, preload_lib


def sysv_objects() -> set:
    out = set()
    for kind in ("sem", "shm", "msg"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        out |= {(kind, line.split()[1]) for line in lines if line.strip()}
    return out


def new_sysv_objects(before: set, settle_s: float = 30.0) -> set:
    """The SysV objects of this namespace that did not exist at `before` and stay.

    Other self-tests run in parallel (xdist) and some create objects in this namespace for the length of
    one of their tests (unprivileged runs, runs without an IPC namespace, the fault programs): those come
    and go, a leak stays. So the new objects are watched until none of them has outlived the others'
    churn: an object counts only if it is still there at every look, until `settle_s` has passed (ids
    carry a sequence number, so a gone object's id does not come back meanwhile)."""
    stay = sysv_objects() - before
    end = time.monotonic() + settle_s
    pause = 0.05
    while stay and time.monotonic() < end:
        time.sleep(pause)  # polling observable state with a deadline, not synchronising on time
        pause = min(pause * 2, 1.0)
        stay &= sysv_objects()
    return stay


def descendants(pid: int) -> set:
    """The processes below `pid`, less this process's idle fork servers (runner/forkserver.py: they serve the
    suite's tests of the same pytest session and end with it)."""
    servers = {s.proc.pid for s in forkserver.servers()}
    kids = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            if c in servers:
                continue
            out.add(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rfind(")") + 2] != "Z"


def is_test_binary(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe").startswith(str(BUILD / "bin"))
    except OSError:
        return False


def wait_for(cond, deadline_s: float, what: str):
    end = time.monotonic() + deadline_s
    pause = 0.01
    while not cond():
        assert time.monotonic() < end, f"timed out after {deadline_s} s waiting for {what}"
        time.sleep(pause)  # polling the observable state with a deadline, not synchronising on time
        pause = min(pause * 2, 0.2)


@pytest.fixture
def tmp_root():
    """A directory to hold the runs' temporary directories; searchable by the unprivileged test users
    (pytest's own tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="ipcsuite-selftest-"))
    d.chmod(0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_normal_run_leaves_no_temp_dir_and_no_sysv_object(run_suite, tmp_root):
    before = sysv_objects()
    r = run_suite("--filter", "fifo/*,pipe/*", env={"IPCSUITE_TMP_ROOT": str(tmp_root)})
    assert r.returncode == 0, r.stdout[-3000:]
    assert list(tmp_root.iterdir()) == []
    assert not new_sysv_objects(before)


def run_env(tmp_root: Path) -> dict:
    """The environment of a ./ipcsuite run whose temporary directories go to `tmp_root`, without LD_PRELOAD."""
    env = dict(os.environ, IPCSUITE_TMP_ROOT=str(tmp_root))
    env.pop("LD_PRELOAD", None)
    return env


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def run_in_flight(pid: int, tmp_root: Path) -> bool:
    """A test process below the runner `pid`, and the run's temporary directory (made after the --preload
    probe, whose process also runs a test binary, is gone)."""
    return (any("-preload-probe-" not in d.name for d in tmp_root.glob("ipcsuite-run-*"))
            and any(is_test_binary(p) for p in descendants(pid)))


def sigkill_run(args: list, env: dict, ready, what: str, check=None) -> None:
    """Starts `./ipcsuite run --no-build ARGS`, SIGKILLs it once ready(its pid) holds, then waits for every
    process of it to die; check(its processes) runs just before the kill."""
    runner = subprocess.Popen([str(ROOT / "ipcsuite"), "run", "--no-build", *args], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for(lambda: ready(runner.pid), 60, what)
        tree = descendants(runner.pid)
        if check:
            check(tree)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        wait_for(lambda: not any(alive(p) for p in tree), 30,
                 "every process of the killed run to die: " + ", ".join(f"{p} {comm(p)}" for p in tree if alive(p)))
    finally:
        if runner.poll() is None:
            runner.kill()


def next_run_removes(tmp_path: Path, env: dict, leftovers: list, filt: str = "pipe/PipeEof*") -> None:
    """Runs the suite once more; asserts it passes, says it removed each of `leftovers` and leaves the tmp root
    (env's IPCSUITE_TMP_ROOT) empty."""
    assert leftovers, "the killed run should have left a temporary directory for the next run to remove"
    nxt = subprocess.run([str(ROOT / "ipcsuite"), "run", "--no-build", "--results-dir", str(tmp_path / "next"),
                          "--filter", filt], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert nxt.returncode == 0, nxt.stdout[-3000:]
    for d in leftovers:
        assert f"removed leftovers of an earlier run: {d}" in nxt.stderr
        assert not d.exists()
    assert list(Path(env["IPCSUITE_TMP_ROOT"]).iterdir()) == []


def test_sigkilled_runner_leaves_no_process_and_next_run_removes_its_files(tmp_path, tmp_root):
    env = run_env(tmp_root)
    before = sysv_objects()
    # Every read of a pipe or FIFO hangs, so test processes are guaranteed to be in flight. They keep their
    # FIFOs and temporary files inside the run's directory ($TMPDIR).
    sigkill_run(["--results-dir", str(tmp_path / "results"), "--preload", str(preload_lib("break_hang_read")),
                 "--filter", "fifo/*,pipe/*", "--test-timeout", "60"], env,
                lambda pid: run_in_flight(pid, tmp_root), "a test process of the run")
    assert not new_sysv_objects(before)
    next_run_removes(tmp_path, env, list(tmp_root.glob("ipcsuite-run-*")), "pipe/*")


@pytest.mark.skipif(shutil.which("stress-ng") is None, reason="stress-ng is not installed (./ipcsuite run --load "
                    "installs it as root)")
def test_load_runs_repeats_under_stress_ng_and_a_sigkilled_loaded_run_leaves_nothing(tmp_path, tmp_root):
    env = run_env(tmp_root)
    ok = subprocess.run([str(ROOT / "ipcsuite"), "run", "--no-build", "--load", "--repeat", "2", "--results-dir",
                         str(tmp_path / "r1"), "--filter", "pipe/PipeEof*"], cwd=ROOT, env=env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        timeout=300)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    assert "ipcsuite: load: stress-ng --cpu" in ok.stderr
    assert "flake report: 2 runs" in ok.stdout and "0 changed verdict" in ok.stdout
    assert list(tmp_root.iterdir()) == []

    # Killed while loaded and while tests hang: stress-ng and its workers die with the runner.
    def loaded(tree):
        assert any(comm(p).startswith("stress-ng") for p in tree), [comm(p) for p in tree]
    sigkill_run(["--load", "--results-dir", str(tmp_path / "r2"), "--preload", str(preload_lib("break_hang_read")),
                 "--filter", "pipe/*", "--test-timeout", "60"], env, lambda pid: run_in_flight(pid, tmp_root),
                "a test process of the run", check=loaded)
    leftovers = list(tmp_root.glob("ipcsuite-run-*"))
    assert any("-load-" in d.name for d in leftovers), leftovers  # the load's scratch directory
    next_run_removes(tmp_path, env, leftovers)


def test_a_run_sigkilled_in_its_preload_probe_leaves_nothing_the_next_run_does_not_remove(tmp_path, tmp_root):
    # Blocks in its constructor in the --preload probe (--gtest_list_tests): the run is killed there.
    lib = constructor_lib(tmp_path, "hang_in_probe", "--gtest_list_tests", "pause();")
    env = run_env(tmp_root)
    sigkill_run(["--results-dir", str(tmp_path / "r1"), "--preload", str(lib), "--filter", "pipe/PipeEof*"], env,
                lambda pid: any(is_test_binary(p) for p in descendants(pid)), "the preload probe")
    probe_dirs = list(tmp_root.glob("ipcsuite-run-*-preload-probe-*"))
    assert probe_dirs, list(tmp_root.iterdir())  # under the run's tmp root, named for the next run's sweep
    next_run_removes(tmp_path, env, probe_dirs)


@pytest.mark.skipif(shutil.which("ipcmk") is None, reason="needs ipcmk and ipcrm (util-linux)")
def test_new_sysv_objects_sees_a_leak_and_ignores_objects_that_come_and_go():
    before = sysv_objects()
    made = subprocess.run(["ipcmk", "-S", "1"], stdout=subprocess.PIPE, text=True, check=True).stdout
    semid = made.split()[-1]
    try:
        # An object that stays is a leak...
        assert ("sem", semid) in new_sysv_objects(before, settle_s=0.5)
        # ...one that another test removes meanwhile is not.
        remover = subprocess.Popen(["sh", "-c", f"sleep 0.2; ipcrm -s {semid}"])
        assert not new_sysv_objects(before, settle_s=10)
        remover.wait()
    finally:
        subprocess.run(["ipcrm", "-s", semid], stderr=subprocess.DEVNULL, check=False)


def test_leftover_sweep_knows_a_reused_pid_from_the_runner(tmp_root, monkeypatch):
    from runner import workspace
    monkeypatch.setenv("IPCSUITE_TMP_ROOT", str(tmp_root))
    # pid 1 is alive. A directory it "owns" with its real start time is a live run's: kept. The same pid
    # with another start time is a dead runner whose pid now belongs to someone else: removed.
    live = tmp_root / f"{workspace.PREFIX}1-live-x"
    reused = tmp_root / f"{workspace.PREFIX}1-reused-x"
    for d in (live, reused):
        d.mkdir()
    (live / workspace.OWNER_FILE).write_text(f"1 {workspace._start_time(1)}\n")
    (reused / workspace.OWNER_FILE).write_text("1 999999999999\n")  # not when pid 1 started
    assert workspace._start_time(1) not in ("", "999999999999")
    assert workspace.sweep_leftovers() == [str(reused)]
    assert live.exists() and not reused.exists()


def test_leftover_sweep_leaves_runs_of_other_pid_namespaces_and_fresh_directories(tmp_root, monkeypatch):
    """A runner in another PID namespace (a container, a sandbox, a self-test in a namespace of its own) shares
    /tmp, but its pid means nothing here: its directory is not a leftover, whatever that pid is here. Nor is
    a directory without an owner record yet (being created)."""
    from runner import workspace
    monkeypatch.setenv("IPCSUITE_TMP_ROOT", str(tmp_root))
    dead = 4194304 + 1  # above pid_max's ceiling: no process has it
    other_ns = tmp_root / f"{workspace.PREFIX}{dead}-other-x"
    fresh = tmp_root / f"{workspace.PREFIX}{dead}-fresh-x"
    gone = tmp_root / f"{workspace.PREFIX}{dead}-gone-x"
    for d in (other_ns, fresh, gone):
        d.mkdir()
    (other_ns / workspace.OWNER_FILE).write_text(f"{dead} 12345 1\n")  # inode 1: not this namespace
    (gone / workspace.OWNER_FILE).write_text(f"{dead} 12345 {workspace._pid_namespace()}\n")
    assert workspace._pid_namespace() not in ("", "1")
    assert workspace.sweep_leftovers() == [str(gone)]
    assert other_ns.exists() and fresh.exists()
    old = time.time() - 2 * workspace.UNMARKED_GRACE_S
    os.utime(fresh, (old, old))  # an unmarked directory that stayed: an older run's leftover
    assert workspace.sweep_leftovers() == [str(fresh)]


def test_sigterm_stops_the_run_cleanly_with_exit_143(tmp_path, tmp_root):
    """SIGTERM (what CI cancellation, timeout(1) and systemd send) takes Ctrl-C's path: the tests are
    stopped, the run's temporary directory removed, exit 143."""
    env = run_env(tmp_root)
    cmd = [str(ROOT / "ipcsuite"), "run", "--no-build", "--results-dir", str(tmp_path / "results"),
           "--preload", str(preload_lib("break_hang_read")), "--filter", "fifo/*,pipe/*", "--test-timeout", "60"]
    runner = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(lambda: any(is_test_binary(p) for p in descendants(runner.pid)), 60, "a test process of the run")
        tree = descendants(runner.pid)
        os.kill(runner.pid, signal.SIGTERM)
        out, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    assert runner.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "terminated (SIGTERM)" in err
    wait_for(lambda: not any(alive(p) for p in tree), 15,
             "every process of the run to die: " + ", ".join(str(p) for p in tree if alive(p)))
    assert list(tmp_root.iterdir()) == [], "the run's temporary directory is removed"
