"""./ipcsuite bench runner: what running a test costs, fork server against exec-per-test, side by side.

Two measurements, each alternating the two ways of running a test process (runner/executor.py: fork, the
default, and exec, IPCSUITE_EXEC_MODE=exec) round by round, so that the machine's drifts hit both alike:
- whole run: `./ipcsuite run --no-build -j J` (the host target, every test of the suite), timed from the
  outside (wall clock of the command: listing, pytest and its workers, all tests, reports); reported per run
  and per test (wall / tests), the medians and the fork/exec ratio (also the median of the per-round ratios),
  and whether the two modes gave every test the same verdict;
- short tests: a trivially short test (the probe binary's Probe.Pass, runner/tests/probe/) run N times in a
  row through executor.run_test in this process, so that the runner's cost per test dominates: wall ms per
  test in each mode;
- pipeline: M distinct trivially short tests (the probe's 250 ShortProbe/Many.Pass/<k>, in as many copies of
  the probe as M needs: a run has several binaries, each with its fork server) planned and run as `run`
  runs a target's part (pytest with the plugin, -j workers, results.json), timed from the outside: start-up,
  collection, workers, every test and the results, per test. This is the runner's whole cost per test on J
  CPUs, which the whole host run adds to the tests' own time (property cases, timeouts, waits for a second
  of the wall clock).
Besides the wall clock, the CPU time the runner and every test process spent (user + system, this process
and all its reaped descendants): on a shared, loaded machine the wall clock of a short test is mostly
waiting for a CPU, which the CPU time is not. Read the medians and ratios, not one run.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runner import build as build_mod
from runner import executor, forkserver, run_cmd, targets, workspace
from runner import plan as plan_mod
from runner.argtypes import int_in, positive_int
from runner.catalogue import TestCase
from runner.errors import SetupError
from runner.plan import Plan

ROOT = Path(__file__).resolve().parent.parent
MODES = ("exec", "fork")
PROBE_TEST = "Probe.Pass"
PROBE_MANY = "ShortProbe/Many.Pass/{}"  # instances 0 .. PROBE_MANY_COUNT - 1 (runner/tests/probe/probe_test.cc)
PROBE_MANY_COUNT = 250  # as many as the largest suite binary has: the pipeline runs copies of the probe
PIPELINE_MAX = 5000
GOAL_MS = 3.0  # issue 13: <= 3 ms wall per test on 2 cores


def add_arguments(p) -> None:
    p.add_argument("--rounds", type=positive_int, default=3, metavar="R",
                   help="side-by-side rounds of each measurement (default 3)")
    p.add_argument("-j", "--jobs", type=positive_int, default=2, help="jobs of the whole run (default 2)")
    p.add_argument("--short-tests", type=positive_int, default=200, metavar="N",
                   help="short tests per mode and round (default 200)")
    p.add_argument("--pipeline-tests", type=int_in(1, PIPELINE_MAX), default=1000, metavar="M",
                   help=f"distinct short tests of the pipeline measurement (default 1000, at most {PIPELINE_MAX})")
    p.add_argument("--no-whole-run", action="store_true", help="only the short-test and pipeline measurements")
    p.add_argument("--filter", action="append", default=[], metavar="GLOB",
                   help="whole run: only these tests (as run --filter)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and all its reaped descendants."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def _whole_run(mode: str, jobs: int, filters: list[str], bdir: Path) -> dict:
    rdir = workspace.make_scratch("bench")
    try:
        cmd = [str(ROOT / "ipcsuite"), "run", "--no-build", "-j", str(jobs), "--results-dir", str(rdir)]
        for f in filters:
            cmd += ["--filter", f]
        env = dict(os.environ, IPCSUITE_EXEC_MODE=mode, IPCSUITE_BUILD_DIR=str(bdir))
        env.pop("LD_PRELOAD", None)
        cpu0 = _cpu_s()
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=3600, check=False)
        wall = time.monotonic() - started
        cpu = _cpu_s() - cpu0
        results = rdir / "latest" / "results.json"
        if not results.exists():
            raise SetupError(f"bench runner: `{' '.join(cmd)}` exited {proc.returncode} without results: "
                             f"{proc.stderr.strip()[-500:]}")
        doc = json.loads(results.read_text())
        verdicts = {t["id"]: t["status"] for t in doc["tests"]}
        return {"wall_s": wall, "cpu_s": cpu, "tests": len(verdicts), "verdicts": verdicts, "exit": proc.returncode}
    finally:
        shutil.rmtree(rdir, ignore_errors=True)


def _short_tests(mode: str, n: int, probe: Path) -> tuple[float, float]:
    """(wall ms, CPU ms) per test of `n` runs of the probe's trivially short test, one after another (the CPU
    time includes the fork server's start-up and end: once per worker and binary in a run)."""
    tmp = str(workspace.make_scratch("bench"))
    old = os.environ.get("IPCSUITE_EXEC_MODE")
    os.environ["IPCSUITE_EXEC_MODE"] = mode
    try:
        cpu0 = _cpu_s()
        plan = Plan(target=targets.Target(name="host", kind="host", spec="host").to_data(), seed=1,
                    test_timeout=60.0)
        env = executor.test_env(plan, tmp)
        case = TestCase(binary=probe, area="probe", name=PROBE_TEST, location="", rules=[])
        # Not timed: the fork server's start-up (once per worker and binary in a run).
        executor.run_test(case, plan=plan, timeout=60, env=env, tmp_base=tmp)
        started = time.monotonic()
        for _ in range(n):
            out = executor.run_test(case, plan=plan, timeout=60, env=env, tmp_base=tmp)
            if not out.record or out.record.get("status") != "passed":
                raise SetupError(f"bench runner: {PROBE_TEST} did not pass in {mode} mode: "
                                 f"{out.error or out.output[-300:]!r}")
        wall_ms = (time.monotonic() - started) * 1000 / n
        forkserver.shutdown_all()  # reaps the server: its CPU time (and its children's) is counted
        return wall_ms, (_cpu_s() - cpu0) * 1000 / (n + 1)
    finally:
        forkserver.shutdown_all()
        if old is None:
            os.environ.pop("IPCSUITE_EXEC_MODE", None)
        else:
            os.environ["IPCSUITE_EXEC_MODE"] = old
        shutil.rmtree(tmp, ignore_errors=True)


def _pipeline(mode: str, m: int, jobs: int, probe: Path, bdir: Path) -> dict:
    """`m` distinct short probe tests through pytest, the plugin and `jobs` workers, as `run` runs a part."""
    tmp = workspace.make_scratch("bench")
    try:
        cases = []
        for copy in range((m + PROBE_MANY_COUNT - 1) // PROBE_MANY_COUNT):
            binary = tmp / f"probe{copy}"
            shutil.copy(probe, binary)
            cases += [TestCase(binary=binary, area=f"probe{copy}", name=PROBE_MANY.format(k), location="",
                               rules=[]) for k in range(min(PROBE_MANY_COUNT, m - len(cases)))]
        plan = plan_mod.write_plan(tmp / "plan.json", target=targets.Target(name="host", kind="host",
                                                                            spec="host").to_data(),
                                   seed=1, test_timeout=60.0, tests=cases)
        (tmp / "run").mkdir()
        cmd = run_cmd.pytest_command(plan, tmp / "results.json", tmp / "run" / "pytest", jobs=jobs,
                                     tracebacks=False) + [str(plan)]
        env = dict(os.environ, IPCSUITE_EXEC_MODE=mode, IPCSUITE_BUILD_DIR=str(bdir), PYTHONPATH=str(ROOT),
                   IPCSUITE_RUN_TMPDIR=str(tmp / "run"), IPCSUITE_SEED="1")
        env.pop("LD_PRELOAD", None)
        cpu0 = _cpu_s()
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=3600, check=False,
                              start_new_session=True)
        wall = time.monotonic() - started
        cpu = _cpu_s() - cpu0
        results = tmp / "results.json"
        passed = 0
        if results.exists():
            passed = sum(t["status"] == "passed" for t in json.loads(results.read_text())["tests"])
        if proc.returncode != 0 or passed != m:
            raise SetupError(f"bench runner: the pipeline of {m} short tests exited {proc.returncode} with "
                             f"{passed} passed: {proc.stdout.strip()[-300:]!r}")
        return {"wall_ms": wall * 1000 / m, "cpu_ms": cpu * 1000 / m, "wall_s": wall}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _paired_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def measure(args, bdir: Path) -> dict:
    probe = bdir / "probe" / "ipcsuite_probe"
    if not probe.is_file():
        raise SetupError(f"bench runner: {probe} is not built (ninja -C {bdir} ipcsuite_probe)")
    doc: dict = {"jobs": args.jobs, "rounds": args.rounds, "cpus": os.cpu_count(),
                 "load_before": os.getloadavg()[0]}
    if not args.no_whole_run:
        runs: dict[str, list[dict]] = {m: [] for m in MODES}
        for r in range(args.rounds):
            order = MODES if r % 2 == 0 else tuple(reversed(MODES))  # alternate who goes first
            for mode in order:
                runs[mode].append(_whole_run(mode, args.jobs, args.filter, bdir))
        whole = {}
        for mode in MODES:
            walls = [x["wall_s"] for x in runs[mode]]
            per_test = [x["wall_s"] * 1000 / max(x["tests"], 1) for x in runs[mode]]
            cpu = [x["cpu_s"] * 1000 / max(x["tests"], 1) for x in runs[mode]]
            whole[mode] = {"wall_s": walls, "tests": [x["tests"] for x in runs[mode]],
                           "per_test_ms": per_test, "median_wall_s": statistics.median(walls),
                           "median_per_test_ms": statistics.median(per_test),
                           "cpu_per_test_ms": cpu, "median_cpu_per_test_ms": statistics.median(cpu)}
        whole["fork_over_exec"] = whole["fork"]["median_wall_s"] / whole["exec"]["median_wall_s"]
        whole["fork_over_exec_paired"] = _paired_ratio(whole["fork"]["wall_s"], whole["exec"]["wall_s"])
        whole["cpu_fork_over_exec_paired"] = _paired_ratio(whole["fork"]["cpu_per_test_ms"],
                                                           whole["exec"]["cpu_per_test_ms"])
        ref = runs["exec"][0]["verdicts"]
        whole["verdict_differences"] = sorted(
            {tid for run in runs["exec"] + runs["fork"] for tid, st in run["verdicts"].items()
             if ref.get(tid) != st} | {tid for run in runs["fork"] for tid in ref if tid not in run["verdicts"]})
        doc["whole_run"] = whole
    short: dict[str, list[float]] = {m: [] for m in MODES}
    short_cpu: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        order = MODES if r % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            wall_ms, cpu_ms = _short_tests(mode, args.short_tests, probe)
            short[mode].append(wall_ms)
            short_cpu[mode].append(cpu_ms)
    doc["short_tests"] = {"n": args.short_tests, "test": PROBE_TEST,
                          **{m: {"per_test_ms": short[m], "median_per_test_ms": statistics.median(short[m]),
                                 "cpu_per_test_ms": short_cpu[m],
                                 "median_cpu_per_test_ms": statistics.median(short_cpu[m])} for m in MODES},
                          "fork_over_exec_paired": _paired_ratio(short["fork"], short["exec"]),
                          "cpu_fork_over_exec_paired": _paired_ratio(short_cpu["fork"], short_cpu["exec"])}
    pipe: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        order = MODES if r % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            pipe[mode].append(_pipeline(mode, args.pipeline_tests, args.jobs, probe, bdir))
    doc["pipeline"] = {"n": args.pipeline_tests, "jobs": args.jobs,
                       **{m: {"wall_s": [x["wall_s"] for x in pipe[m]],
                              "per_test_ms": [x["wall_ms"] for x in pipe[m]],
                              "median_per_test_ms": statistics.median(x["wall_ms"] for x in pipe[m]),
                              "cpu_per_test_ms": [x["cpu_ms"] for x in pipe[m]],
                              "median_cpu_per_test_ms": statistics.median(x["cpu_ms"] for x in pipe[m])}
                          for m in MODES},
                       "fork_over_exec_paired": _paired_ratio([x["wall_ms"] for x in pipe["fork"]],
                                                              [x["wall_ms"] for x in pipe["exec"]])}
    doc["load_after"] = os.getloadavg()[0]
    return doc


def render(doc: dict) -> str:
    lines = [f"bench runner: fork server vs exec-per-test, {doc['rounds']} side-by-side rounds, {doc['cpus']} CPUs, "
             f"load average {doc['load_before']:.1f} before, {doc['load_after']:.1f} after"]
    w = doc.get("whole_run")
    if w:
        lines.append(f"whole host run (./ipcsuite run --no-build -j {doc['jobs']}), {w['exec']['tests'][0]} tests:")
        lines.append(f"  {'mode':<5} {'wall s per run':<32} {'median s':>9} {'ms/test per run':<32} {'median ms/test':>15}")
        for m in MODES:
            r = w[m]
            lines.append(f"  {m:<5} {' '.join(f'{x:.2f}' for x in r['wall_s']):<32} {r['median_wall_s']:>9.2f} "
                         f"{' '.join(f'{x:.2f}' for x in r['per_test_ms']):<32} {r['median_per_test_ms']:>15.2f}")
        met = w["fork"]["median_per_test_ms"] <= GOAL_MS
        lines.append(f"  fork/exec: {w['fork_over_exec']:.2f} (medians), {w['fork_over_exec_paired']:.2f} "
                     f"(median of per-round ratios); goal <= {GOAL_MS:g} ms/test: {'met' if met else 'MISSED'} "
                     f"({w['fork']['median_per_test_ms']:.2f})")
        lines.append("  CPU ms/test (runner and test processes): " + "; ".join(
            f"{m} {' '.join(f'{x:.2f}' for x in w[m]['cpu_per_test_ms'])} (median {w[m]['median_cpu_per_test_ms']:.2f})"
            for m in MODES) + f"; fork/exec {w['cpu_fork_over_exec_paired']:.2f}")
        diff = w["verdict_differences"]
        lines.append("  verdicts: the same in every run of both modes" if not diff else
                     f"  verdicts differ between runs for {len(diff)} tests: {', '.join(diff[:10])}")
    s = doc["short_tests"]
    lines.append(f"short tests ({s['test']} x {s['n']} in a row through executor.run_test, one process):")
    for m in MODES:
        lines.append(f"  {m:<5} ms/test per round: {' '.join(f'{x:.2f}' for x in s[m]['per_test_ms'])}; "
                     f"median {s[m]['median_per_test_ms']:.2f}")
    lines.append(f"  fork/exec: {s['fork_over_exec_paired']:.2f} (median of per-round ratios)")
    lines.append("  CPU ms/test: " + "; ".join(
        f"{m} {' '.join(f'{x:.2f}' for x in s[m]['cpu_per_test_ms'])} (median {s[m]['median_cpu_per_test_ms']:.2f})"
        for m in MODES) + f"; fork/exec {s['cpu_fork_over_exec_paired']:.2f}")
    p = doc["pipeline"]
    lines.append(f"pipeline ({p['n']} distinct short tests through pytest, the plugin and {p['jobs']} workers, "
                 "as run runs them; wall from the outside):")
    for m in MODES:
        lines.append(f"  {m:<5} s per run: {' '.join(f'{x:.2f}' for x in p[m]['wall_s'])}; ms/test median "
                     f"{p[m]['median_per_test_ms']:.2f}; CPU ms/test median {p[m]['median_cpu_per_test_ms']:.2f}")
    met = p["fork"]["median_per_test_ms"] <= GOAL_MS
    lines.append(f"  fork/exec: {p['fork_over_exec_paired']:.2f} (median of per-round ratios); the runner's cost, "
                 f"goal <= {GOAL_MS:g} ms/test: {'met' if met else 'MISSED'} ({p['fork']['median_per_test_ms']:.2f})")
    return "\n".join(lines)


def run_runner_bench(args) -> int:
    bdir = build_mod.build_dir()
    if not (bdir / "ipcsuite-manifest.tsv").exists():
        raise SetupError(f"bench runner: {bdir} has no build (./ipcsuite run builds it)")
    doc = measure(args, bdir)
    print(json.dumps(doc, indent=2) if args.json else render(doc), flush=True)
    sys.stdout.flush()
    return 0
