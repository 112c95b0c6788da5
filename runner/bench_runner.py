"""./ipcsuite bench runner: what running a test costs, three ways side by side.

The ways (WAYS): `exec`, the binary exec'd for each test (IPCSUITE_EXEC_MODE=exec) in J pytest-xdist
workers; `fork-xdist`, a fork server per binary forking one child per test, in J xdist workers (the runner
before runner/inflight.py, IPCSUITE_IN_FLIGHT=0); `fork`, the default: fork servers, J tests at once in one
pytest process (runner/inflight.py). Each measurement alternates the ways round by round (the first goes
last in the next round), so that the machine's drifts hit them alike:
- whole run: `./ipcsuite run --no-build -j J` (the host target, every test of the suite), timed from the
  outside (wall clock of the command: listing, pytest, all tests, reports); reported per run and per test
  (wall / tests), the medians, the paired ratios (median of the per-round ratios), and whether every way
  gave every test the same verdict;
- short tests: a trivially short test (the probe binary's Probe.Pass, runner/tests/probe/) run N times in a
  row through executor.run_test in this process, so that the runner's cost per test dominates: wall ms per
  test with a fork server and with exec;
- pipeline: M distinct trivially short tests (the probe's 250 ShortProbe/Many.Pass/<k>, in as many copies of
  the probe as M needs: a run has several binaries, each with its fork servers) planned and run as `run`
  runs a target's part (pytest with the plugin, J jobs, results.json), timed from the outside: start-up,
  collection, every test and the results, per test. This is the runner's whole cost per test on J CPUs,
  which the whole host run adds to the tests' own time (property cases, timeouts, waits for a second of the
  wall clock);
- floor, in the pipeline's rounds: what this machine charges for the least a test process is
  (build/probe/ipcsuite_floor: a minimal process, the C library only, forked, ended and reaped N times in a
  row, then N more that each enter a fresh IPC namespace as every test process does). The runner's cost per
  test is also given as a multiple of it (the median of the per-round ratios): fork and page-fault costs
  differ across machines and VMs far more than that multiple does.
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
# The environment of each way (runner/executor.py, runner/run_cmd.py).
WAYS = {"exec": {"IPCSUITE_EXEC_MODE": "exec"},
        "fork-xdist": {"IPCSUITE_EXEC_MODE": "fork", "IPCSUITE_IN_FLIGHT": "0"},
        "fork": {"IPCSUITE_EXEC_MODE": "fork"}}
MODES = ("exec", "fork")  # short tests: executor.run_test in this process, without pytest
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


def _way_env(way: str) -> dict:
    env = dict(os.environ, **WAYS[way])
    env.pop("LD_PRELOAD", None)
    if "IPCSUITE_IN_FLIGHT" not in WAYS[way]:
        env.pop("IPCSUITE_IN_FLIGHT", None)
    return env


def _whole_run(way: str, jobs: int, filters: list[str], bdir: Path) -> dict:
    rdir = workspace.make_scratch("bench")
    try:
        cmd = [str(ROOT / "ipcsuite"), "run", "--no-build", "-j", str(jobs), "--results-dir", str(rdir)]
        for f in filters:
            cmd += ["--filter", f]
        env = dict(_way_env(way), IPCSUITE_BUILD_DIR=str(bdir))
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


def _pipeline(way: str, m: int, jobs: int, probe: Path, bdir: Path) -> dict:
    """`m` distinct short probe tests through pytest and the plugin, `jobs` at once, as `run` runs a part."""
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
                                   seed=1, test_timeout=60.0, tests=cases,
                                   in_flight=jobs if way == "fork" else 1)
        (tmp / "run").mkdir()
        cmd = run_cmd.pytest_command(plan, tmp / "results.json", tmp / "run" / "pytest",
                                     jobs=1 if way == "fork" else jobs, tracebacks=False) + [str(plan)]
        env = dict(_way_env(way), IPCSUITE_BUILD_DIR=str(bdir), PYTHONPATH=str(ROOT),
                   IPCSUITE_RUN_TMPDIR=str(tmp / "run"), IPCSUITE_SEED="1")
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


def _floor(binary: Path, n: int) -> dict:
    """Wall ms per minimal child (build/probe/ipcsuite_floor): plain, and with a fresh IPC namespace (None
    where unshare is refused)."""
    proc = subprocess.run([str(binary), str(n)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600, check=False)
    fields = proc.stdout.split()
    if proc.returncode != 0 or len(fields) != 4 or fields[0] != "plain" or fields[2] != "ipcns":
        raise SetupError(f"bench runner: {binary.name} {n} exited {proc.returncode}: "
                         f"{(proc.stderr or proc.stdout).strip()[-300:]!r}")
    return {"plain_ms": float(fields[1]) / 1000, "ipcns_ms": None if fields[3] == "-" else float(fields[3]) / 1000}


def _paired_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def _rounds(rounds: int, ways, one) -> dict[str, list]:
    """one(way) for every way, `rounds` times; each round starts with the way after the last round's first."""
    out: dict[str, list] = {w: [] for w in ways}
    for r in range(rounds):
        for way in ways[r % len(ways):] + ways[:r % len(ways)]:
            out[way].append(one(way))
    return out


def _median_summary(values: list[float]) -> dict:
    return {"runs": values, "median": statistics.median(values)}


def measure(args, bdir: Path) -> dict:
    probe = bdir / "probe" / "ipcsuite_probe"
    if not probe.is_file():
        raise SetupError(f"bench runner: {probe} is not built (ninja -C {bdir} ipcsuite_probe)")
    ways = tuple(WAYS)
    doc: dict = {"jobs": args.jobs, "rounds": args.rounds, "cpus": os.cpu_count(), "ways": list(ways),
                 "load_before": os.getloadavg()[0]}
    if not args.no_whole_run:
        runs = _rounds(args.rounds, ways, lambda w: _whole_run(w, args.jobs, args.filter, bdir))
        whole: dict = {"tests": runs["fork"][0]["tests"]}
        for w in ways:
            whole[w] = {"wall_s": _median_summary([x["wall_s"] for x in runs[w]]),
                        "per_test_ms": _median_summary([x["wall_s"] * 1000 / max(x["tests"], 1) for x in runs[w]]),
                        "cpu_per_test_ms": _median_summary([x["cpu_s"] * 1000 / max(x["tests"], 1)
                                                            for x in runs[w]])}
        whole["ratios"] = _ratios(whole, ways)
        ref = runs["fork"][0]["verdicts"]
        whole["verdict_differences"] = sorted(
            {tid for w in ways for run in runs[w] for tid, st in run["verdicts"].items() if ref.get(tid) != st}
            | {tid for w in ways for run in runs[w] for tid in ref if tid not in run["verdicts"]})
        doc["whole_run"] = whole
    short = _rounds(args.rounds, MODES, lambda m: _short_tests(m, args.short_tests, probe))
    doc["short_tests"] = {"n": args.short_tests, "test": PROBE_TEST,
                          **{m: {"per_test_ms": _median_summary([x[0] for x in short[m]]),
                                 "cpu_per_test_ms": _median_summary([x[1] for x in short[m]])} for m in MODES}}
    doc["short_tests"]["ratios"] = _ratios(doc["short_tests"], MODES)
    floor_bin = bdir / "probe" / "ipcsuite_floor"
    if not floor_bin.is_file():
        raise SetupError(f"bench runner: {floor_bin} is not built (ninja -C {bdir} ipcsuite_floor)")
    pipe = _rounds(args.rounds, ways + ("floor",),
                   lambda w: _floor(floor_bin, args.short_tests) if w == "floor"
                   else _pipeline(w, args.pipeline_tests, args.jobs, probe, bdir))
    doc["pipeline"] = {"n": args.pipeline_tests, "jobs": args.jobs,
                       **{w: {"wall_s": _median_summary([x["wall_s"] for x in pipe[w]]),
                              "per_test_ms": _median_summary([x["wall_ms"] for x in pipe[w]]),
                              "cpu_per_test_ms": _median_summary([x["cpu_ms"] for x in pipe[w]])} for w in ways}}
    doc["pipeline"]["ratios"] = _ratios(doc["pipeline"], ways)
    floors = pipe["floor"]
    kind = "ipcns_ms" if all(f["ipcns_ms"] is not None for f in floors) else "plain_ms"
    doc["floor"] = {"n": args.short_tests, "plain_ms": _median_summary([f["plain_ms"] for f in floors]),
                    "ipcns_ms": (_median_summary([f["ipcns_ms"] for f in floors]) if kind == "ipcns_ms"
                                 else None),
                    "fork_per_test_over": kind,
                    "fork_per_test_multiple": _paired_ratio([x["wall_ms"] for x in pipe["fork"]],
                                                            [f[kind] for f in floors])}
    doc["load_after"] = os.getloadavg()[0]
    return doc


def _ratios(part: dict, ways) -> dict:
    """fork over each other way, wall and CPU per test: the median of the per-round ratios."""
    return {f"fork/{w}": {k: _paired_ratio(part["fork"][k]["runs"], part[w][k]["runs"])
                          for k in ("per_test_ms", "cpu_per_test_ms")} for w in ways if w != "fork"}


def _fmt(values: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in values)


def _table(part: dict, ways, title: str) -> list[str]:
    lines = [title, f"  {'way':<11} {'wall ms/test per round':<26} {'median':>7}   "
             f"{'CPU ms/test per round':<26} {'median':>7}"]
    for w in ways:
        r = part[w]
        lines.append(f"  {w:<11} {_fmt(r['per_test_ms']['runs']):<26} {r['per_test_ms']['median']:>7.2f}   "
                     f"{_fmt(r['cpu_per_test_ms']['runs']):<26} {r['cpu_per_test_ms']['median']:>7.2f}")
    lines.append("  " + "; ".join(f"{name}: wall {r['per_test_ms']:.2f}, CPU {r['cpu_per_test_ms']:.2f}"
                                  for name, r in part["ratios"].items()) + " (medians of per-round ratios)")
    return lines


def render(doc: dict) -> str:
    ways = doc["ways"]
    lines = [f"bench runner: {', '.join(ways)} side by side, {doc['rounds']} rounds, {doc['cpus']} CPUs, "
             f"load average {doc['load_before']:.1f} before, {doc['load_after']:.1f} after"]
    w = doc.get("whole_run")
    if w:
        lines += _table(w, ways, f"whole host run (./ipcsuite run --no-build -j {doc['jobs']}), {w['tests']} tests "
                        f"(wall s per run: " + "; ".join(f"{x} {_fmt(w[x]['wall_s']['runs'])}" for x in ways) + "):")
        diff = w["verdict_differences"]
        lines.append("  verdicts: the same in every run of every way" if not diff else
                     f"  verdicts differ between runs for {len(diff)} tests: {', '.join(diff[:10])}")
    s = doc["short_tests"]
    lines += _table(s, MODES, f"short tests ({s['test']} x {s['n']} in a row through executor.run_test, one "
                    "process, no pytest):")
    p = doc["pipeline"]
    lines += _table(p, ways, f"pipeline ({p['n']} distinct short tests through pytest and the plugin, {p['jobs']} "
                    "at once, as run runs them; wall from the outside):")
    f = doc["floor"]
    lines.append(f"  this machine's floor per test process (a minimal one forked, ended and reaped, x {f['n']}): "
                 f"{f['plain_ms']['median']:.2f} ms, with a fresh IPC namespace "
                 + (f"{f['ipcns_ms']['median']:.2f} ms" if f["ipcns_ms"] else "(unshare refused here)"))
    got = p["fork"]["per_test_ms"]["median"]
    over = "the floor with an IPC namespace" if f["fork_per_test_over"] == "ipcns_ms" else "the plain floor"
    lines.append(f"  the runner's cost per test (fork), goal <= {GOAL_MS:g} ms: "
                 f"{'met' if got <= GOAL_MS else 'MISSED'} ({got:.2f}; {f['fork_per_test_multiple']:.1f}x {over})")
    return "\n".join(lines)


def run_runner_bench(args) -> int:
    bdir = build_mod.build_dir()
    if not (bdir / "ipcsuite-manifest.tsv").exists():
        raise SetupError(f"bench runner: {bdir} has no build (./ipcsuite run builds it)")
    doc = measure(args, bdir)
    print(json.dumps(doc, indent=2) if args.json else render(doc), flush=True)
    sys.stdout.flush()
    return 0
