"""Nothing outlives a SIGKILLed runner: the descendants of `ipcsuite inject` however they were started
(posix_spawn and vfork give them no death signal of their own), and the build's cmake, ninja and compilers
(each command in a process group of ninja's). runner/guard.py, a child subreaper, kills them all.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import procinfo
from runner.tests.conftest import BUILD, ROOT
from runner.tests.test_interrupt import HANG_TEST, IN_HANG_TEST

PY = "/usr/bin/python3"


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], seconds: float = 30) -> list[int]:
    end = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.02)  # polling for the processes to end, with a deadline
    return [p for p in pids if alive(p)]


# Each program starts a long-lived grandchild in its own way and prints its pid.
SPAWNERS = {
    "python subprocess (vfork)": [PY, "-c", "import subprocess, sys\n"
                                  "p = subprocess.Popen(['sleep', '600'])\nprint(p.pid, flush=True)\np.wait()"],
    "posix_spawn": [PY, "-c", "import os\npid = os.posix_spawn('/bin/sleep', ['sleep', '600'], os.environ)\n"
                    "print(pid, flush=True)\nos.waitpid(pid, 0)"],
    "dash background job": ["/bin/sh", "-c", "sleep 600 & echo $!; wait"],
}


@pytest.mark.parametrize("name", list(SPAWNERS))
def test_a_sigkilled_inject_takes_every_descendant_with_it(name):
    env = dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD))
    env.pop("LD_PRELOAD", None)
    runner = subprocess.Popen([str(ROOT / "ipcsuite"), "inject", "--fail", "semop=EIDRM@1000", "--",
                               *SPAWNERS[name]], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    grandchild = None
    try:
        grandchild = int(runner.stdout.readline())
        assert alive(grandchild)
        runner.kill()  # SIGKILL: the runner cannot clean up itself
        runner.wait(timeout=30)
        assert wait_gone([grandchild]) == [], f"{name}: the program's child outlived the SIGKILLed runner"
    finally:
        runner.kill()
        runner.wait()
        if grandchild is not None and alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_guard_kills_what_the_command_left_running_and_passes_its_status(tmp_path):
    out = subprocess.run([PY, "-S", str(ROOT / "runner" / "guard.py"), "--parent", str(os.getpid()), "--",
                          "/bin/sh", "-c", "sleep 600 & echo $!; exit 7"], capture_output=True, text=True,
                         timeout=60, preexec_fn=None)
    assert out.returncode == 7, out.stderr
    assert wait_gone([int(out.stdout)]) == []
    killed = subprocess.run([PY, "-S", str(ROOT / "runner" / "guard.py"), "--parent", str(os.getpid()), "--",
                             "/bin/sh", "-c", "kill -TERM $$"], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 128 + signal.SIGTERM


def test_a_sigkilled_runner_leaves_no_build_process(tmp_path):
    src, b = tmp_path / "src", tmp_path / "b"
    src.mkdir()
    # One build step that runs until it is killed: the build is surely in flight when the runner dies.
    (src / "step.sh").write_text(f"echo $$ > {b}/step.tmp && mv {b}/step.tmp {b}/step\nexec sleep 600\n")
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.25)\nproject(p NONE)\n"
        "add_custom_target(forever ALL COMMAND sh ${CMAKE_SOURCE_DIR}/step.sh)\n")
    subprocess.run(["cmake", "-S", str(src), "-B", str(b), "-G", "Ninja"], check=True, stdout=subprocess.DEVNULL,
                   timeout=120)
    code = ("import sys; from runner import build\n"
            f"build._run_with_progress(['cmake', '--build', {str(b)!r}], open('/dev/null', 'w'), sys.stderr)")
    runner = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    step = None
    try:
        end = time.monotonic() + 60
        while not (b / "step").exists():
            assert time.monotonic() < end and runner.poll() is None, "the build step did not start"
            time.sleep(0.05)  # polling for the step's file, with a deadline
        step = int((b / "step").read_text())
        runner.kill()
        runner.wait(timeout=30)
        assert wait_gone([step]) == [], "a build step outlived the SIGKILLed runner"
        left = subprocess.run(["pgrep", "-f", f"{b}"], capture_output=True, text=True).stdout.split()
        assert wait_gone([int(p) for p in left]) == [], "cmake or ninja outlived the SIGKILLed runner"
    finally:
        runner.kill()
        runner.wait()
        if step is not None and alive(step):
            os.kill(step, signal.SIGKILL)


SPAWN_AND_BLOCK = IN_HANG_TEST + r"""
#include <spawn.h>
#include <sys/wait.h>
extern char **environ;
/* In the process of test $HANG_TEST: a helper of its own (fork) takes a session of its own, posix_spawns
   `sleep 600` (no death signal) and ends, so that the sleep is an orphan outside the test's process group and
   tree, as a daemonised helper is; the helper writes "<sleep's pid> <IPCSUITE_RUN_ID>" to $HANG_MARK; the test
   process blocks. */
__attribute__((constructor)) static void c(void) {
  const char *mark = getenv("HANG_MARK"), *run = getenv("IPCSUITE_RUN_ID");
  if (!mark || !in_hang_test()) return;
  pid_t helper = fork();
  if (helper < 0) abort();
  if (helper == 0) {
    pid_t pid;
    char *argv[] = {"sleep", "600", NULL};
    if (setsid() < 0 || posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ) != 0) _exit(1);
    char text[256], tmp[4200];
    int len = snprintf(text, sizeof text, "%d %s\n", (int)pid, run ? run : "-");
    snprintf(tmp, sizeof tmp, "%s.tmp", mark);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, len) != len || close(fd) != 0 || rename(tmp, mark) != 0) _exit(1);
    _exit(0);
  }
  waitpid(helper, NULL, 0);
  for (;;) pause();
}
"""


def start_blocking_run(lib: Path, mark: Path, results: Path, prefix=(), env=None):
    """./ipcsuite run whose test HANG_TEST posix_spawns a sleep and blocks; returns (runner, sleep's pid,
    run id) once the sleep runs."""
    full = dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD), HANG_TEST=HANG_TEST, HANG_MARK=str(mark),
                **(env or {}))
    full.pop("LD_PRELOAD", None)
    runner = subprocess.Popen([*prefix, str(ROOT / "ipcsuite"), "run", "--no-build", "-j", "2", "--filter",
                               "pipe/PipeFs.*", "--results-dir", str(results), "--preload", str(lib)], cwd=ROOT,
                              env=full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 120
    while not mark.exists():
        if time.monotonic() > end or runner.poll() is not None:
            runner.kill()
            _, err = runner.communicate()
            pytest.fail(f"the blocking test did not start: {err[-2000:]}")
        time.sleep(0.05)  # polling for the marker file (written by rename), with a deadline
    pid, run_id = mark.read_text().split()
    return runner, int(pid), run_id


def test_a_sigkilled_run_takes_every_process_of_the_run_with_it(tmp_path):
    # A test's posix_spawn'd helper, orphaned in a session of its own, has no death signal and is in no
    # process group or tree the runner knows: it outlived a SIGKILLed ./ipcsuite run until pytest ran under
    # the guard (a subreaper: the orphan became the guard's child).
    from runner.tests.test_preload_probe import compile_lib
    lib = compile_lib(tmp_path, "spawn_and_block", SPAWN_AND_BLOCK)
    runner, spawned, run_id = start_blocking_run(lib, tmp_path / "mark", tmp_path / "r")
    try:
        assert alive(spawned)
        of_run = procinfo.with_environment(f"IPCSUITE_RUN_ID={run_id}")
        assert spawned in of_run and len(of_run) >= 3, of_run  # pytest, its workers, the test, the sleep
        runner.kill()
        runner.wait(timeout=30)
        assert wait_gone(of_run) == [], "processes of the SIGKILLed run outlived it"
        assert procinfo.with_environment(f"IPCSUITE_RUN_ID={run_id}") == []
    finally:
        runner.kill()
        runner.communicate()
        procinfo.kill_with_environment(f"IPCSUITE_RUN_ID={run_id}", 10.0)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to a user RLIMIT_NPROC applies to")
def test_without_room_for_the_guard_the_next_run_kills_what_a_sigkilled_run_left(tmp_path):
    # Under a tight RLIMIT_NPROC (40 processes: less room than procinfo.GUARD_MIN_NPROC_HEADROOM; uid 65531, not
    # test_hostile.py's 65533 or 65532, whose NPROC counts must not see these processes) the run does without the
    # guard, and says so; the orphan of a SIGKILLed run then survives it, and the
    # next run, finding the dead run's temporary directory, kills it with the directory.
    import shutil
    import tempfile
    from runner.tests.test_preload_probe import compile_lib
    shared = Path(tempfile.mkdtemp(prefix="ipcsuite-containment-"))  # uid 65531 reaches it (not tmp_path)
    try:
        for d in (shared, shared / "tmp", shared / "out"):
            d.mkdir(exist_ok=True)
            d.chmod(0o777)
        lib = compile_lib(shared, "spawn_and_block", SPAWN_AND_BLOCK)
        env = {"HOME": str(shared), "IPCSUITE_TMP_ROOT": str(shared / "tmp")}
        runner, spawned, run_id = start_blocking_run(
            lib, shared / "out" / "mark", shared / "r",
            prefix=("prlimit", "--nproc=40", "setpriv", "--reuid=65531", "--regid=65531", "--clear-groups"), env=env)
        try:
            runner.kill()
            _, err = runner.communicate(timeout=30)
            assert "RLIMIT_NPROC leaves room for" in err and "without the guard" in err, err
            time.sleep(1)  # what the SIGKILLed run's processes do on their own (die with their parents) is done
            assert alive(spawned), "the orphan died without the guard: this test no longer shows the tight case"
            nxt = subprocess.run([str(ROOT / "ipcsuite"), "run", "--no-build", "--filter", "pipe/PipeFs.Fstatfs*",
                                  "--results-dir", str(tmp_path / "r2")], cwd=ROOT, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=300,
                                 env=dict(os.environ, IPCSUITE_BUILD_DIR=str(BUILD), **env))
            assert nxt.returncode == 0, nxt.stdout[-2000:] + nxt.stderr[-2000:]
            assert "and killed 1 of its processes" in nxt.stderr, nxt.stderr
            assert wait_gone([spawned]) == []
        finally:
            runner.kill()
            runner.communicate()
            procinfo.kill_with_environment(f"IPCSUITE_RUN_ID={run_id}", 10.0)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
