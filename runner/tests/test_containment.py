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

from runner.tests.conftest import BUILD, ROOT

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
