"""The build shows its progress (ninja's [N/M]) instead of one line and then nothing for minutes."""
import io
import subprocess

from runner import build


def test_build_progress_is_shown_every_tenth_of_the_steps(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.25)\nproject(p C)\n"
        "foreach(i RANGE 29)\n  file(WRITE ${CMAKE_BINARY_DIR}/f${i}.c \"int f${i}(void){return ${i};}\\n\")\n"
        "  list(APPEND s ${CMAKE_BINARY_DIR}/f${i}.c)\nendforeach()\nadd_library(x STATIC ${s})\n")
    subprocess.run(["cmake", "-S", str(src), "-B", str(tmp_path / "b"), "-G", "Ninja"], check=True,
                   stdout=subprocess.DEVNULL)
    log, shown = tmp_path / "build.log", io.StringIO()
    with open(log, "w") as out:
        proc = build._run_with_progress(["cmake", "--build", str(tmp_path / "b")], out, shown)
    assert proc.returncode == 0
    lines = shown.getvalue().splitlines()
    assert lines[0].startswith("ipcsuite: build 0% (1/") and lines[-1].startswith("ipcsuite: build 100%")
    assert 8 <= len(lines) <= 11, lines
    assert "Linking C static library" in log.read_text(), "the full output still goes to the log"


def test_an_interrupted_build_takes_cmake_ninja_and_the_compilers_with_it(tmp_path):
    import signal
    import sys
    import time
    from runner.tests.conftest import ROOT
    src = tmp_path / "src"
    src.mkdir()
    # One build step that runs until it is killed: the build is surely in flight when it is interrupted.
    (src / "step.sh").write_text(f"echo started > {tmp_path}/b/step\nexec sleep 600\n")
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.25)\nproject(p NONE)\n"
        "add_custom_target(forever ALL COMMAND sh ${CMAKE_SOURCE_DIR}/step.sh)\n")
    subprocess.run(["cmake", "-S", str(src), "-B", str(tmp_path / "b"), "-G", "Ninja"], check=True,
                   stdout=subprocess.DEVNULL)
    code = ("import sys; from runner import build\n"
            f"build._run_with_progress(['cmake', '--build', {str(tmp_path / 'b')!r}], open('/dev/null', 'w'), sys.stderr)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while not (tmp_path / "b" / "step").exists():
            assert time.monotonic() < end and proc.poll() is None, "the build step did not start"
            time.sleep(0.05)  # polling for the step's file with a deadline
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        assert "KeyboardInterrupt" in proc.stderr.read()
        out = subprocess.run(["pgrep", "-f", f"{src}/step.sh"], capture_output=True, text=True)
        assert out.stdout.strip() == "", "a build step outlived the interrupted build"
    finally:  # whatever failed, nothing of this test is left for the next tests of this worker to find
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["pkill", "-KILL", "-f", str(tmp_path / "b")], check=False)
        subprocess.run(["pkill", "-KILL", "-f", f"{src}/step.sh"], check=False)
