"""The short text summary printed after a run."""
from __future__ import annotations

from collections import defaultdict

UNEXPECTED = ("failed", "error", "xpassed")


def unexpected(doc: dict) -> list[dict]:
    return [t for t in doc["tests"] if t["status"] in UNEXPECTED]


def render(doc: dict, results_dir: str, slowest: int = 5) -> str:
    per_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in doc["tests"]:
        per_area[t["area"]][t["status"]] += 1
    cols = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
    shown = [c for c in cols if c in ("passed", "failed", "skipped") or any(a[c] for a in per_area.values())]
    lines = []
    env = doc["environment"]
    lines.append(f"ipcsuite results: kernel {env['kernel_release']}, {env['libc']} {env['libc_version']}, "
                 f"{env['architecture']}, target {env['target']}"
                 + (f", preload {env['preload']}" if env.get("preload") else ""))
    header = f"  {'area':<10}" + "".join(f"{c:>9}" for c in shown)
    lines.append(header)
    for area in sorted(per_area):
        lines.append(f"  {area:<10}" + "".join(f"{per_area[area][c]:>9}" for c in shown))
    total = doc["counts"]
    lines.append(f"  {'total':<10}" + "".join(f"{total.get(c, 0):>9}" for c in shown))
    tests = sorted(doc["tests"], key=lambda t: t["duration_s"], reverse=True)[:slowest]
    if tests:
        lines.append("slowest tests:")
        for t in tests:
            lines.append(f"  {t['duration_s']:8.3f} s  {t['id']}")
    bad = unexpected(doc)
    if bad:
        lines.append("unexpected results:")
        for t in bad[:50]:
            rules = ", ".join(t["rules"]) or "-"
            msg = t["message"].splitlines()[0][:160] if t["message"] else ""
            lines.append(f"  {t['status'].upper():7} {t['id']}  [rules: {rules}]")
            if msg:
                lines.append(f"          {msg}")
        if len(bad) > 50:
            lines.append(f"  ... and {len(bad) - 50} more (see results.json)")
    skipped = [t for t in doc["tests"] if t["status"] == "skipped"]
    if skipped:
        reasons: dict[str, int] = defaultdict(int)
        for t in skipped:
            reasons[t["message"] or "no reason"] += 1
        lines.append("skip reasons:")
        for r, n in sorted(reasons.items(), key=lambda x: -x[1])[:8]:
            lines.append(f"  {n:4} x {r[:150]}")
    lines.append(f"reports: {results_dir}/results.json, {results_dir}/junit.xml")
    lines.append(f"{total.get('passed', 0)} passed, {total.get('failed', 0) + total.get('error', 0)} failed, "
                 f"{total.get('skipped', 0)} skipped")
    return "\n".join(lines)
