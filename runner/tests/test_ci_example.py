"""docs/ci-matrix.yml is tried here: its shell steps run locally, job by job, as a CI would run them.

GitHub's runner cannot run on this machine, so the test plays its part: it expands the matrix, substitutes
the ${{ ... }} expressions a job sees, runs each `run:` step with bash in a copy of the job's working
directory, moves the uploaded artifacts to where download-artifact puts them, then runs the report job.
The steps' commands are not rewritten, except that one option limits each shard to a few tests
(IPCSUITE_CI_EXAMPLE_FILTER, read by the runner through --filter appended to `./ipcsuite run`).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runner import targets
from runner.tests.conftest import ROOT

yaml = pytest.importorskip("yaml", reason="python3-yaml is needed to read the workflow")

WORKFLOW = ROOT / "docs" / "ci-matrix.yml"
FILTER = "pipe/PipeEof*,fifo/FifoOpen.Nonblocking*"


def _expand(text: str, ctx: dict) -> str:
    def sub(m):
        key = m.group(1).strip()
        if key not in ctx:
            raise AssertionError(f"the workflow uses ${{{{ {key} }}}}, which this test does not model")
        return str(ctx[key])
    return re.sub(r"\$\{\{(.*?)\}\}", sub, text)


def _condition(expr: str | None, ctx: dict) -> bool:
    if not expr:
        return True
    expr = expr.strip()
    if expr == "always()":
        return True
    m = re.fullmatch(r"startsWith\(matrix\.(\w+),\s*'([^']*)'\)", expr)
    if m:
        return str(ctx[f"matrix.{m.group(1)}"]).startswith(m.group(2))
    m = re.fullmatch(r"hashFiles\('([^']+)'\)\s*!=\s*''", expr)
    if m:
        return (ctx["_cwd"] / m.group(1)).exists()
    raise AssertionError(f"condition {expr!r} is not modelled by this test")


def _run_step(step: dict, ctx: dict, cwd: Path) -> None:
    script = _expand(step["run"], ctx)
    # Each shard runs only a few tests here: the same command with one more --filter option.
    script = re.sub(r"(\./ipcsuite run\b)", rf"\1 --no-build --filter '{FILTER}'", script)
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          check=False)
    ctx["_last"] = proc
    assert proc.returncode == 0, f"step {step.get('name', script)!r} failed:\n{proc.stdout[-3000:]}"


def _checkout(dest: Path) -> Path:
    """actions/checkout: the job's working directory. The build and the fetched kernels are shared by
    symlink, as a CI cache would hold them."""
    dest.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in (".git", "results") or entry.name.startswith("build-"):
            continue
        (dest / entry.name).symlink_to(entry)
    for cached in ("build-static",):
        if (ROOT / cached).exists():
            (dest / cached).symlink_to(ROOT / cached)
    return dest


def test_ci_example_workflow_runs_shards_and_merges_them(tmp_path):
    wf = yaml.safe_load(WORKFLOW.read_text())
    jobs = wf["jobs"]
    assert set(jobs) == {"suite", "report"} and jobs["report"]["needs"] == "suite"
    matrix = jobs["suite"]["strategy"]["matrix"]
    # Try the targets this machine offers (qemu is covered by test_targets; here a TCG boot per shard
    # would only repeat it), and every shard of each.
    usable = [t for t in matrix["target"] if not t.startswith("qemu") and targets.parse(t).availability()[0]]
    if not usable:
        pytest.skip("none of the workflow's container targets is available here")
    artifacts = tmp_path / "artifacts"
    job_index = 0
    for target in usable:
        for shard in matrix["shard"]:
            cwd = _checkout(tmp_path / f"job{job_index}")
            ctx = {"matrix.target": target, "matrix.shard": shard, "strategy.job-index": job_index,
                   "_cwd": cwd}
            for step in jobs["suite"]["steps"]:
                if not _condition(step.get("if"), ctx):
                    continue
                if "run" in step:
                    _run_step(step, ctx, cwd)
                elif step.get("uses", "").startswith("actions/upload-artifact"):
                    w = step["with"]
                    name, src = _expand(w["name"], ctx), cwd / _expand(w["path"], ctx)
                    assert src.is_dir(), f"upload-artifact: {src} does not exist"
                    shutil.copytree(src, artifacts / name)
            job_index += 1
    # the report job
    cwd = _checkout(tmp_path / "report")
    ctx = {"_cwd": cwd}
    for step in jobs["report"]["steps"]:
        if not _condition(step.get("if"), ctx):
            continue
        if step.get("uses", "").startswith("actions/download-artifact"):
            shutil.copytree(artifacts, cwd / step["with"]["path"])
        elif "run" in step:
            _run_step(step, ctx, cwd)
    merged = json.loads((cwd / "merged" / "results.json").read_text())
    assert (cwd / "merged" / "report.html").is_file() and (cwd / "merged" / "junit.xml").is_file()
    # Every shard's tests are in the merged report exactly once per target, and the shards together are
    # the whole selection: compare with an unsharded listing of the same filter.
    listing = subprocess.run([str(ROOT / "ipcsuite"), "list", "--no-build", "--filter", FILTER], cwd=ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=300, check=False)
    assert listing.returncode == 0, listing.stderr
    expected = sorted(line.split()[0] for line in listing.stdout.splitlines() if "/" in line.split()[0])
    assert expected
    for target in usable:
        got = sorted(t["id"] for t in merged["tests"] if t["target"] == target)
        assert got == expected, f"target {target}: merged shards differ from the whole selection"
