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
