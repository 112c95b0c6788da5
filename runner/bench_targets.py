"""./ipcsuite bench targets: the suite's wall time under each target, side by side with the host.

For the host and each given target, `./ipcsuite run --no-build --target T` (the project's expectations of
that system apply, as in README; `--filter` bounds it to an area), timed from the outside (wall clock of the
command: listing, the tests, the reports). The runs are interleaved round by round (host, T1, T2, ..., host,
T1, ...) so that the machine's drifts (other work on shared cores) hit every target alike; reported per target:
the wall time of each round and its median, the ratio to the host's run of the same round and the median of
those ratios (read this, not one run), the test counts (by verdict) and the exit codes.

A target that is not available here (`./ipcsuite targets`: a missing program or runtime) is reported as
skipped with the reason, not an error; so is one whose run is a set-up problem (exit 2: the wrapper or
runtime cannot start), after its first try.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runner import argtypes, targets, workspace
from runner import build as build_mod
from runner.errors import SetupError

ROOT = Path(__file__).resolve().parent.parent
HOST = "host"
# The systems README's "Validating a container runtime, sandbox or emulator" runs, with the same spellings.
DEFAULT_TARGETS = (
    "oci:runc",
    "wrap:firejail --quiet --noprofile",
    "wrap:proot",
    "wrap:qemu-x86_64",
    "wrap:valgrind -q --trace-children=yes",
)
COUNTS = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
RUN_TIMEOUT_S = 4 * 3600

_rounds = argtypes.int_at_least(1, "bench targets: --rounds")


def add_arguments(p) -> None:
    p.add_argument("--target", action="append", default=[], metavar="T",
                   help="a target to compare with the host (as run --target; may repeat, or comma-separated); "
                        "default: " + ", ".join(DEFAULT_TARGETS))
    p.add_argument("--filter", action="append", default=[], metavar="GLOB",
                   help="only these tests (as run --filter), e.g. 'pipe/*'")
    p.add_argument("--rounds", type=_rounds, default=3, metavar="R",
                   help="interleaved rounds: host, then each target, R times (default 3)")
    p.add_argument("-j", "--jobs", type=argtypes.jobs, default=None, metavar="J",
                   help="jobs of each run (as run -j; default: run's own)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def parse_targets(texts: list[str]) -> list[targets.Target]:
    """The host first, then the targets given (UsageError, one line, for a bad spec)."""
    given = targets.parse_list(texts or list(DEFAULT_TARGETS))
    return [targets.parse(HOST)] + [t for t in given if t.name != HOST]


def run_once(target: targets.Target, filters: list[str], jobs: int | None, bdir: Path) -> dict:
    """One `./ipcsuite run --no-build --target T`: wall seconds, exit code, counts, or the set-up problem."""
    rdir = workspace.make_scratch("bench-targets")
    try:
        cmd = [str(ROOT / "ipcsuite"), "run", "--no-build", "--target", target.spec or target.name,
               "--results-dir", str(rdir)]
        for f in filters:
            cmd += ["--filter", f]
        if jobs:
            cmd += ["-j", str(jobs)]
        env = dict(os.environ, IPCSUITE_BUILD_DIR=str(bdir))
        env.pop("LD_PRELOAD", None)
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=RUN_TIMEOUT_S, check=False)
        wall = time.monotonic() - started
        out = {"wall_s": wall, "exit": proc.returncode}
        results = rdir / "latest" / "results.json"
        if results.exists():
            doc = json.loads(results.read_text())
            out["tests"] = len(doc.get("tests", []))
            out["counts"] = {k: doc.get("counts", {}).get(k, 0) for k in COUNTS}
        else:
            lines = proc.stderr.strip().splitlines()
            out["problem"] = lines[-1] if lines else f"exited {proc.returncode} without results"
        return out
    finally:
        shutil.rmtree(rdir, ignore_errors=True)


def measure(tlist: list[targets.Target], filters: list[str], rounds: int, jobs: int | None, bdir: Path,
            progress=None) -> dict:
    rows: dict[str, dict] = {}
    for t in tlist:
        try:
            ok, why = t.availability()
        except (SetupError, OSError, subprocess.SubprocessError) as e:
            ok, why = False, str(e)
        rows[t.name] = {"target": t.name, "spec": t.spec or t.name, "runs": []}
        if not ok:
            rows[t.name]["skipped"] = why
    if HOST in rows and "skipped" in rows[HOST]:
        raise SetupError(f"bench targets: the host cannot run the suite: {rows[HOST]['skipped']}")
    for r in range(rounds):
        for t in tlist:  # host, T1, T2, ...: one run of each per round
            row = rows[t.name]
            if "skipped" in row:
                continue
            if progress:
                progress(f"round {r + 1}/{rounds}: {t.name} ...")
            res = run_once(t, filters, jobs, bdir)
            if "problem" in res:
                if t.name == HOST:
                    raise SetupError(f"bench targets: the host run failed: {res['problem']}")
                row["skipped"] = f"cannot run here (exit {res['exit']}): {res['problem']}"
                row["runs"] = []
                continue
            res["round"] = r
            row["runs"].append(res)
    host_wall = {x["round"]: x["wall_s"] for x in rows[HOST]["runs"]}
    for row in rows.values():
        runs = row["runs"]
        if "skipped" in row or not runs:
            continue
        walls = [x["wall_s"] for x in runs]
        ratios = [x["wall_s"] / host_wall[x["round"]] for x in runs if host_wall.get(x["round"])]
        row.update({"wall_s": walls, "median_wall_s": statistics.median(walls),
                    "ratio_to_host": ratios, "median_ratio_to_host": statistics.median(ratios) if ratios else None,
                    "tests": sorted({x["tests"] for x in runs}), "counts": runs[-1]["counts"],
                    "counts_vary": any(x["counts"] != runs[0]["counts"] for x in runs),
                    "exits": [x["exit"] for x in runs]})
    return {"rounds": rounds, "filter": filters, "jobs": jobs, "cpus": os.cpu_count(),
            "load_before": None, "targets": list(rows.values())}


def _counts_text(c: dict) -> str:
    return " ".join(f"{k} {c[k]}" for k in COUNTS if c[k]) or "none"


def render(doc: dict) -> str:
    sel = ", ".join(doc["filter"]) or "every test"
    lines = [f"bench targets: ./ipcsuite run --no-build --target T ({sel}), {doc['rounds']} interleaved rounds, "
             f"{doc['cpus']} CPUs, load average {doc['load_before']:.1f} before, {doc['load_after']:.1f} after"]
    w = max(len(r["target"]) for r in doc["targets"])
    lines.append(f"  {'target':<{w}}  {'median s':>8}  {'x host':>6}  {'wall s per round':<24}  "
                 f"{'x host per round':<20}  {'tests':>5}  {'verdicts (last round)':<30}  exits")
    for r in doc["targets"]:
        if "skipped" in r:
            lines.append(f"  {r['target']:<{w}}  skipped: {r['skipped']}")
            continue
        ratio = r["median_ratio_to_host"]
        tests = "/".join(str(n) for n in r["tests"])
        lines.append(f"  {r['target']:<{w}}  {r['median_wall_s']:>8.1f}  {ratio:>6.2f}  "
                     f"{' '.join(f'{x:.1f}' for x in r['wall_s']):<24}  "
                     f"{' '.join(f'{x:.2f}' for x in r['ratio_to_host']):<20}  {tests:>5}  "
                     f"{_counts_text(r['counts']) + (' (varied)' if r['counts_vary'] else ''):<30}  "
                     f"{' '.join(str(x) for x in r['exits'])}")
    lines.append("  (x host: the median of the per-round ratios to the host's run of the same round; xfailed: "
                 "failed where the expectations say so)")
    return "\n".join(lines)


def run_targets_bench(args) -> int:
    tlist = parse_targets(args.target)
    bdir = build_mod.build_dir()
    if not (bdir / "ipcsuite-manifest.tsv").exists():
        raise SetupError(f"bench targets: {bdir} has no build (./ipcsuite run builds it)")
    load_before = os.getloadavg()[0]
    doc = measure(tlist, args.filter, args.rounds, args.jobs, bdir,
                  progress=None if args.json else (lambda m: print(m, file=sys.stderr, flush=True)))
    doc["load_before"] = load_before
    doc["load_after"] = os.getloadavg()[0]
    print(json.dumps(doc, indent=2) if args.json else render(doc), flush=True)
    return 0

