"""The short text summary printed after a run: the broken rules first (reports/broken.py), then counts."""
from __future__ import annotations

from collections import defaultdict

from reports import broken

UNEXPECTED = ("failed", "error", "xpassed")
MAX_RULES, MAX_TESTS = 20, 5


def unexpected(doc: dict) -> list[dict]:
    return [t for t in doc["tests"] if t["status"] in UNEXPECTED]


def _target(t: dict, doc: dict) -> str:
    return t.get("target") or doc.get("environment", {}).get("target") or "host"


def _targets(doc: dict) -> list[str]:
    names = list((doc.get("targets") or {}).keys())
    for t in doc["tests"]:
        if _target(t, doc) not in names:
            names.append(_target(t, doc))
    return names


def divergences(doc: dict) -> list[tuple[str, dict[str, str]]]:
    """Tests whose status differs between targets: (id, {target: status}); 'absent' where not run."""
    names = _targets(doc)
    per: dict[str, dict[str, str]] = defaultdict(dict)
    for t in doc["tests"]:
        per[t["id"]][_target(t, doc)] = t["status"]
    out = []
    for tid in sorted(per):
        st = {n: per[tid].get(n, "absent") for n in names}
        if len(set(st.values())) > 1:
            out.append((tid, st))
    # pass/fail divergences first, then those where only skips (or absence) differ
    out.sort(key=lambda x: (not any(s in ("failed", "error", "xpassed", "xfailed") for s in x[1].values()),
                            x[0]))
    return out


def _broken_lines(doc: dict, rules: dict, several_targets: bool) -> list[str]:
    """The broken rules first (rule, page, statement, failing tests with the actual values), then the tests
    that could not check their rules (errors)."""
    lines = []
    found = broken.broken_rules(doc, rules)
    if found:
        lines.append(f"broken rules ({len(found)}): documented behaviour this system does not keep")
        for b in found[:MAX_RULES]:
            where = ", ".join(x for x in (b.page, b.section) if x)
            hint = broken.man_hint(b.page)
            lines.append(f"  {b.id}" + (f"  {where}" if where else "") + (f"  ({hint})" if hint else ""))
            if b.statement:
                lines.append(f"      {_cut(b.statement, 200)}")
            for t in b.tests[:MAX_TESTS]:
                tgt = f"  [target {_target(t, doc)}]" if several_targets else ""
                lines.append(f"    {t['status'].upper():7} {t['id']}  [rules: {', '.join(t['rules']) or '-'}]{tgt}")
                for ln in broken.first_failure(broken.failure_text(t)):
                    lines.append(f"            {_cut(ln, 240)}")
            if len(b.tests) > MAX_TESTS:
                lines.append(f"    ... and {len(b.tests) - MAX_TESTS} more tests")
        if len(found) > MAX_RULES:
            lines.append(f"  ... and {len(found) - MAX_RULES} more rules (see report.html)")
    errors = broken.infrastructure_errors(doc)
    if errors:
        lines.append(f"errors ({len(errors)}): these tests could not check their rules (the machine refused a "
                     "setup step, or the test did not finish)")
        for t in errors[:MAX_RULES]:
            tgt = f"  [target {_target(t, doc)}]" if several_targets else ""
            lines.append(f"  ERROR   {t['id']}  [rules: {', '.join(t['rules']) or '-'}]{tgt}")
            for ln in broken.first_failure(broken.failure_text(t), limit=2):
                lines.append(f"          {_cut(ln, 240)}")
        if len(errors) > MAX_RULES:
            lines.append(f"  ... and {len(errors) - MAX_RULES} more (see results.json)")
    return lines


def _cut(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word (the full text is in the reports)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def render(doc: dict, results_dir: str, slowest: int = 5, rules: dict | None = None) -> str:
    per_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in doc["tests"]:
        per_area[t["area"]][t["status"]] += 1
    cols = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
    shown = [c for c in cols if c in ("passed", "failed", "skipped") or any(a[c] for a in per_area.values())]
    lines = []
    env = doc["environment"]
    lines.append(f"ipcsuite results: kernel {env.get('kernel_release', '?')}, {env.get('libc', '?')} "
                 f"{env.get('libc_version', '?')}, {env.get('architecture', '?')}, target {env.get('target', '?')}"
                 + (f", preload {env['preload']}" if env.get("preload") else ""))
    lines += _broken_lines(doc, rules or {}, len(_targets(doc)) > 1)
    header = f"  {'area':<10}" + "".join(f"{c:>9}" for c in shown)
    lines.append(header)
    for area in sorted(per_area):
        lines.append(f"  {area:<10}" + "".join(f"{per_area[area][c]:>9}" for c in shown))
    total = doc["counts"]
    lines.append(f"  {'total':<10}" + "".join(f"{total.get(c, 0):>9}" for c in shown))
    names = _targets(doc)
    if len(names) > 1:
        lines.append(f"  {'target':<32}" + "".join(f"{c:>9}" for c in shown) + "  kernel")
        for name in names:
            ts = [t for t in doc["tests"] if _target(t, doc) == name]
            env_t = (doc.get("targets") or {}).get(name, {})
            lines.append(f"  {name[:32]:<32}" + "".join(f"{sum(1 for t in ts if t['status'] == c):>9}"
                                                        for c in shown)
                         + f"  {env_t.get('kernel_release', '?')}"
                         + (f" ({env_t['wall_s']:.1f} s)" if env_t.get("wall_s") is not None else ""))
        div = divergences(doc)
        if div:
            lines.append(f"divergences between targets: {len(div)} tests (see report.html)")
            for tid, st in div[:15]:
                lines.append(f"  {tid}: " + ", ".join(f"{n}={s}" for n, s in st.items()))
            if len(div) > 15:
                lines.append(f"  ... and {len(div) - 15} more")
    tests = sorted(doc["tests"], key=lambda t: t["duration_s"], reverse=True)[:slowest]
    if tests:
        lines.append("slowest tests:")
        for t in tests:
            lines.append(f"  {t['duration_s']:8.3f} s  {t['id']}")
    skipped = [t for t in doc["tests"] if t["status"] == "skipped"]
    if skipped:
        reasons: dict[str, int] = defaultdict(int)
        for t in skipped:
            reasons[t["message"] or "no reason"] += 1
        lines.append("skip reasons:")
        for r, n in sorted(reasons.items(), key=lambda x: -x[1])[:8]:
            lines.append(f"  {n:4} x {_cut(r, 160)}")
    lines.append(f"reports: {results_dir}/results.json, {results_dir}/junit.xml, {results_dir}/report.html")
    # `error` (the rule was not checked: the machine refused a setup step) is counted apart from `failed`
    # (the rule was checked and broken); expected failures are shown only when there are some.
    tail = "".join(f", {total[k]} {k}" for k in ("xfailed", "xpassed") if total.get(k))
    lines.append(f"{total.get('passed', 0)} passed, {total.get('failed', 0)} failed, {total.get('error', 0)} errors, "
                 f"{total.get('skipped', 0)} skipped{tail}")
    return "\n".join(lines)
