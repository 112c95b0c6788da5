"""The fault plan parser (SPECs, plan files, replay logs) is fuzzed with libFuzzer under ASan+UBSan.

A short budget runs in ./ipcsuite test; IPCSUITE_FUZZ_SECONDS=600 (for example) runs longer. The target
(fault/fuzz/plan_fuzz.cc) also checks that errors are one line and that parsed rules round-trip.
"""
import os
import shutil
import subprocess

from runner.tests.conftest import ROOT


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
