"""cmake --install gives a runnable layout: <prefix>/bin/ipcsuite runs the installed suite (no sources, no
build), writes results to ./results, and knows its version and catalogue."""
import json
import os
import subprocess

from runner.tests.conftest import BUILD, ROOT


def test_installed_suite_runs_from_the_prefix(tmp_path):
    prefix = tmp_path / "prefix"
    inst = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert inst.returncode == 0, inst.stdout[-2000:]
    exe = prefix / "bin" / "ipcsuite"
    assert exe.is_symlink() and os.access(exe, os.X_OK)
    assert not (prefix / "lib" / "ipcsuite" / "CMakeLists.txt").exists(), "no sources are installed"
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("IPCSUITE_BUILD_DIR", "LD_PRELOAD", "PYTHONPATH")}

    def run(*args):
        return subprocess.run([str(exe), *args], cwd=work, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600, check=False)
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith(
        "ipcsuite " + (ROOT / "VERSION").read_text().strip()), version.stdout + version.stderr
    listed = run("list", "--json", "--filter", "pipe/*")
    assert listed.returncode == 0, listed.stderr
    ids = [t["id"] for t in json.loads(listed.stdout)]
    assert ids and all(i.startswith("pipe/") for i in ids)
    r = run("run", "--filter", "pipe/PipeEnds*")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "building" not in r.stderr, "an installed suite does not build"
    doc = json.loads((work / "results" / "latest" / "results.json").read_text())
    assert doc["tests"] and all(t["status"] == "passed" for t in doc["tests"])
    assert str(ROOT) not in json.dumps(doc["tests"]), "nothing points back into the checkout"
    refused = run("test")
    assert refused.returncode == 2 and "source checkout" in refused.stderr
