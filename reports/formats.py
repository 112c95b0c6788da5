"""Results for the tools kernel and test labs already run: KTAP (kselftest) and kirk's JSON (LTP).

Both are written from results.json beside it (results.ktap, results.kirk.json) by every run and by
`ipcsuite report`; docs/results.md describes the mapping.
"""
from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

# results.json status -> (KTAP result, directive). KTAP (Documentation/dev-tools/ktap.rst) knows ok / not ok
# with the SKIP and TODO directives; an "error" (the machine refused a setup step) is "not ok" with the
# reason in a diagnostic line, as kselftest's harness reports a broken test.
_KTAP = {
    "passed": ("ok", ""),
    "failed": ("not ok", ""),
    "error": ("not ok", ""),
    "skipped": ("ok", "SKIP"),
    "xfailed": ("not ok", "TODO"),
    "xpassed": ("ok", "TODO"),
}

# results.json status -> kirk's result words (libkirk's JSON exporter: pass, fail, brok, conf, warn).
_KIRK = {"passed": "pass", "failed": "fail", "error": "brok", "skipped": "conf", "xfailed": "pass",
         "xpassed": "fail"}


def _ktap_name(text: str) -> str:
    # A KTAP description may not contain '#' (it starts the directive) nor a line break.
    return re.sub(r"[#\s]+", "_", text).strip("_") or "unnamed"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " ..."


def _ktap_tests(tests: list[dict], indent: str) -> list[str]:
    lines = [f"{indent}1..{len(tests)}"]
    for n, t in enumerate(tests, 1):
        result, directive = _KTAP.get(t.get("status"), ("not ok", ""))
        if t.get("rules"):
            lines.append(f"{indent}# {t['id']}: rules {', '.join(t['rules'])}")
        msg = t.get("message") or ""
        if t.get("status") in ("failed", "error") and msg:
            for part in str(msg).splitlines()[:20]:
                lines.append(f"{indent}# {part}".rstrip())
        line = f"{indent}{result} {n} {_ktap_name(t['id'])}"
        if directive:
            reason = _one_line(msg) if msg else ""
            if t.get("status") == "xfailed":
                reason = "expected failure" + (f": {reason}" if reason else "")
            line += f" # {directive}" + (f" {reason}" if reason else "")
        lines.append(line)
    return lines


def _totals(tests: list[dict]) -> str:
    c = {s: sum(1 for t in tests if t.get("status") == s) for s in _KTAP}
    return (f"# Totals: pass:{c['passed']} fail:{c['failed']} xfail:{c['xfailed']} xpass:{c['xpassed']} "
            f"skip:{c['skipped']} error:{c['error']}")


def _targets(doc: dict) -> list[str]:
    names = list((doc.get("targets") or {}).keys())
    for t in doc.get("tests", []):
        name = t.get("target") or (doc.get("environment") or {}).get("target") or "host"
        if name not in names:
            names.append(name)
    return names or [(doc.get("environment") or {}).get("target") or "host"]


def interruption(doc: dict) -> dict | None:
    """results.json's "interrupted" mark (SIGINT, SIGTERM, the run deadline) as {"by", "message", "stopped",
    "not_run"}, or None for a run that ended by itself (a mark that is no object is no mark, as for junit)."""
    mark = doc.get("interrupted")
    if not isinstance(mark, dict):
        return None
    by = _one_line(mark.get("by") or "", 40)
    message = _one_line(mark.get("message") or "", 200) or (f"the run was interrupted ({by})" if by else
                                                            "the run was interrupted")
    counts = {k: mark[k] for k in ("stopped", "not_run") if isinstance(mark.get(k), int)
              and not isinstance(mark.get(k), bool)}
    return {"by": by, "message": message, **counts}


def _interruption_text(mark: dict) -> str:
    parts = [f"{mark['stopped']} tests stopped while running"] if "stopped" in mark else []
    parts += [f"{mark['not_run']} not run"] if "not_run" in mark else []
    return mark["message"] + (f" ({', '.join(parts)})" if parts else "")


def render_ktap(doc: dict) -> str:
    """KTAP version 1: one flat list for one target; for several, one subtest per target. An interrupted run
    (results.json "interrupted") says so in a diagnostic line under the version line and ends with a
    "Bail out!" line after its last result, as kselftest does when it gives up before all tests have run
    (its unfinished tests are "not ok" with the reason, so the plan still adds up)."""
    env = doc.get("environment") or {}
    tests = doc.get("tests", [])
    mark = interruption(doc)
    head = ["KTAP version 1", f"# ipcsuite: kernel {env.get('kernel_release', '?')}, "
            f"{env.get('libc', '?')} {env.get('libc_version', '?')}, seed {env.get('seed', '?')}"]
    bail = []
    if mark:
        head.append(f"# ipcsuite: interrupted: {_interruption_text(mark)}")
        bail = [f"Bail out! {mark['message']}"]
    names = _targets(doc)
    if len(names) <= 1:
        return "\n".join(head + _ktap_tests(tests, "") + bail + [_totals(tests)]) + "\n"
    lines = head + [f"1..{len(names)}"]
    for n, name in enumerate(names, 1):
        mine = [t for t in tests if (t.get("target") or env.get("target") or "host") == name]
        lines += ["    KTAP version 1", f"    # Subtest: {_ktap_name(name)}"]
        lines += _ktap_tests(mine, "    ")
        bad = any(t.get("status") in ("failed", "error", "xpassed") for t in mine)
        lines.append(f"{'not ok' if bad else 'ok'} {n} {_ktap_name(name)}")
    lines += bail
    lines.append(_totals(tests))
    return "\n".join(lines) + "\n"


def _meminfo_kib(key: str) -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _os_release() -> tuple[str, str]:
    try:
        info = platform.freedesktop_os_release()
    except OSError:
        return "", ""
    return info.get("ID", ""), info.get("VERSION_ID", "")


def render_kirk(doc: dict) -> dict:
    """The JSON report LTP's kirk writes (results / stats / environment), one result per test and target."""
    env = doc.get("environment") or {}
    several = len(_targets(doc)) > 1
    results = []
    for t in doc.get("tests", []):
        status = _KIRK.get(t.get("status"), "brok")
        target = t.get("target") or env.get("target") or "host"
        log = [f"rules: {', '.join(t.get('rules', []))}"] if t.get("rules") else []
        if t.get("message"):
            log.append(str(t["message"]))
        if t.get("details") and t["details"] != t.get("message"):
            log.append(str(t["details"]))
        counts = {k: int(status == v) for k, v in (("passed", "pass"), ("failed", "fail"), ("broken", "brok"),
                                                   ("skipped", "conf"), ("warnings", "warn"))}
        results.append({
            "test_fqn": f"{target}:{t['id']}" if several else t["id"],
            "status": status,
            "test": {
                "command": f"{t.get('area', '')}_test",
                "arguments": [f"--gtest_filter={t['id'].split('/', 1)[-1]}"],
                "log": "\n".join(log),
                "retval": ["0" if status in ("pass", "conf") else "1"],
                "duration": float(t.get("duration_s") or 0.0),
                **counts,
                "result": status,
            },
        })
    stat = {k: sum(r["test"][k] for r in results) for k in ("passed", "failed", "broken", "skipped", "warnings")}
    distro, version = _os_release()
    out = {
        "results": results,
        "stats": {"runtime": float(doc.get("duration_s") or 0.0), **stat},
        "environment": {
            "distribution": distro,
            "distribution_version": version,
            "kernel": f"Linux {env.get('kernel_release', '')} {env.get('kernel_version', '')}".strip(),
            "arch": env.get("architecture", platform.machine()),
            "cpu": str(env.get("cpus") or os.cpu_count() or ""),
            "swap": _meminfo_kib("SwapTotal"),
            "RAM": _meminfo_kib("MemTotal"),
        },
    }
    # kirk's format has no field for a run that did not finish (kirk exports what it ran): an interrupted run
    # adds "interrupted" to the environment (a string, as kirk's other environment values, so that a viewer
    # listing them shows it) and at the top level the same object as results.json's.
    mark = interruption(doc)
    if mark:
        out["environment"]["interrupted"] = _interruption_text(mark)
        out["interrupted"] = mark
    return out


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_ktap(path: Path, doc: dict) -> None:
    _write_atomically(path, render_ktap(doc))


def write_kirk(path: Path, doc: dict) -> None:
    _write_atomically(path, json.dumps(render_kirk(doc), indent=2) + "\n")
