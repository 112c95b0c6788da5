"""The adoption files are exercised as far as this machine allows: the GitHub Action (action.yml), the
GitLab template (docs/ci/gitlab-ci.yml), the LAVA test definition and its KTAP-to-LAVA script
(docs/ci/lava-ipcsuite.yaml, lava-test-cases.sh), and the Dockerfile. Their ./ipcsuite commands run here,
limited to a few tests (--no-build --filter added); steps that need GitHub, GitLab, LAVA or a container
builder are checked for shape only (no container builder or registry is reachable on these machines)."""
import json
import os
import re
import shlex
import shutil
import subprocess

import pytest

from reports import formats
from runner.tests.conftest import ROOT

yaml = pytest.importorskip("yaml", reason="python3-yaml is needed to read the templates")

FEW = "--no-build --filter 'pipe/PipeEnds*'"


def bash(script: str, cwd, env=None, ok=(0,)):
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          env={**os.environ, **(env or {})}, check=False)
    assert proc.returncode in ok, proc.stdout[-3000:]
    return proc


def test_github_action_runs_the_suite_and_names_its_results(tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    inputs = {k: v.get("default", "") for k, v in action["inputs"].items()}
    inputs.update({"args": FEW, "results-dir": str(tmp_path / "res")})
    ctx = {f"inputs.{k}": v for k, v in inputs.items()}
    ctx["github.action_path"] = str(ROOT)
    ctx["steps.run.outputs.results"] = ""
    out = tmp_path / "github_output"
    out.write_text("")
    script = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: ctx[m.group(1)], steps[0]["run"])
    bash(script, tmp_path, env={"GITHUB_OUTPUT": str(out)})
    assert out.read_text().strip() == f"results={tmp_path / 'res'}/latest"
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    junit = [s for s in steps if "junit" in s.get("uses", "")]
    assert uploads and junit and all(s.get("if") == "always()" for s in uploads + junit)
    path = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: ctx[m.group(1)], junit[0]["with"]["report_paths"])
    assert (tmp_path / path).is_file() if not os.path.isabs(path) else os.path.isfile(path)


def test_gitlab_template_runs_the_suite_and_publishes_junit(tmp_path):
    ci = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())
    job = ci[".ipcsuite"]
    assert ci["ipcsuite"]["extends"] == ".ipcsuite" and job["image"] == "debian:bookworm"
    work = tmp_path / "job"
    work.mkdir()
    (work / "ipcsuite").symlink_to(ROOT / "ipcsuite")
    env = {k: str(v) for k, v in ci["variables"].items()}
    env["IPCSUITE_ARGS"] = FEW.replace("'", "")  # a variable's words are split, its quotes kept literally
    for line in job["script"]:
        bash(line, work, env=env)
    assert (work / job["artifacts"]["reports"]["junit"]).is_file()
    assert job["artifacts"]["when"] == "always"


def test_lava_definition_reports_every_test_case(tmp_path):
    definition = yaml.safe_load((ROOT / "docs" / "ci" / "lava-ipcsuite.yaml").read_text())
    assert definition["metadata"]["format"] == "Lava-Test Test Definition 1.0"
    steps = definition["run"]["steps"]
    assert any("lava-test-cases.sh results/latest/results.ktap" in s for s in steps)
    doc = {"environment": {"target": "host,userns"}, "targets": {"host": {}, "userns": {}}, "tests": [
        {"id": f"pipe/P.{s}", "status": s, "target": tgt, "rules": [], "message": "m"}
        for tgt in ("host", "userns") for s in ("passed", "failed", "skipped", "xfailed", "error")]}
    ktap = tmp_path / "results.ktap"
    ktap.write_text(formats.render_ktap(doc))
    log = tmp_path / "cases"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "lava-test-case").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (fake / "lava-test-case").chmod(0o755)
    bash(f"{ROOT}/docs/ci/lava-test-cases.sh {ktap}", tmp_path, env={"PATH": f"{fake}:{os.environ['PATH']}"})
    got = log.read_text().splitlines()
    want = [f"{tgt}.pipe/P.{s} --result {r}" for tgt in ("host", "userns")
            for s, r in (("passed", "pass"), ("failed", "fail"), ("skipped", "skip"), ("xfailed", "pass"),
                         ("error", "fail"))]
    assert got == want
    bad = subprocess.run([str(ROOT / "docs/ci/lava-test-cases.sh"), str(tmp_path / "missing")],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


def test_dockerfile_steps_are_commands_this_checkout_has(tmp_path):
    lines = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text()).splitlines()
    instr = [(ln.split(None, 1)[0], ln.split(None, 1)[1]) for ln in lines if ln.strip() and not ln.startswith("#")]
    assert instr[0] == ("FROM", "debian:bookworm")
    assert ("COPY", ". /opt/ipcsuite") in instr and ("WORKDIR", "/opt/ipcsuite") in instr
    entry = json.loads(dict(instr)["ENTRYPOINT"])
    cmd = json.loads(dict(instr)["CMD"])
    assert entry == ["/opt/ipcsuite/ipcsuite"] and cmd[0] == "run"
    # The image's commands, run here from a copy of the checkout (building is replaced by the existing build).
    for kind, arg in instr:
        if kind == "RUN" and "./ipcsuite" in arg:
            ipc = re.search(r"\./ipcsuite [^&|>]*", arg).group(0).strip()
            bash(f"{ipc} --no-build > /dev/null", ROOT)
    res = tmp_path / "results"
    bash(" ".join(shlex.quote(c) for c in [str(ROOT / "ipcsuite"), *cmd]).replace("/results", str(res))
         + f" {FEW}", ROOT)
    assert (res / "latest" / "junit.xml").is_file()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"build", "results", ".git"} <= set(ignored)
    working = [b for b in ("docker", "podman", "buildah") if shutil.which(b) and subprocess.run(
        [b, "info"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
        check=False).returncode == 0]
    if not working:
        pytest.skip("no working container builder here (docker/podman/buildah missing, or its daemon not "
                    "running): the image itself is not built; its steps ran above")
    built = subprocess.run([working[0], "build", "-q", "-t", "ipcsuite-selftest", str(ROOT)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3600, check=False)
    assert built.returncode == 0, built.stdout[-3000:]
