"""report, diff and merge on any results.json: exit 0, 1 or 2, at most one line on stderr, no traceback,
nothing written outside the run directory (report) or the output directory (merge).

The inputs are generated (python3-hypothesis): a valid document with one part replaced by any JSON value,
and arbitrary bytes. IPCSUITE_FUZZ_EXAMPLES raises the number of examples (default 60 per property).
"""
import copy
import json
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import cli

EXAMPLES = int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

VALID = {
    "schema_version": 1,
    "environment": {"kernel_release": "6.18.0", "libc": "glibc", "libc_version": "2.36", "target": "host",
                    "seed": "1"},
    "started": "2026-12-06T10:00:00Z", "duration_s": 1.0,
    "counts": {"passed": 1, "failed": 1, "skipped": 0, "error": 0, "xfailed": 0, "xpassed": 0},
    "tests": [
        {"id": "pipe/PipeA.x", "area": "pipe", "status": "passed", "duration_s": 0.1, "rules": ["pipe.r"],
         "message": "", "target": "host"},
        {"id": "sem/SemB.y", "area": "sem", "status": "failed", "duration_s": 0.2, "rules": ["sem.r"],
         "message": "Expected: 1\nWhich is: 2", "target": "host", "location": "suite/sem/x.cc:3"},
    ],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

PATHS = [("environment",), ("environment", "target"), ("environment", "kernel_release"), ("tests",),
         ("targets",), ("expectations",), ("counts",), ("started",), ("interrupted",)]
PATHS += [("tests", i, k) for i in (0, 1) for k in ("id", "status", "duration_s", "rules", "message", "target",
                                                    "area", "location", "details", "expectation")]
PATHS += [("tests", 0), ("tests", 1, "rules", 0)]


def mutated(path, value) -> dict:
    doc = copy.deepcopy(VALID)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def run(capsys, argv) -> tuple[int, str]:
    rc = cli.main(argv)
    err = capsys.readouterr().err
    return rc, err


def check(rc: int, err: str) -> None:
    assert rc in (0, 1, 2), (rc, err)
    assert "Traceback" not in err
    if rc == 2:
        assert len(err.strip().splitlines()) == 1, err


def files(root: Path) -> set:
    return {p for p in root.rglob("*")}


@SETTINGS
@given(path=st.sampled_from(PATHS), value=json_values)
def test_report_any_mutated_document(capsys, path, value):
    with tempfile.TemporaryDirectory() as d:
        run_dir = Path(d) / "run"
        run_dir.mkdir()
        try:
            text = json.dumps(mutated(path, value))
        except ValueError:
            return
        (run_dir / "results.json").write_text(text)
        rc, err = run(capsys, ["report", str(run_dir), "--no-expectations", "--results-dir", d])
        check(rc, err)
        outside = {p for p in files(Path(d)) if run_dir not in p.parents and p != run_dir}
        assert not outside, outside
        if rc == 2:
            assert {p.name for p in run_dir.iterdir()} == {"results.json"}, "reports written before the error"


@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))  # three commands per example
@given(value=st.one_of(json_values, st.fixed_dictionaries(
    {}, optional={"by": json_values, "message": json_values, "not_run": json_values, "stopped": json_values})))
def test_report_and_merge_any_interruption_mark(capsys, value):
    """An interrupted run's mark (results.json "interrupted") as any JSON: the reports still render."""
    with tempfile.TemporaryDirectory() as d:
        run_dir = Path(d) / "run"
        run_dir.mkdir()
        try:
            text = json.dumps(mutated(("interrupted",), value))
        except ValueError:
            return
        (run_dir / "results.json").write_text(text)
        rc, err = run(capsys, ["report", str(run_dir), "--no-expectations", "--results-dir", d])
        check(rc, err)
        assert rc != 2, err
        rc, err = run(capsys, ["merge", str(run_dir), str(run_dir), "-o", str(Path(d) / "m"), "--results-dir", d])
        check(rc, err)
        assert rc != 2, err


@SETTINGS
@given(a=st.sampled_from(PATHS), va=json_values, b=st.sampled_from(PATHS), vb=json_values)
def test_diff_and_merge_any_mutated_documents(capsys, a, va, b, vb):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for n, (path, value) in enumerate(((a, va), (b, vb))):
            p = Path(d) / f"r{n}.json"
            try:
                p.write_text(json.dumps(mutated(path, value)))
            except ValueError:
                return
            paths.append(str(p))
        before = files(Path(d))
        check(*run(capsys, ["diff", *paths, "--results-dir", d]))
        check(*run(capsys, ["diff", "--json", *paths, "--results-dir", d]))
        assert files(Path(d)) == before, "diff wrote files"
        out = Path(d) / "merged"
        rc, err = run(capsys, ["merge", *paths, "-o", str(out), "--results-dir", d])
        check(rc, err)
        assert {p for p in files(Path(d)) - before if out not in p.parents and p != out} == set()


@SETTINGS
@given(data=st.binary(max_size=300))
def test_report_any_bytes(capsys, data):
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "results.json").write_bytes(data)
        check(*run(capsys, ["report", d, "--no-expectations", "--results-dir", d]))


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,
    '{"tests": ' + "[" * 50000 + "]" * 50000 + "}",
    json.dumps(dict(VALID, tests=[dict(VALID["tests"][0], duration_s=math.inf)]), allow_nan=True),
    json.dumps(dict(VALID, tests=[dict(VALID["tests"][0], duration_s=math.nan)]), allow_nan=True),
    b"\xff\xfe not utf-8".decode("latin-1"),
])
def test_report_hostile_documents(capsys, tmp_path, text):
    (tmp_path / "results.json").write_text(text, encoding="latin-1")
    rc, err = run(capsys, ["report", str(tmp_path), "--no-expectations", "--results-dir", str(tmp_path)])
    check(rc, err)
    assert rc == 2
