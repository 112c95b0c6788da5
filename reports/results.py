"""results.json: one entry per test with its status, duration, rules and message."""
from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

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
    if "guest_duration_s" in props:
        # A qemu target's test ran in the guest: its duration is the guest's measure of it (init.c's
        # elapsed_ms), not the time pytest took to replay its record.
        rec["duration_s"] = float(props["guest_duration_s"])
        rec["guest"] = True
    elif "process_duration_s" in props:
        # Started ahead of its item (runner/inflight.py): the test process's own time, not the item's wait.
        rec["duration_s"] = float(props["process_duration_s"])
        rec["measured"] = True
    elif not rec.get("guest") and not rec.get("measured"):
        rec["duration_s"] += float(getattr(report, "duration", 0.0) or 0.0)
    rec["area"] = props.get("area", rec.get("area") or "runner")
    rec["rules"] = [r for r in props.get("rules", "").split(",") if r] or rec.get("rules", [])
    if props.get("location"):
        rec["location"] = props["location"]
    # A suite test names its id (area/Suite.Name); the runner's own Python tests get runner/<name>.
    rec["id"] = props.get("id") or f"{rec['area']}/{report.nodeid.split('::', 1)[-1]}"
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
            if status == "failed" and props.get("verdict") == "error":
                status = "error"  # the machine refused a setup step: not a conformance verdict
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
        # conditions of the run: the property tests' soak factor (--soak) and the background load (--load)
        "soak": int(os.environ["IPCSUITE_SOAK"]) if os.environ.get("IPCSUITE_SOAK", "").isdigit() else None,
        "load": os.environ.get("IPCSUITE_LOAD") or None,
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


# ---- several targets (or several machines) in one report ----

def target_of(test: dict, doc: dict | None = None) -> str:
    return test.get("target") or ((doc or {}).get("environment") or {}).get("target") or "host"


def count(tests: list[dict]) -> dict:
    return {s: sum(1 for t in tests if t["status"] == s) for s in STATUSES}


def merge_docs(docs: list[dict], run_id: str = "") -> tuple[dict, list[str]]:
    """Combines results.json documents (targets of one run, or shards from many machines) into one.

    Tests are keyed by (target, id); a test present in several documents keeps the last one (the note says
    so). Each target's environment is kept under "targets". Returns (doc, notes).
    """
    notes: list[str] = []
    tests: dict[tuple[str, str], dict] = {}
    targets: dict[str, dict] = {}
    started, duration = None, 0.0
    for doc in docs:
        env = doc.get("environment", {})
        per_target = doc.get("targets") or {}
        for t in doc.get("tests", []):
            name = target_of(t, doc)
            entry = dict(t, target=name)
            key = (name, entry["id"])
            if key in tests and tests[key]["status"] != entry["status"]:
                notes.append(f"{name} {entry['id']}: {tests[key]['status']} replaced by {entry['status']}")
            tests[key] = entry
            if name not in targets:
                tenv = dict(per_target.get(name) or env)
                tenv["target"] = name
                targets[name] = tenv
        for name, tenv in per_target.items():
            targets.setdefault(name, dict(tenv, target=name))
        if doc.get("started") and (started is None or doc["started"] < started):
            started = doc["started"]
        duration += float(doc.get("duration_s", 0.0) or 0.0)
    out_tests = sorted(tests.values(), key=lambda t: (t["id"], t["target"]))
    first = dict(next(iter(targets.values()), {}) or (docs[0].get("environment", {}) if docs else {}))
    first["target"] = ",".join(targets) or first.get("target", "host")
    if run_id:
        first["run_id"] = run_id
    doc = {
        "schema_version": SCHEMA_VERSION,
        "environment": first,
        "targets": targets,
        "started": started or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration, 3),
        "counts": count(out_tests),
        "tests": out_tests,
    }
    return doc, notes


def target_names(doc: dict) -> list[str]:
    names = list((doc.get("targets") or {}).keys())
    for t in doc["tests"]:
        n = target_of(t, doc)
        if n not in names:
            names.append(n)
    return names or [doc.get("environment", {}).get("target", "host")]


def recount(doc: dict) -> dict:
    doc["counts"] = count(doc["tests"])
    return doc


def write_doc(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def write_junit(path: Path, doc: dict) -> None:
    """JUnit XML with one <testsuite> per target; each case carries area, rules, location and target."""
    root = ET.Element("testsuites")
    for name in target_names(doc):
        tests = [t for t in doc["tests"] if target_of(t, doc) == name]
        c = count(tests)
        env = (doc.get("targets") or {}).get(name) or doc.get("environment", {})
        suite = ET.SubElement(root, "testsuite", {
            "name": f"ipcsuite.{name}", "tests": str(len(tests)),
            "failures": str(c["failed"] + c["xpassed"]), "errors": str(c["error"]),
            "skipped": str(c["skipped"] + c["xfailed"]),
            "time": f"{sum(t['duration_s'] for t in tests):.3f}",
            "timestamp": str(doc.get("started", "")).removesuffix("Z"),
            "hostname": str(env.get("hostname") or socket.gethostname()),
        })
        props = ET.SubElement(suite, "properties")
        for k in ("target", "kernel_release", "libc", "libc_version", "architecture", "seed", "preload"):
            if env.get(k) not in (None, ""):
                ET.SubElement(props, "property", {"name": k, "value": str(env[k])})
        for t in tests:
            suite_name, _, case_name = t["id"].partition("/")[2].partition(".")
            tc = ET.SubElement(suite, "testcase", {
                "classname": f"{name}.{t['area']}.{suite_name}", "name": case_name or t["id"],
                "time": f"{t['duration_s']:.3f}"})
            msg = t.get("message", "")
            rules = ", ".join(t.get("rules", []))
            if t["status"] in ("failed", "xpassed"):
                kind = "unexpected-pass" if t["status"] == "xpassed" else "rule-broken"
                el = ET.SubElement(tc, "failure", {"message": msg[:1000] or t["status"], "type": kind})
                el.text = t.get("details") or msg
            elif t["status"] == "error":
                el = ET.SubElement(tc, "error", {"message": msg[:1000] or "error", "type": "infrastructure"})
                el.text = t.get("details") or msg
            elif t["status"] in ("skipped", "xfailed"):
                ET.SubElement(tc, "skipped", {"message": (("expected failure: " if t["status"] == "xfailed"
                                                          else "") + msg)[:1000]})
            # The xunit schema has no per-case properties: the rules, area, source and target go here.
            out = ET.SubElement(tc, "system-out")
            out.text = (f"rules: {rules}\narea: {t['area']}\nlocation: {t.get('location', '')}\n"
                        f"target: {name}\n")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
