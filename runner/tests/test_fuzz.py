"""Untrusted input is fuzzed with libFuzzer (Debian's clang) in ./ipcsuite test, with a short budget;
IPCSUITE_FUZZ_SECONDS=600 (for example) runs each fuzzer longer.

- The fault plan parser (SPECs, plan files, replay logs), under ASan+UBSan. The target
  (fault/fuzz/plan_fuzz.cc) also checks that errors are one line and that parsed rules round-trip.
- The expectations parser (Python): runner/fuzz/expectations_fuzz.cc embeds CPython and feeds Python line
  coverage to libFuzzer; the property (runner/fuzz/expectations_target.py) is "expectations, or an
  ExpectationError naming a real line of the file".
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from runner.tests.conftest import BUILD, ROOT

FUZZ_DIR = ROOT / "runner" / "fuzz"


def test_plan_parser_survives_fuzzing(tmp_path):
    clang = shutil.which("clang++")
    assert clang, "clang++ is missing (Debian packages clang and libclang-rt-14-dev)"
    exe = tmp_path / "plan_fuzz"
    build = subprocess.run(
        [clang, "-std=c++20", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
         f"-I{ROOT / 'fault'}", f"-I{ROOT}", str(ROOT / "fault" / "plan.cc"), str(ROOT / "fault" / "filter.cc"),
         str(ROOT / "fault" / "fuzz" / "plan_fuzz.cc"), "-lseccomp", "-o", str(exe)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stdout[-3000:]
    seconds = int(os.environ.get("IPCSUITE_FUZZ_SECONDS", "20"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    run = subprocess.run(
        [str(exe), f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
         f"-artifact_prefix={tmp_path}/", str(corpus), str(ROOT / "fault" / "fuzz" / "corpus")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=seconds + 120, check=False)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-")))
    assert run.returncode == 0 and not crashes, f"fuzzer found {crashes}:\n" + run.stdout[-4000:]
    assert "Done " in run.stdout


def _expectations_fuzzer() -> Path:
    exe = BUILD / "bin" / "expectations_fuzz"
    if not exe.is_file():  # e.g. ./ipcsuite run built build/ before clang was installed
        proc = subprocess.run(["cmake", "--build", str(BUILD), "--target", "expectations_fuzz"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                              check=False)
        assert proc.returncode == 0 and exe.is_file(), (
            f"{exe} is not built (needs clang, libclang-rt-14-dev, libpython3.11-dev; re-run cmake -S "
            f"{ROOT} -B {BUILD} after installing them):\n{proc.stdout[-2000:]}")
    return exe


def _stat(output: str, event: str, key: str) -> int:
    m = re.search(rf"^#\d+\s+{event}\s.*?\b{key}: (\d+)", output, re.M)
    assert m, f"no {event} line with {key}: in the fuzzer's output:\n{output[-3000:]}"
    return int(m.group(1))


def test_expectations_parser_survives_coverage_guided_fuzzing(tmp_path):
    exe = _expectations_fuzzer()
    seconds = int(os.environ.get("IPCSUITE_FUZZ_SECONDS", "15"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "IPCSUITE_FUZZ_SOURCE_DIR", "IPCSUITE_FUZZ_NO_PYTHON_COVERAGE")}
    run = subprocess.run(
        [str(exe), f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
         f"-dict={FUZZ_DIR / 'expectations.dict'}", f"-artifact_prefix={tmp_path}/", str(corpus),
         str(ROOT / "expectations"), str(FUZZ_DIR / "corpus")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=seconds + 120, env=env,
        check=False)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-")))
    assert run.returncode == 0 and not crashes, f"fuzzer found {crashes}:\n" + run.stdout[-4000:]
    assert "Done " in run.stdout
    # The guidance is the Python code's: the harness's own native code has K inline counters, worth at
    # most 8 features each (libFuzzer's count buckets); everything above comes from the extra counters the
    # trace function fills, and the corpus must grow from them.
    native = int(re.search(r"\((\d+) inline 8-bit counters\)", run.stdout).group(1))
    assert "Extra Counters" in run.stdout, run.stdout[-3000:]
    inited, done = _stat(run.stdout, "INITED", "ft"), _stat(run.stdout, "DONE", "ft")
    assert inited > 8 * native, f"ft {inited} at start: Python coverage is not reaching libFuzzer"
    assert done > inited, f"ft stayed at {inited}: no new Python coverage found in {seconds} s"
    last = [ln for ln in run.stdout.splitlines() if re.match(r"#\d+\s+DONE", ln)][-1]
    print(f"expectations fuzzer, {seconds} s: {last}")


def test_expectations_fuzz_findings_stay_fixed():
    """Inputs the fuzzer found (runner/fuzz/findings/): a non-UTF-8 file raised UnicodeDecodeError; a form
    feed or U+2028 counted as a line break, so errors named lines the file does not have."""
    from runner.fuzz import expectations_target
    findings = sorted((FUZZ_DIR / "findings").iterdir())
    assert findings
    for f in findings:
        expectations_target.check(f.read_bytes())
