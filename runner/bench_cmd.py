"""./ipcsuite bench: inject (below), ring (runner/bench_ring.py), runner (runner/bench_runner.py: the fork
server against exec-per-test, whole host run and short tests, side by side) and targets
(runner/bench_targets.py: the suite's wall time under each target, side by side with the host).

./ipcsuite bench inject: the cost of fault injection, side by side with strace's --inject.

Two workloads of build/bin/ipcsuite-fault-prog, each timed inside the program (the loop only, not the
start-up): `bench-semop N` (N semop() calls) and `bench-pipe N` (N one-byte pipe writes, each read
back). Each runs under four configurations, interleaved round by round so that drifts of the machine
hit all of them alike:
  plain      the program alone
  floor      the program under a one-instruction seccomp filter (RET_ALLOW) that it installs itself
             before the timed loop: what any seccomp filter costs, whatever it contains (an installed
             filter sends every system call through the kernel's seccomp entry work; the kernel's action
             cache then skips running the filter for calls it proved always allowed, as ours are)
  unrelated  ipcsuite inject with one counted rule on a system call the workload never makes
  counted    ipcsuite inject with a counted rule on the hot call (fails every 1000th, @1000+1000)
  strace     strace -f -e inject=<hot syscall>:error=EAGAIN:when=1000+1000 (Debian's strace)
Reported: the median cost per call of each (wall clock; and the program's CPU time in the loop, less
disturbed by other work on the machine), the unrelated rule's overhead over plain (goal <= 5 %) next to
the floor's (the part no filter design can remove) and the unrelated rule's over the floor (the part
that is ours), also as medians of the ratios within each round, and how many times cheaper the counted
rule is than strace's equivalent (goal >= 10x).
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess

from runner import argtypes, bench_ring, bench_runner, bench_targets
from runner import build as build_mod
from runner import deps
from runner.errors import SetupError

WORKLOADS = {
    # name: (program mode, hot syscall as strace names it, our rule on the hot call)
    "semop": ("bench-semop", "semtimedop", "semop=EAGAIN@1000+1000"),
    "pipe-write": ("bench-pipe", "write", "write=EAGAIN@1000+1000"),
}
UNRELATED_RULE = "msgrcv=ENOMSG@1000+1000"
CONFIGS = ("plain", "floor", "unrelated", "counted", "strace")


_calls = argtypes.int_at_least(1000, "bench inject: --calls")
_rounds = argtypes.int_at_least(1, "bench inject: --rounds")


def add_parser(subparsers):
    p = subparsers.add_parser("bench", help="benchmarks (bench inject: fault injection vs strace --inject)")
    sub = p.add_subparsers(dest="bench_what", metavar="WHAT", parser_class=type(p))
    sub.required = True
    b = sub.add_parser("inject", help="cost per call: plain, unrelated rule, counted rule, strace --inject")
    b.add_argument("--calls", type=_calls, default=100000, metavar="N",
                   help="calls per workload and run (default 100000, at least 100000 for the goals)")
    b.add_argument("--rounds", type=_rounds, default=5, metavar="R", help="side-by-side rounds (default 5)")
    b.add_argument("--no-strace", action="store_true", help="skip the strace configuration")
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    r = sub.add_parser("ring", help="reference rings (System V, POSIX) vs pipe vs SysV message queue throughput")
    bench_ring.add_ring_arguments(r)
    rn = sub.add_parser("runner", help="cost per test: fork server vs exec-per-test (whole host run, short tests)")
    bench_runner.add_arguments(rn)
    tg = sub.add_parser("targets", help="the suite's wall time under each target (wrap:, oci:, ...) vs the host")
    bench_targets.add_arguments(tg)
    return p


def _run(cmd: list[str]) -> tuple[float, float]:
    """(wall-clock ns per call, the calling thread's CPU ns per call) of one timed run."""
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SetupError(f"bench: {' '.join(cmd[:3])} ... exited {proc.returncode}: "
                         f"{proc.stderr.strip().splitlines()[-1:] or ''}")
    fields = dict(tok.split("=", 1) for tok in proc.stdout.split() if "=" in tok)
    try:
        return float(fields["ns_per_call"]), float(fields["cpu_ns_per_call"])
    except (KeyError, ValueError):
        pass
    raise SetupError(f"bench: no ns_per_call in the output of {' '.join(cmd[:3])} ...: {proc.stdout.strip()}")


def commands(bdir, workload: str, calls: int, strace: str | None) -> dict[str, list[str]]:
    mode, hot, rule = WORKLOADS[workload]
    prog = [str(bdir / "bin" / "ipcsuite-fault-prog"), mode, str(calls)]
    inj = [str(bdir / "bin" / "ipcsuite-inject"), "--seed", "1"]
    cmds = {
        "plain": prog,
        "floor": prog + ["allow-all"],
        "unrelated": inj + ["--fail", UNRELATED_RULE, "--", *prog],
        "counted": inj + ["--fail", rule, "--", *prog],
    }
    if strace:
        cmds["strace"] = [strace, "-f", "-qq", "-o", "/dev/null", "-e", f"trace={hot}",
                          "-e", f"inject={hot}:error=EAGAIN:when=1000+1000", *prog]
    return cmds


def measure(bdir, calls: int, rounds: int, use_strace: bool) -> dict:
    strace = shutil.which("strace") if use_strace else None
    if use_strace and not strace:
        raise SetupError("bench inject: strace is not installed (apt-get install -y strace), or use --no-strace")
    results = {}
    for workload in WORKLOADS:
        cmds = commands(bdir, workload, calls, strace)
        samples: dict[str, list[float]] = {c: [] for c in cmds}
        cpu: dict[str, list[float]] = {c: [] for c in cmds}
        for _ in range(rounds):
            for cfg, cmd in cmds.items():  # side by side: one run of each per round
                wall, cpu_ns = _run(cmd)
                samples[cfg].append(wall)
                cpu[cfg].append(cpu_ns)
        med = {cfg: statistics.median(v) for cfg, v in samples.items()}
        pairs = (("floor", "plain"), ("unrelated", "plain"), ("unrelated", "floor"))
        r = {"ns_per_call": med, "samples": samples,
             "unrelated_overhead_pct": (med["unrelated"] / med["plain"] - 1) * 100,
             "floor_overhead_pct": (med["floor"] / med["plain"] - 1) * 100,
             "unrelated_over_floor_pct": (med["unrelated"] / med["floor"] - 1) * 100,
             # The same ratios taken within each round, then the median: the machine's load drifts
             # between rounds (other work shares the cores), and a round's runs are neighbours in time.
             "paired_pct": {f"{a}/{b}": (statistics.median(x / y for x, y in zip(samples[a], samples[b])) - 1) * 100
                            for a, b in pairs},
             # The program's own CPU time in the loop (the calls' cost to it, less disturbed by other work
             # on the machine than the wall clock). Not for strace: its cost is mostly the tracer's.
             "cpu_ns_per_call": {cfg: statistics.median(v) for cfg, v in cpu.items() if cfg != "strace"},
             "cpu_samples": {cfg: v for cfg, v in cpu.items() if cfg != "strace"},
             "cpu_paired_pct": {f"{a}/{b}": (statistics.median(x / y for x, y in zip(cpu[a], cpu[b])) - 1) * 100
                                for a, b in pairs}}
        r["counted_overhead_ns"] = med["counted"] - med["plain"]
        if "strace" in med:
            r["strace_over_counted"] = med["strace"] / med["counted"]
            over = med["counted"] - med["plain"]
            r["strace_overhead_over_counted_overhead"] = (
                (med["strace"] - med["plain"]) / over if over > 0 else float("inf"))
        results[workload] = r
    return {"calls": calls, "rounds": rounds, "workloads": results}


def render(doc: dict) -> str:
    lines = [f"bench inject: {doc['calls']} calls per run, median of {doc['rounds']} side-by-side rounds"]
    hdr = f"{'workload':<11} " + " ".join(f"{c + ' ns/call':>18}" for c in CONFIGS)
    lines.append(hdr)
    for w, r in doc["workloads"].items():
        med = r["ns_per_call"]
        lines.append(f"{w:<11} " + " ".join(f"{med[c]:>18.1f}" if c in med else f"{'-':>18}" for c in CONFIGS))
    for w, r in doc["workloads"].items():
        ov = r["unrelated_overhead_pct"]
        lines.append(f"{w}: unrelated rule {ov:+.1f} % over plain (goal <= 5 %: {'met' if ov <= 5 else 'MISSED'}); "
                     f"floor (any filter) {r['floor_overhead_pct']:+.1f} % over plain, unrelated rule "
                     f"{r['unrelated_over_floor_pct']:+.1f} % over the floor; "
                     f"counted rule {r['counted_overhead_ns']:+.0f} ns/call over plain")
        lines.append(f"{w}: per-round ratios (median): "
                     + ", ".join(f"{k} {v:+.1f} %" for k, v in r["paired_pct"].items()))
        cm = r["cpu_ns_per_call"]
        lines.append(f"{w}: program CPU ns/call: " + ", ".join(f"{c} {cm[c]:.1f}" for c in CONFIGS if c in cm)
                     + "; per-round ratios (median): "
                     + ", ".join(f"{k} {v:+.1f} %" for k, v in r["cpu_paired_pct"].items()))
        if "strace_over_counted" in r:
            x = r["strace_over_counted"]
            lines.append(f"{w}: strace --inject costs {x:.1f}x the counted rule per call "
                         f"(goal >= 10x: {'met' if x >= 10 else 'MISSED'}); "
                         f"overheads over plain: {r['strace_overhead_over_counted_overhead']:.0f}x")
    return "\n".join(lines)


def run(args) -> int:
    if args.bench_what == "ring":
        return bench_ring.run_ring(args)
    if args.bench_what == "runner":
        return bench_runner.run_runner_bench(args)
    if args.bench_what == "targets":
        return bench_targets.run_targets_bench(args)
    bdir = build_mod.build_dir()
    for name in ("ipcsuite-inject", "ipcsuite-fault-prog", "libipcsuite_fault_agent.so"):
        if not (bdir / "bin" / name).is_file():
            deps.ensure_packages()
            build_mod.build()
            break
    doc = measure(bdir, args.calls, args.rounds, not args.no_strace)
    print(json.dumps(doc, indent=2) if args.json else render(doc), flush=True)
    return 0
