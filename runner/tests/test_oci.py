"""The oci:RUNTIME target (runner/target_oci.py): containers with the runtime's default configuration."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from runner import target_oci, targets
from runner.errors import UsageError
from runner.tests.conftest import BUILD, ipcsuite

# A small selection with tests that need privileges the default container lacks (CAP_SETUID: they skip
# there) and tests that need none (same verdict as on the host).
FILTER = "sem/SemGet*,sem/SemCtlPerm*,shm/ShmAt*"


def _runc_or_skip():
    if os.geteuid() != 0:
        pytest.skip("the oci target starts containers as root")
    if not shutil.which("runc") and not os.access("/usr/sbin/runc", os.X_OK):
        pytest.skip("runc is not installed (Debian package runc; ./ipcsuite run --target oci:runc installs it)")
    ok, why = target_oci.availability({"runtime": "runc"})
    if not ok:
        pytest.skip(f"runc cannot start containers here: {why}")


def test_oci_spec_parsing():
    t = targets.parse("oci:runc")
    assert (t.kind, t.name, t.options["runtime"]) == ("oci", "oci:runc", "runc")
    t = targets.parse("oci:/usr/local/bin/my-runtime")
    assert t.name == "oci:my-runtime" and t.options["runtime"] == "/usr/local/bin/my-runtime"
    with pytest.raises(UsageError):
        targets.parse("oci:")


def test_container_config_keeps_the_runtime_defaults():
    spec = {"process": {"terminal": True, "env": ["PATH=/bin"], "capabilities": {"effective": ["CAP_KILL"]}},
            "root": {"path": "rootfs", "readonly": True}, "mounts": [{"destination": "/proc"}],
            "linux": {"namespaces": [{"type": "ipc"}]}}
    cfg = target_oci.container_config(spec, "/r", ["/b/x_test", "--ipcsuite-serve"],
                                      {"TMPDIR": "/t/oci", "IPCSUITE_SEED": "7"}, "/t/oci")
    assert cfg["process"]["terminal"] is False
    assert cfg["process"]["args"] == [target_oci.INIT_IN_ROOTFS, "--", "/b/x_test", "--ipcsuite-serve"]
    assert cfg["process"]["capabilities"] == {"effective": ["CAP_KILL"]}
    assert cfg["root"] == {"path": "/r", "readonly": True}
    assert cfg["linux"] == spec["linux"]
    assert "IPCSUITE_SEED=7" in cfg["process"]["env"] and "PATH=/bin" in cfg["process"]["env"]
    # only the test processes' $TMPDIR is bound in, at the same path
    assert cfg["mounts"] == [{"destination": "/proc"},
                             {"destination": "/t/oci", "type": "bind", "source": "/t/oci",
                              "options": ["rbind", "rw"]}]
    assert target_oci.contract_env({"HOME": "/root", "IPCSUITE_SEED": "1", "TMPDIR": "/t", "RC_PARAMS": "x"}) \
        == {"IPCSUITE_SEED": "1", "TMPDIR": "/t", "RC_PARAMS": "x"}


def test_oci_runc_gives_host_verdicts_except_named_skips(run_suite):
    _runc_or_skip()
    r = run_suite("--target", "host,oci:runc", "--filter", FILTER, "-j", "2", "--no-expectations", timeout=900)
    assert r.doc is not None, r.stderr[-2000:]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    by = {}
    for t in r.doc["tests"]:
        by.setdefault(t["id"], {})[t["target"]] = t
    assert by
    differ = []
    named_skips = 0
    for tid, row in by.items():
        host, oci = row.get("host"), row.get("oci:runc")
        assert host and oci, f"{tid} ran on one target only: {row}"
        if host["status"] == oci["status"]:
            continue
        # A skip that names what the container lacks: a capability, or a facility the test uses (a private
        # IPC namespace needs CAP_SYS_ADMIN too).
        if oci["status"] == "skipped" and host["status"] == "passed" and (
                "CAP_" in oci["message"] or oci["message"].startswith("needs ")):
            named_skips += "CAP_" in oci["message"]
            continue
        differ.append(f"{tid}: host {host['status']}, oci:runc {oci['status']} {oci['message']}")
    assert not differ, "\n".join(differ)
    assert named_skips, "no test skipped for a capability the default container lacks"
    env = r.doc["targets"]["oci:runc"]
    assert env["wall_s"] > 0


def _fake_runtime(tmp_path) -> str:
    script = tmp_path / "fake-runtime"
    script.write_text("#!/bin/sh\n"
                      "if [ \"$1\" = spec ]; then\n"
                      "  echo '{\"process\": {\"args\": [\"sh\"]}, \"root\": {\"path\": \"rootfs\"}}' > config.json\n"
                      "  exit 0\n"
                      "fi\n"
                      "echo 'fake-runtime: container_linux.go:42: creating the cgroup: no such controller' >&2\n"
                      "exit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_runtime_that_cannot_start_a_container_is_one_line_and_exit_2(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the oci target starts containers as root")
    if not (BUILD / "ipcsuite-manifest.tsv").exists():
        pytest.skip(f"no build in {BUILD}")
    proc = ipcsuite("run", "--no-build", "--results-dir", str(tmp_path / "r"), "--target",
                    f"oci:{_fake_runtime(tmp_path)}", "--filter", "pipe/*", timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot start a container" in lines[0] and "no such controller" in lines[0], lines[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir()), "a run started anyway"


def test_crun_here_either_runs_or_is_one_line_and_exit_2(tmp_path):
    """crun on hybrid cgroups (this machine) refuses every container: one line with crun's own error."""
    if os.geteuid() != 0 or not shutil.which("crun"):
        pytest.skip("needs root and crun (Debian package crun)")
    ok, why = target_oci.availability({"runtime": "crun"})
    if ok:
        pytest.skip(f"crun works here ({why}); the failing runtime is covered by the fake runtime")
    proc = ipcsuite("run", "--no-build", "--results-dir", str(tmp_path / "r"), "--target", "oci:crun",
                    "--filter", "pipe/*", timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "crun cannot start a container here: " in lines[0], proc.stderr


def test_targets_lists_oci_runtimes():
    proc = ipcsuite("targets", timeout=180)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "oci:runc" in rows and "oci:crun" in rows, proc.stdout


DEP_SRC = "int ipcsuite_dep_value(void) { return 42; }\n"
PRELOAD_SRC = ("int ipcsuite_dep_value(void);\n"
               "__attribute__((constructor)) static void c(void) { (void)ipcsuite_dep_value(); }\n")


def test_preload_the_containers_loader_cannot_load_is_one_line_and_exit_2(tmp_path):
    """A preload library that links a library of its own (found on the host through its RUNPATH) loads on the
    host, but not in the container, whose rootfs lacks that library: the loader there would ignore it and
    every test pass without it. The run is refused before any test, naming the loader's reason, and leaves
    neither the probe's container nor its bundle."""
    _runc_or_skip()
    if not (BUILD / "ipcsuite-manifest.tsv").exists():
        pytest.skip(f"no build in {BUILD}")
    from runner.tests.test_preload_probe import compile_lib
    import subprocess
    dep = compile_lib(tmp_path, "ipcsuitedep", DEP_SRC)
    src = tmp_path / "needs_dep.c"
    src.write_text(PRELOAD_SRC)
    lib = tmp_path / "libneeds_dep.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src), f"-L{tmp_path}", "-lipcsuitedep",
                    f"-Wl,-rpath,{tmp_path}"], check=True, timeout=120)
    assert dep.exists()
    host = ipcsuite("run", "--no-build", "--results-dir", str(tmp_path / "h"), "--filter", "pipe/PipeFs.*",
                    "--preload", str(lib), timeout=300)
    assert host.returncode == 0, host.stdout[-2000:] + host.stderr[-2000:]  # the host's loader finds it
    root = tmp_path / "tmproot"  # the probe's temporary directory (its container's bundle) goes here
    root.mkdir()
    bundles = "bundle-ipcsuite-preload-probe-*"  # in the system's /tmp, where the probe's bundle was once left
    before = set(Path(tempfile.gettempdir()).glob(bundles))
    proc = ipcsuite("run", "--no-build", "--results-dir", str(tmp_path / "r"), "--target", "oci:runc",
                    "--filter", "pipe/PipeFs.*", "--preload", str(lib), timeout=300,
                    env={"IPCSUITE_TMP_ROOT": str(root)})
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"ipcsuite: error: --preload {lib}: the dynamic loader refuses it in target "
                               "oci:runc"), lines[0]
    assert "libipcsuitedep.so" in lines[0], lines[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir()), "a run started anyway"
    assert not [c for c in subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
                if c.startswith("ipcsuite-preload-probe-")], "the probe's container was left"
    assert not list(root.iterdir()), f"the probe left {sorted(p.name for p in root.iterdir())}"
    assert not set(Path(tempfile.gettempdir()).glob(bundles)) - before, "the probe left its bundle in /tmp"
