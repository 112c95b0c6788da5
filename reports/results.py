"""results.json: one entry per test with its status, duration, rules and message."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")


def _props(report) -> dict:
    props: dict = {}
    for k, v in getattr(report, "user_properties", []):
        props[k] = v
    return props


def _longrepr_text(report) -> str:
    lr = report.longrepr
    if lr is None:
        return ""
    if isinstance(lr, tuple) and len(lr) == 3:  # skip: (file, line, reason)
        return str(lr[2]).removeprefix("Skipped: ")
    return str(lr)


def record_report(records: dict, report) -> None:
    """Folds one pytest phase report (setup, call, teardown) into records[nodeid]."""
    props = _props(report)
    rec = records.setdefault(report.nodeid, {
        "nodeid": report.nodeid, "status": None, "duration_s": 0.0, "message": "",
    })
    rec["duration_s"] += float(getattr(report, "duration", 0.0) or 0.0)
    rec["area"] = props.get("area", rec.get("area") or "runner")
    rec["rules"] = [r for r in props.get("rules", "").split(",") if r] or rec.get("rules", [])
    if props.get("location"):
        rec["location"] = props["location"]
    name = report.nodeid.split("::", 1)[-1]
    rec["id"] = f"{rec['area']}/{name}"
    wasxfail = hasattr(report, "wasxfail")
    status = None
    if report.when == "setup":
        if report.failed:
            status = "error"
        elif report.skipped:
            status = "xfailed" if wasxfail else "skipped"
    elif report.when == "call":
        if wasxfail:
            status = "xfailed" if report.skipped else ("xpassed" if report.passed else "failed")
        else:
            status = report.outcome  # passed, failed, skipped
    elif report.when == "teardown" and report.failed and rec["status"] in (None, "passed"):
        status = "error"
    if status is not None:
        rec["status"] = status
        if status in ("failed", "error", "skipped", "xfailed"):
            msg = props.get("message") or _longrepr_text(report).strip()
            rec["message"] = msg
            rec["details"] = _longrepr_text(report)[-4000:] if status in ("failed", "error") else ""


def environment(target: str, seed: str, preload: str) -> dict:
    libc_name, libc_version = platform.libc_ver()
    return {
        "kernel_release": platform.release(),
        "kernel_version": platform.version(),
        "libc": libc_name or "unknown",
        "libc_version": libc_version or "unknown",
        "architecture": platform.machine(),
        "target": target,
        "command_line": os.environ.get("IPCSUITE_COMMAND_LINE") or " ".join(sys.argv),
        "seed": seed,
        "preload": preload or None,
        "uid": os.geteuid(),
        "cpus": os.cpu_count(),
        "run_id": os.environ.get("IPCSUITE_RUN_ID", ""),
    }


def write_results(path: Path, records: dict, *, target: str, seed: str, preload: str, started: float) -> dict:
    tests = []
    for rec in records.values():
        entry = {
            "id": rec["id"], "nodeid": rec["nodeid"], "area": rec["area"],
            "status": rec["status"] or "error", "duration_s": round(rec["duration_s"], 6),
            "rules": rec.get("rules", []), "message": rec.get("message", ""),
        }
        if rec.get("location"):
            entry["location"] = rec["location"]
        if rec.get("details"):
            entry["details"] = rec["details"]
        entry["target"] = target
        tests.append(entry)
    tests.sort(key=lambda t: t["id"])
    counts = {s: sum(1 for t in tests if t["status"] == s) for s in STATUSES}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "environment": environment(target, seed, preload),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 3),
        "counts": counts,
        "tests": tests,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return doc


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())
