"""report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Sections: the gate and the broken rules first (rule, man page linked to man7.org, statement, failing tests
with the actual values), summary cards, targets, charts, per-area table, failure details, target matrix
(divergences first), and the rules catalogue per area (broken rules first), each rule with its status per
target.
"""
from __future__ import annotations

import html
from collections import defaultdict

from reports import broken
from reports import results as results_mod


STATUS_ORDER = ("passed", "failed", "error", "xpassed", "xfailed", "skipped")
COLORS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6a1b9a", "xpassed": "#ef6c00",
          "xfailed": "#9e9d24", "skipped": "#78909c", "absent": "#e0e0e0"}
BAD = ("failed", "error", "xpassed")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#212121;background:#fafafa;overflow-wrap:anywhere}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;background:#fff;margin:6px 0} th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0} td.n{text-align:right;font-variant-numeric:tabular-nums}
.st{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}
.passed{background:#2e7d32}.failed{background:#c62828}.error{background:#6a1b9a}.xpassed{background:#ef6c00}
.xfailed{background:#9e9d24}.skipped{background:#78909c}.absent{background:#bdbdbd}
.gate-ok{color:#2e7d32;font-weight:600}.gate-bad{color:#c62828;font-weight:600}
.msg{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;max-width:900px}
.env{color:#555} .cards{display:flex;gap:12px;flex-wrap:wrap} .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.card b{font-size:20px;display:block} details{margin:4px 0} tr.div td{background:#fff8e1}
.rule{background:#fff;border-left:4px solid #c62828;padding:4px 12px;margin:8px 0} .rule p{margin:4px 0}
tr:target td{background:#fff3e0}
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _badge(status: str) -> str:
    return f'<span class="st {_e(status)}">{_e(status)}</span>'


def divergent(statuses: dict[str, str]) -> bool:
    """A test diverges when the targets disagree on pass/fail (skips and expectations included)."""
    return len(set(statuses.values())) > 1


def _bar_chart(title: str, rows: list[tuple[str, float]], unit: str) -> str:
    if not rows:
        return ""
    w, bar_h, label_w = 560, 20, 110
    top = max(v for _, v in rows) or 1.0
    h = len(rows) * (bar_h + 6) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="{_e(title)}"><text x="0" y="14" font-size="13" font-weight="600">{_e(title)}</text>']
    for i, (label, v) in enumerate(rows):
        y = 24 + i * (bar_h + 6)
        bw = max(1.0, (w - label_w - 90) * v / top)
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{_e(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="#1565c0"/>'
                     f'<text x="{label_w + bw + 6:.1f}" y="{y + 14}" font-size="12">{v:.2f} {unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _stacked_chart(title: str, rows: list[tuple[str, dict[str, int]]]) -> str:
    if not rows:
        return ""
    w, bar_h, label_w = 640, 22, 190
    h = len(rows) * (bar_h + 8) + 56
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="{_e(title)}"><text x="0" y="14" font-size="13" font-weight="600">{_e(title)}</text>']
    for i, (label, counts) in enumerate(rows):
        y = 24 + i * (bar_h + 8)
        total = sum(counts.values()) or 1
        x = float(label_w)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{_e(label[:28])}</text>')
        for s in STATUS_ORDER:
            n = counts.get(s, 0)
            if not n:
                continue
            bw = (w - label_w - 10) * n / total
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="{COLORS[s]}">'
                         f'<title>{_e(s)}: {n}</title></rect>')
            x += bw
    ly = 24 + len(rows) * (bar_h + 8) + 8
    lx = 0
    for s in STATUS_ORDER:
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{COLORS[s]}"/>'
                     f'<text x="{lx + 16}" y="{ly + 11}" font-size="12">{s}</text>')
        lx += 90
    parts.append("</svg>")
    return "".join(parts)


def _page_link(page: str) -> str:
    """The man page linked to man7.org, with the local command as its tooltip (offline: `man 2 semop`)."""
    url = broken.man_url(page)
    if not url:
        return _e(page)
    return f'<a href="{_e(url)}" title="locally: {_e(broken.man_hint(page))}">{_e(page)}</a>'


def _relative(text: str) -> str:
    return broken.relative(text)


def _broken_section(doc: dict, rules: dict, several_targets: bool) -> list[str]:
    found = broken.broken_rules(doc, rules)
    out = [f"<h2 id=\"broken\">Broken rules ({len(found)})</h2>"]
    if not found:
        out.append("<p>None: every rule this run checked was kept.</p>")
    for b in found:
        out.append(f'<div class="rule"><p><a href="#rule-{_e(b.id)}"><b>{_e(b.id)}</b></a> — '
                   f'{_page_link(b.page)}{(", " + _e(b.section)) if b.section else ""}'
                   + (f' <small>({_e(broken.man_hint(b.page))})</small>' if broken.man_hint(b.page) else "")
                   + f'</p><p>{_e(b.statement)}</p><ul>')
        for t in b.tests:
            tgt = f" on {_e(results_mod.target_of(t, doc))}" if several_targets else ""
            first = "\n".join(broken.first_failure(broken.failure_text(t)))
            out.append(f"<li>{_badge(t['status'])} <b>{_e(t['id'])}</b>{tgt} <small>{_e(t.get('location', ''))}"
                       f"</small><div class=\"msg\">{_e(first)}</div></li>")
        out.append("</ul></div>")
    errors = broken.infrastructure_errors(doc)
    if errors:
        out.append(f"<p><b>{len(errors)} tests could not check their rules</b> (error: the machine refused a setup "
                   "step, or the test did not finish): see <a href=\"#failures\">Unexpected results</a>.</p>")
    return out


def render(doc: dict, rules: dict | None = None) -> str:
    rules = rules or {}
    targets = results_mod.target_names(doc)
    envs = doc.get("targets") or {}
    env = doc.get("environment", {})
    by_test: dict[str, dict[str, dict]] = defaultdict(dict)
    for t in doc["tests"]:
        by_test[t["id"]][results_mod.target_of(t, doc)] = t
    counts = results_mod.count(doc["tests"])
    bad = [t for t in doc["tests"] if t["status"] in BAD]
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>ipcsuite report {_e(env.get('run_id', ''))}</title><style>{CSS}</style></head><body>"]
    # ---- summary ----
    out.append(f"<h1>ipcsuite report {_e(env.get('run_id', ''))}</h1>")
    out.append(f'<p class="env">started {_e(doc.get("started", ""))}, {len(doc["tests"])} results over '
               f'{len(targets)} target(s); command: <code>{_e(env.get("command_line", ""))}</code></p>')
    gate = ('<span class="gate-bad">gate: FAILED</span> — unexpected results below' if bad
            else '<span class="gate-ok">gate: passed</span> — nothing unexpected')
    out.append(f"<p id=\"gate\">{gate}</p>")
    out += _broken_section(doc, rules, len(targets) > 1)
    out.append("<div class=\"cards\">")
    for s in STATUS_ORDER:
        out.append(f'<div class="card"><b>{counts.get(s, 0)}</b>{_badge(s)}</div>')
    out.append("</div>")
    out.append("<h2 id=\"targets\">Targets</h2><table><tr><th>target</th><th>kernel</th><th>libc</th>"
               "<th>arch</th><th>details</th>" + "".join(f"<th>{s}</th>" for s in STATUS_ORDER) + "</tr>")
    for name in targets:
        te = envs.get(name) or env
        tc = results_mod.count([t for t in doc["tests"] if results_mod.target_of(t, doc) == name])
        extra = []
        if te.get("accel"):
            extra.append(f"qemu {str(te['accel']).upper()}, guest wall {te.get('boot_wall_s', '?')} s")
        if te.get("wall_s") is not None:
            extra.append(f"wall {te['wall_s']} s")
        if te.get("preload"):
            extra.append(f"preload {te['preload']}")
        out.append(f"<tr><td><b>{_e(name)}</b></td><td>{_e(te.get('kernel_release', '?'))}</td>"
                   f"<td>{_e(te.get('libc', '?'))} {_e(te.get('libc_version', ''))}</td>"
                   f"<td>{_e(te.get('architecture', '?'))}</td><td>{_e('; '.join(extra))}</td>"
                   + "".join(f'<td class="n">{tc.get(s, 0)}</td>' for s in STATUS_ORDER) + "</tr>")
    out.append("</table>")
    # ---- charts ----
    area_time: dict[str, float] = defaultdict(float)
    for t in doc["tests"]:
        area_time[t["area"]] += float(t.get("duration_s") or 0)
    out.append("<h2 id=\"charts\">Charts</h2><div class=\"cards\">")
    out.append('<div class="card">' + _bar_chart("Time per area (s, all targets)",
                                                  sorted(area_time.items(), key=lambda x: -x[1]), "s") + "</div>")
    out.append('<div class="card">' + _stacked_chart(
        "Results per target",
        [(n, results_mod.count([t for t in doc["tests"] if results_mod.target_of(t, doc) == n]))
         for n in targets]) + "</div></div>")
    # ---- per-area table ----
    per_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in doc["tests"]:
        per_area[t["area"]][t["status"]] += 1
    out.append("<h2 id=\"areas\">Per area</h2><table><tr><th>area</th>"
               + "".join(f"<th>{s}</th>" for s in STATUS_ORDER) + "<th>time (s)</th></tr>")
    for area in sorted(per_area):
        out.append(f"<tr><td>{_e(area)}</td>" + "".join(f'<td class="n">{per_area[area].get(s, 0)}</td>'
                                                         for s in STATUS_ORDER)
                   + f'<td class="n">{area_time[area]:.2f}</td></tr>')
    out.append("</table>")
    # ---- failures ----
    out.append(f"<h2 id=\"failures\">Unexpected results ({len(bad)})</h2>")
    if not bad:
        out.append("<p>None.</p>")
    for i, t in enumerate(bad):
        rl = ", ".join(t.get("rules", [])) or "-"
        out.append(f"<details{' open' if i < 5 else ''}><summary>{_badge(t['status'])} <b>{_e(t['id'])}</b> on "
                   f"{_e(results_mod.target_of(t, doc))} — rules {_e(rl)} — {_e(t.get('location', ''))}"
                   f"</summary><div class=\"msg\">{_e(_relative(t.get('details') or t.get('message', '')))}</div></details>")
    # ---- matrix ----
    rows = []
    for tid, per in by_test.items():
        st = {n: per[n]["status"] if n in per else "absent" for n in targets}
        rows.append((not divergent(st), not any(s in BAD for s in st.values()), tid, st, per))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    ndiv = sum(1 for r in rows if not r[0])
    out.append(f"<h2 id=\"matrix\">Target matrix ({ndiv} divergent of {len(rows)} tests, divergences first)"
               "</h2><table><tr><th>test</th>" + "".join(f"<th>{_e(n)}</th>" for n in targets)
               + "<th>why (messages, expectations)</th></tr>")
    for same, _ok, tid, st, per in rows:
        why = []
        for n in targets:
            t = per.get(n)
            if t and t["status"] != "passed":
                e = t.get("expectation")
                note = f"expected ({e['reason']}{'; ' + e['bug'] if e.get('bug') else ''})" if e else ""
                msg = _relative(t.get("message") or "").splitlines()[0][:200] if t.get("message") else ""
                why.append(f"<b>{_e(n)}</b>: {_e(note + (' — ' if note and msg else '') + msg)}")
        cls = ' class="div"' if not same else ""
        out.append(f"<tr{cls}><td>{_e(tid)}</td>" + "".join(f"<td>{_badge(st[n])}</td>" for n in targets)
                   + f"<td class=\"msg\">{'<br>'.join(why)}</td></tr>")
    out.append("</table>")
    # ---- rules: per area, broken rules first; each row is the target of the links above ----
    rule_tests: dict[str, list[dict]] = defaultdict(list)
    for t in doc["tests"]:
        for r in t.get("rules", []):
            rule_tests[r].append(t)
    all_rules = sorted(set(rules) | set(rule_tests))
    by_area: dict[str, list[str]] = defaultdict(list)
    for rid in all_rules:
        by_area[rid.split(".", 1)[0]].append(rid)
    broken_ids = {b.id for b in broken.broken_rules(doc, rules)}
    out.append(f"<h2 id=\"rules\">Rules catalogue ({len(all_rules)} rules, {len(broken_ids)} broken)</h2>"
               "<p>Areas: " + " · ".join(
                   f'<a href="#cat-{_e(a)}">{_e(a)}</a>'
                   + (f' <span class="gate-bad">{n} broken</span>' if (n := len(broken_ids.intersection(ids)))
                      else "")
                   for a, ids in sorted(by_area.items())) + "</p>")
    for area, ids in sorted(by_area.items()):
        ids.sort(key=lambda rid: (rid not in broken_ids, rid))
        out.append(f"<h3 id=\"cat-{_e(area)}\">{_e(area)}</h3><table><tr><th>rule</th><th>page</th><th>errno</th>"
                   "<th>statement</th>" + "".join(f"<th>{_e(n)}</th>" for n in targets) + "</tr>")
        for rid in ids:
            r = rules.get(rid, {})
            cells = []
            for n in targets:
                ts = [t for t in rule_tests.get(rid, []) if results_mod.target_of(t, doc) == n]
                if r.get("status") == "not-provokable":
                    cells.append('<td title="' + _e(r.get("reason") or "") + '">not provokable</td>')
                elif not ts:
                    cells.append(f"<td>{_badge('absent')}</td>")
                else:
                    worst = next((s for s in ("error", "failed", "xpassed", "xfailed", "skipped", "passed")
                                  if any(t["status"] == s for t in ts)), "passed")
                    cells.append(f"<td>{_badge(worst)} <small>{len(ts)}</small></td>")
            out.append(f"<tr id=\"rule-{_e(rid)}\"><td>{_e(rid)}</td><td>{_page_link(r.get('page', ''))}</td>"
                       f"<td>{_e(r.get('errno') or '')}</td><td>{_e(r.get('statement', ''))}</td>{''.join(cells)}</tr>")
        out.append("</table>")
    exps = doc.get("expectations") or []
    if exps:
        out.append("<h2 id=\"expectations\">Expectations in force</h2><table><tr><th>target</th><th>test</th>"
                   "<th>expect</th><th>reason</th><th>bug</th><th>source</th></tr>")
        for e in exps:
            out.append(f"<tr><td>{_e(e['target'])}</td><td>{_e(e['test'])}</td><td>{_e(e['expect'])}</td>"
                       f"<td>{_e(e['reason'])}</td><td>{_e(e.get('bug') or '')}</td><td>{_e(e['source'])}</td></tr>")
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
