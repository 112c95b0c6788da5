"""./ipcsuite bench ring: the reference rings (the System V one, property/ring.h, and the POSIX one,
property/posix_ring.h) against a pipe and a SysV message queue.

build/bin/ipcsuite-ring-bench moves the same messages (64 B, 4 KiB, 64 KiB) from 1 or 2 producer processes
to one consumer process over each transport, side by side in every round, inside a private IPC namespace
(a killed benchmark leaks no SysV object; the POSIX ring's name is unlinked as soon as it is mapped).
Reported: the median over the rounds of messages/s and MB/s, each ring's ratio to the pipe and to the
message queue, and the CPU time per message of all the measurement's processes (median; unlike
throughput, not changed by other load on the machine). Goal (the System V ring's): ring >= pipe at 4 KiB
and ring > message queue; the POSIX ring's ratios are shown beside it.

Wiring (runner/bench_cmd.py): add_ring_arguments(parser) on the `bench ring` sub-parser, run_ring(args).
"""
from __future__ import annotations

import json
import statistics
import subprocess

from runner import argtypes
from runner import build as build_mod
from runner import deps
from runner.errors import SetupError, UsageError

TRANSPORTS = ("ring", "posix", "pipe", "msgq")
RATIOS = [(ring, other) for ring in ("ring", "posix") for other in ("pipe", "msgq")]  # each ring against each
BINARY = "ipcsuite-ring-bench"


def _int_list(text):
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"bench ring: expected a comma-separated list of numbers, not {text!r}") from None
    if not vals or any(v < 1 for v in vals):
        raise UsageError(f"bench ring: expected positive numbers, not {text!r}")
    return vals


def add_ring_arguments(parser):
    parser.add_argument("--sizes", type=_int_list, default=[64, 4096, 65536], metavar="B,B,...",
                        help="message sizes in bytes (default 64,4096,65536)")
    parser.add_argument("--producers", type=_int_list, default=[1, 2], metavar="N,N,...",
                        help="producer process counts (default 1,2)")
    parser.add_argument("--rounds", type=argtypes.int_at_least(1, "bench ring: --rounds"), default=5, metavar="R",
                        help="side-by-side rounds; medians are reported (default 5)")
    parser.add_argument("--mib", type=argtypes.int_at_least(1, "bench ring: --mib"), default=64, metavar="M",
                        help="MiB moved per measurement (at least 1000, at most 200000 messages; default 64)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def measure(bdir, sizes, producers, rounds, mib) -> dict:
    cmd = [str(bdir / "bin" / BINARY), "--sizes", ",".join(map(str, sizes)),
           "--producers", ",".join(map(str, producers)), "--rounds", str(rounds), "--mib", str(mib)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise SetupError(f"bench ring: {BINARY} exited {proc.returncode}: "
                         f"{(proc.stderr.strip().splitlines() or [''])[-1]}")
    samples: dict[tuple, list] = {}
    for line in proc.stdout.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split())
        key = (f["transport"], int(f["size"]), int(f["producers"]))
        samples.setdefault(key, []).append((int(f["messages"]), float(f["seconds"]), float(f["cpu"])))
    rows = []
    for size in sizes:
        for p in producers:
            row = {"size": size, "producers": p}
            for t in TRANSPORTS:
                runs = samples.get((t, size, p), [])
                if not runs:
                    raise SetupError(f"bench ring: no measurement for {t} size={size} producers={p}")
                mps = statistics.median(n / s for n, s, _ in runs)
                # CPU time per message (all processes): unlike wall time, not inflated by other load.
                cpu_us = statistics.median(c / n * 1e6 for n, _, c in runs)
                row[t] = {"messages_per_s": mps, "mb_per_s": mps * size / 1e6, "cpu_us_per_message": cpu_us,
                          "samples_s": [s for _, s, _ in runs]}
            for ring, other in RATIOS:
                row[f"{ring}_over_{other}"] = row[ring]["messages_per_s"] / row[other]["messages_per_s"]
            rows.append(row)
    return {"rounds": rounds, "mib": mib, "rows": rows}


def render(doc: dict) -> str:
    lines = [f"bench ring: median of {doc['rounds']} side-by-side rounds, {doc['mib']} MiB per measurement "
             "(1 consumer process; msg/s and MB/s)"]
    hdr = f"{'size':>7} {'prod':>4} " + " ".join(f"{t + ' msg/s':>13} {t + ' MB/s':>10}" for t in TRANSPORTS)
    lines.append(hdr + " " + " ".join(f"{ring + '/' + other:>10}" for ring, other in RATIOS)
                 + "  CPU us/msg " + " ".join(TRANSPORTS))
    for r in doc["rows"]:
        cells = " ".join(f"{r[t]['messages_per_s']:>13,.0f} {r[t]['mb_per_s']:>10,.1f}" for t in TRANSPORTS)
        cpu = " ".join(f"{r[t]['cpu_us_per_message']:>5.2f}" for t in TRANSPORTS)
        lines.append(f"{r['size']:>7} {r['producers']:>4} {cells} "
                     + " ".join(f"{r[ring + '_over_' + other]:>10.2f}" for ring, other in RATIOS) + f"  {cpu:>32}")
    at4k = [r for r in doc["rows"] if r["size"] == 4096]
    if at4k:
        ok = all(r["ring_over_pipe"] >= 1 for r in at4k)
        ratios = ", ".join(f"{r['ring_over_pipe']:.2f}x with {r['producers']} producer(s)" for r in at4k)
        lines.append(f"goal ring >= pipe at 4 KiB: {'met' if ok else 'MISSED'} ({ratios})")
    ok = all(r["ring_over_msgq"] > 1 for r in doc["rows"])
    worst = min(doc["rows"], key=lambda r: r["ring_over_msgq"])
    lines.append(f"goal ring > message queue: {'met everywhere' if ok else 'MISSED'} "
                 f"(worst {worst['ring_over_msgq']:.2f}x at {worst['size']} B with {worst['producers']} producer(s))")
    return "\n".join(lines)


def run_ring(args) -> int:
    bdir = build_mod.build_dir()
    if not (bdir / "bin" / BINARY).is_file():
        deps.ensure_packages()
        build_mod.build()
    doc = measure(bdir, args.sizes, args.producers, args.rounds, args.mib)
    print(json.dumps(doc, indent=2) if args.json else render(doc), flush=True)
    return 0
