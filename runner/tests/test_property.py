"""The property tests of the reference ring (property/): they pass, they print their seed, each broken
variant of the ring is caught, and a run leaves no SysV object and no process behind."""
import os
import re
import subprocess

import pytest

from runner.tests.conftest import BUILD, ROOT
from runner.tests.test_leaks import descendants, new_sysv_objects, sysv_objects

PROPERTY_TEST = BUILD / "bin" / "property_test"
TEETH_TEST = BUILD / "bin" / "property_teeth_test"
FLAWS = ["no lock", "no SEM_UNDO", "SEM_UNDO never cancelled", "retry EIDRM forever", "publish before copy",
         "abandon commit on EINTR", "leak on creation failure", "split commit",
         "no SEM_UNDO (concurrent, kills)"]


def run_binary(path, *args, env=None, timeout=120):
    full = dict(os.environ)
    full.pop("LD_PRELOAD", None)
    full.pop("RC_PARAMS", None)
    full.pop("IPCSUITE_SOAK", None)
    full.update(env or {})
    return subprocess.run([str(path), *args], cwd=ROOT, env=full, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          check=False)


def test_property_area_passes_in_a_run_without_leaks(run_suite):
    before = sysv_objects()
    r = run_suite("--filter", "property/*")
    assert r.returncode == 0, r.stdout[-3000:]
    tests = r.doc["tests"]
    assert len(tests) >= 5 and all(t["area"] == "property" for t in tests)
    assert all(t["status"] == "passed" for t in tests), [t for t in tests if t["status"] != "passed"]
    assert not new_sysv_objects(before)


def test_seed_is_printed_and_rc_params_fixes_it():
    out = run_binary(PROPERTY_TEST, "--gtest_filter=RingFaults.Creation*", env={"RC_PARAMS": "seed=4242"})
    assert out.returncode == 0, out.stdout[-3000:]
    assert re.search(r"\d+ cases passed \(seed 4242\)", out.stdout), out.stdout[-2000:]


def test_soak_multiplies_the_budget():
    normal = run_binary(PROPERTY_TEST, "--gtest_filter=RingFaults.Creation*")
    soak = run_binary(PROPERTY_TEST, "--gtest_filter=RingFaults.Creation*", env={"IPCSUITE_SOAK": "3"})
    n = int(re.search(r"(\d+) cases passed", normal.stdout).group(1))
    m = int(re.search(r"(\d+) cases passed", soak.stdout).group(1))
    assert m == 3 * n, (n, m)


def test_soak_flag_reaches_the_property_tests_and_the_report(run_suite):
    # --soak N is IPCSUITE_SOAK=N for the test processes (that it multiplies the cases is checked on the
    # binary by test_soak_multiplies_the_budget), and the report's environment records it.
    r = run_suite("--soak", "3", "--filter", "property/RingFaults.Creation*", env={"IPCSUITE_SOAK": ""})
    assert r.returncode == 0, r.stdout[-3000:]
    assert r.doc["environment"]["soak"] == 3
    plain = run_suite("--filter", "property/RingFaults.Creation*", env={"IPCSUITE_SOAK": ""})
    assert plain.doc["environment"]["soak"] is None
    bad = run_suite("--soak", "0")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_every_broken_ring_variant_is_caught_and_nothing_leaks():
    before = sysv_objects()
    out = run_binary(TEETH_TEST, timeout=300)
    assert out.returncode == 0, out.stdout[-5000:]
    for flaw in FLAWS:
        assert f"{flaw}: caught after" in out.stdout, f"{flaw} not caught:\n" + out.stdout[-5000:]
    assert not new_sysv_objects(before)
    assert not descendants(os.getpid()), "processes left behind"


def test_concurrent_property_really_injects_faults_and_kills():
    # The distribution rapidcheck prints: cases with faults, with processes killed, with an operation
    # cut at a known stage (judged exactly) and with one cut anywhere else (judged as pending). A
    # property whose kills never landed would pass without checking the crash-safety contract.
    out = run_binary(PROPERTY_TEST, "--gtest_filter=RingConcurrent.*Kills")
    assert out.returncode == 0, out.stdout[-3000:]
    for tag in ("faults", "processes killed", "operation cut at a known stage", "operation cut pending"):
        assert f'"{tag}"' in out.stdout, f"no generated case with {tag!r}:\n" + out.stdout[-3000:]
    assert not descendants(os.getpid()), "processes left behind"


def test_each_rule_the_model_test_claims_is_reached():
    # The model-based test claims eleven rules; its run must show cases of each (ExpectPasses fails a
    # claimed rule whose classes of cases were never reached, and prints the counts).
    out = run_binary(PROPERTY_TEST, "--gtest_filter=RingModel.*")
    assert out.returncode == 0, out.stdout[-3000:]
    reached = set(re.findall(r"^coverage: (property\.[\w-]+): [1-9]\d* of \d+ cases", out.stdout, re.M))
    assert reached == {"property.ring-fifo", "property.ring-nonblocking", "property.ring-timed",
                       "property.semop-atomic", "property.semop-nowait-eagain", "property.semtimedop-eagain",
                       "property.ring-processes", "property.ring-crash-safe", "property.sem-undo",
                       "property.semop-eidrm", "property.ring-close"}, out.stdout[-3000:]
    assert not descendants(os.getpid()), "processes left behind"


def test_bench_ring_smoke():
    if os.geteuid() != 0:
        pytest.skip("the benchmark needs root for its private IPC namespace")
    before = sysv_objects()
    shm_before = set(os.listdir("/dev/shm"))
    out = run_binary(BUILD / "bin" / "ipcsuite-ring-bench", "--rounds", "1", "--mib", "1", "--sizes", "64,4096",
                     "--producers", "1,2")
    assert out.returncode == 0, out.stdout
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("transport=")]
    assert len(lines) == 2 * 2 * 4
    assert {re.search(r"transport=(\w+)", ln).group(1) for ln in lines} == {"ring", "posix", "pipe", "msgq"}
    assert not new_sysv_objects(before)
    assert not {n for n in set(os.listdir("/dev/shm")) - shm_before if n.startswith("ipcsuite.")}


def test_bench_binary_rejects_an_unknown_transport():
    out = run_binary(BUILD / "bin" / "ipcsuite-ring-bench", "--transports", "ring,carrier-pigeon")
    assert out.returncode == 2
    assert out.stdout.strip().splitlines() == [
        "ipcsuite-ring-bench: unknown transport carrier-pigeon (ring, posix, pipe, msgq)"]


def test_bench_ring_rejects_bad_lists():
    import argparse
    from runner import bench_ring
    from runner.errors import UsageError
    p = argparse.ArgumentParser()
    bench_ring.add_ring_arguments(p)
    with pytest.raises(UsageError):
        p.parse_args(["--sizes", "64,x"])
    with pytest.raises(UsageError):
        p.parse_args(["--rounds", "0"])
