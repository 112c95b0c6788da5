"""One line on stderr and exit 2, never a traceback: a build directory the user cannot write (run, list), a
fault plan that is not UTF-8 (and any other bytes: generated with python3-hypothesis; IPCSUITE_FUZZ_EXAMPLES
raises their number, default 60), a very low open-file limit.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import cli, deps
from runner.tests.conftest import BUILD, ROOT

EXAMPLES = int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def command(args, prefix=(), env=None, timeout=300) -> subprocess.CompletedProcess:
    full = dict(os.environ, **(env or {}))
    full.pop("LD_PRELOAD", None)
    return subprocess.run([*prefix, str(ROOT / "ipcsuite"), *args], cwd=ROOT, env=full, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace", timeout=timeout, check=False)


def one_line(proc, needle: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr


@pytest.mark.skipif(bool(deps.missing_packages(list(deps.PACKAGES))), reason="would install packages first")
@pytest.mark.parametrize("cmd", [["list", "--filter", "pipe/*"], ["run", "--filter", "pipe/*"]])
def test_a_build_directory_that_cannot_be_written_is_one_line(tmp_path, cmd):
    # As root: a directory nobody can create; as another user (setpriv, when root): root's build directory.
    proc = command([*cmd, *(["--results-dir", str(tmp_path / "r")] if cmd[0] == "run" else [])],
                   env={"IPCSUITE_BUILD_DIR": "/proc/ipcsuite-build"})
    one_line(proc, "cannot write the build directory /proc/ipcsuite-build")
    if os.geteuid() == 0 and shutil.which("setpriv"):
        tmp_path.chmod(0o777)
        proc = command([*cmd, *(["--results-dir", str(tmp_path / "r")] if cmd[0] == "run" else [])],
                       prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                       env={"IPCSUITE_BUILD_DIR": str(BUILD)})
        one_line(proc, f"cannot write the build directory {BUILD} (Permission denied)")


PLAN_LINES = st.sampled_from(["semop=EIDRM@1", "write=EIO@3", "# comment", "", "read[fd=0]=EAGAIN%0.5"])


@SETTINGS
@given(st.one_of(st.binary(max_size=200),
                 st.lists(st.one_of(PLAN_LINES.map(str.encode), st.binary(max_size=30)), max_size=6).map(
                     b"\n".join)))
def test_any_plan_file_is_one_line_or_runs(capfd, monkeypatch, content):
    monkeypatch.setenv("IPCSUITE_BUILD_DIR", str(BUILD))
    with tempfile.TemporaryDirectory() as d:
        plan = Path(d) / "plan"
        plan.write_bytes(content)
        rc = cli.main(["inject", "--plan", str(plan), "--", "true"])
        err = capfd.readouterr().err
        assert "Traceback" not in err
        if rc == 2:
            assert len(err.strip().splitlines()) == 1, err
        else:
            assert rc == 0, (rc, err)


def test_a_plan_file_that_is_not_utf8_names_the_line(tmp_path):
    plan = tmp_path / "plan"
    plan.write_bytes(b"semop=EIDRM@1\nwr\xffite=EIO\n")
    proc = command(["inject", "--plan", str(plan), "--", "true"], env={"IPCSUITE_BUILD_DIR": str(BUILD)})
    one_line(proc, f"{plan}:2:")


@pytest.mark.parametrize("nofile", [6, 12, 16, 20, 24])
def test_a_very_low_open_file_limit_is_one_line_or_an_honest_run(tmp_path, nofile):
    if not shutil.which("prlimit"):
        pytest.skip("prlimit (util-linux) is missing")
    (tmp_path / "tmp").mkdir()  # the run's own: no note about other runs' leftovers in /tmp
    proc = command(["run", "--no-build", "-j", "4", "--filter", "pipe/PipeEnds.*", "--results-dir",
                    str(tmp_path / "r")], prefix=("prlimit", f"--nofile={nofile}"),
                   env={"IPCSUITE_BUILD_DIR": str(BUILD), "IPCSUITE_TMP_ROOT": str(tmp_path / "tmp")})
    assert "Traceback" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    notes = [ln for ln in proc.stderr.splitlines() if "lowered to" not in ln]
    if nofile < 16:
        one_line(proc, f"the open-file limit (ulimit -n) is {nofile}: the runner needs at least 16")
    else:
        assert proc.returncode in (0, 1) and notes == [], proc.stderr


@pytest.mark.parametrize("args", [
    ["run", "--no-build", "--expectations", "{fifo}", "--filter", "nosuch/*"],
    ["run", "--no-build", "--target", "qemu:{fifo}"],
    ["inject", "--plan", "{fifo}", "--", "true"],
    ["inject", "--replay", "{fifo}", "--", "true"],
    ["report", "{fifo}"],
], ids=["expectations", "kernel", "plan", "replay", "report"])
def test_a_fifo_without_a_writer_given_as_an_input_file_is_no_hang(tmp_path, args):
    """open(2) of a FIFO for reading waits for a writer: a FIFO named as an input file reads as empty (one that
    has a writer, as a shell's <(...), is read to its end) or is refused, and never hangs the command."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = command([a.format(fifo=fifo) for a in args], env={"IPCSUITE_BUILD_DIR": str(BUILD)}, timeout=60)
    one_line(proc, "")
