"""The plan of one target's part of a run: the exact tests to run, written once by the CLI.

The CLI (runner/run_cmd.py) is the only place that lists the test binaries, filters and shards; it writes
`<part>/plan.json` and gives pytest its path. The plugin (runner/plugin.py), in the controller and in every
xdist worker, makes one item per planned test, in plan order, from this file alone.

    {"version": 1,
     "target": <targets.Target.to_data()>,
     "seed": <int>, "test_timeout": <float s>, "preload": "<abs path or empty>",
     "replay": "<path to the qemu guest's guest.json or empty>",
     "in_flight": <int: how many tests one pytest process keeps running at once (runner/inflight.py); 1: one>,
     "tests": [{"id": "area/Suite.Name", "area": ..., "binary": "<abs path>", "name": "Suite.Name",
                "location": "file:line", "rules": ["rule.id", ...]}, ...]}
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from runner.catalogue import TestCase
from runner.errors import SetupError

VERSION = 1


@dataclass
class Plan:
    target: dict                  # targets.Target.to_data(); targets.from_data() rebuilds the Target
    seed: int
    test_timeout: float
    preload: str = ""
    replay: str = ""
    tests: list[TestCase] = field(default_factory=list)
    in_flight: int = 1


def _case_data(case: TestCase) -> dict:
    return {"id": case.id, "area": case.area, "binary": str(case.binary), "name": case.name,
            "location": case.location, "rules": list(case.rules)}


def _case(d: dict) -> TestCase:
    return TestCase(binary=Path(d["binary"]), area=d["area"], name=d["name"], location=d.get("location", ""),
                    rules=list(d.get("rules", [])))


def write_plan(path: Path, *, target: dict, seed: int, test_timeout: float, preload: str = "", replay: str = "",
               tests: list[TestCase], in_flight: int = 1) -> Path:
    """Writes the plan atomically (workers may read it while another run part is written)."""
    path = Path(path)
    doc = {"version": VERSION, "target": target, "seed": int(seed), "test_timeout": float(test_timeout),
           "preload": str(preload or ""), "replay": str(replay or ""), "in_flight": int(in_flight),
           "tests": [_case_data(t) for t in tests]}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def read_plan(path: Path) -> Plan:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SetupError(f"cannot read the plan {path}: {e}") from None
    if doc.get("version") != VERSION:
        raise SetupError(f"plan {path}: unsupported version {doc.get('version')!r}")
    return Plan(target=doc["target"], seed=int(doc["seed"]), test_timeout=float(doc["test_timeout"]),
                preload=doc.get("preload", ""), replay=doc.get("replay", ""),
                tests=[_case(t) for t in doc["tests"]], in_flight=int(doc.get("in_flight", 1)))
