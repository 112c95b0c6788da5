"""--preload LIB that the dynamic loader refuses is one line and exit 2, never a silent green (the loader
ignores such an LD_PRELOAD object and the tests would all pass without it); a library that kills the test
process before its test starts gives `error` verdicts, not `failed` ones.

The file contents are generated (python3-hypothesis): arbitrary bytes and ELF headers of every class, byte
order, type and machine. IPCSUITE_FUZZ_EXAMPLES raises their number (default 60).
"""
import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import cli, preload
from runner.tests.conftest import BUILD, compile_lib, constructor_lib, ipcsuite

EXAMPLES = int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FILTER = "pipe/PipeEnds.*"


def elf_header(cls: int, data: int, etype: int, machine: int, size: int = 64) -> bytes:
    h = bytearray(max(size, 20))
    h[:4], h[4], h[5], h[6] = b"\x7fELF", cls, data, 1
    struct.pack_into("<HH" if data == 1 else ">HH", h, 16, etype, machine)
    return bytes(h[:size])


def run_preload(capsys, lib: Path, results: Path) -> tuple[int, str]:
    rc = cli.main(["run", "--no-build", "--filter", FILTER, "--results-dir", str(results), "--preload", str(lib)])
    return rc, capsys.readouterr().err


NATIVE = preload._elf_header(Path(os.path.realpath("/usr/bin/python3")))


@SETTINGS
@given(st.one_of(
    st.binary(max_size=200),
    st.builds(elf_header, st.integers(0, 3), st.integers(0, 3), st.integers(0, 4), st.integers(0, 300),
              st.integers(16, 64))))
def test_a_file_the_loader_refuses_is_one_line_and_exit_2(capsys, monkeypatch, content):
    monkeypatch.setenv("IPCSUITE_BUILD_DIR", str(BUILD))
    with tempfile.TemporaryDirectory() as d:
        lib, results = Path(d) / "lib.so", Path(d) / "results"
        lib.write_bytes(content)
        rc, err = run_preload(capsys, lib, results)
        assert rc == 2, (rc, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith("ipcsuite: error: --preload"), err
        assert not results.exists(), "nothing may run with a library the loader refuses"


def test_static_check_names_what_is_wrong(tmp_path):
    cases = {"text": (b"hello\n", "not an ELF shared library"),
             "32-bit": (elf_header(1, 1, 3, 3), "32-bit library; the test binaries are 64-bit"),
             "object": (elf_header(*NATIVE[:2], 1, NATIVE[3]), "not a shared library (ELF type 1"),
             "machine": (elf_header(NATIVE[0], NATIVE[1], 3, 183 if NATIVE[3] != 183 else 62),
                         "built for another machine")}
    for name, (content, needle) in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        assert needle in (preload.static_problem(f) or ""), name
    assert "is a directory" in preload.static_problem(tmp_path)


def test_a_library_the_loader_refuses_at_run_time_is_one_line(tmp_path):
    # The header is right (the static check passes), the rest of the file is missing: the loader's probe.
    lib = tmp_path / "libtruncated.so"
    lib.write_bytes(elf_header(NATIVE[0], NATIVE[1], 3, NATIVE[3]))
    out = ipcsuite("run", "--no-build", "--filter", FILTER, "--results-dir", str(tmp_path / "r"), "--preload",
                   str(lib), env={"IPCSUITE_BUILD_DIR": str(BUILD)}, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"ipcsuite: error: --preload {lib}: the dynamic loader refuses it "
        f"({out.stderr.split('(', 1)[1].rsplit(')', 1)[0]})"]
    assert not (tmp_path / "r").exists()


def test_a_library_aborting_in_its_constructor_is_refused(tmp_path):
    lib = compile_lib(tmp_path, "abort", "#include <stdlib.h>\n"
                      "__attribute__((constructor)) static void c(void) { abort(); }\n")
    out = ipcsuite("run", "--no-build", "--filter", FILTER, "--results-dir", str(tmp_path / "r"), "--preload",
                   str(lib), env={"IPCSUITE_BUILD_DIR": str(BUILD)}, timeout=120)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "was killed by SIGABRT before its first test" in out.stderr


def test_a_test_process_killed_before_its_test_started_is_an_error_not_a_failure(tmp_path, run_suite):
    # Aborts when the process runs a test (--gtest_filter); listing the tests (the --preload probe) works.
    lib = constructor_lib(tmp_path, "abort_in_tests", "--gtest_filter", "abort();")
    r = run_suite("--filter", FILTER, "--preload", str(lib), env={"IPCSUITE_BUILD_DIR": str(BUILD)})
    assert r.returncode == 1, r.stderr
    assert r.doc["tests"] and not r.by_status("failed") and not r.by_status("passed")
    for t in r.by_status("error"):
        assert "was killed by SIGABRT before its test started" in t["message"], t
        assert "in the library's constructor?" in t["message"]


def test_a_library_the_bwrap_sandbox_hides_is_refused(tmp_path):
    from runner import targets
    ok, why = targets.parse("bwrap").availability()
    if not ok:
        pytest.skip(f"bwrap: {why}")
    # A library under /tmp: the sandbox's private /tmp hides it.
    d = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        lib = compile_lib(d, "nothing", "int ipcsuite_nothing;\n")
        out = ipcsuite("run", "--no-build", "--filter", FILTER, "--target", "bwrap", "--results-dir",
                       str(tmp_path / "r"), "--preload", str(lib), env={"IPCSUITE_BUILD_DIR": str(BUILD)},
                       timeout=120)
    finally:
        shutil.rmtree(d)
    assert out.returncode == 2, out.stderr
    assert "the dynamic loader refuses it in target bwrap" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
