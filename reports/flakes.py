"""Flake report: the verdict of every test across repeated runs, and the tests whose verdict changed."""
from __future__ import annotations

from collections import Counter, defaultdict


def compare(docs: list[dict], run_dirs: list[str]) -> dict:
    verdicts: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        for t in doc["tests"]:
            verdicts[f"{t.get('target', 'host')}:{t['id']}"].append(t["status"])
    flaky = []
    for key, statuses in sorted(verdicts.items()):
        if len(set(statuses)) > 1 or len(statuses) != len(docs):
            flaky.append({"test": key, "verdicts": statuses, "counts": dict(Counter(statuses))})
    return {"repeats": len(docs), "runs": run_dirs, "tests": len(verdicts), "flaky": flaky}


def render(report: dict, path: str) -> str:
    lines = [f"flake report: {report['repeats']} runs, {report['tests']} tests, "
             f"{len(report['flaky'])} changed verdict"]
    for f in report["flaky"][:50]:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(f["counts"].items()))
        lines.append(f"  FLAKY   {f['test']}  ({counts})")
    lines.append(f"flake report: {path}")
    return "\n".join(lines)
