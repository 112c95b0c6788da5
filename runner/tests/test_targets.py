"""Targets: ./ipcsuite targets, and one run over several targets giving one report."""
import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner import deps, targets
from runner.errors import SetupError
from runner.qemu import vm
from runner.tests.conftest import BUILD, ipcsuite


def _provide(target) -> None:
    """As root, installs what a target needs (as `./ipcsuite run --target` does), so that a fresh machine
    tests every target instead of skipping; otherwise leaves it to availability() to say why not."""
    missing = deps.missing_packages(target.packages()) if target.packages() else []
    if missing and os.geteuid() == 0:
        try:
            deps.install(missing)
        except SetupError as e:
            pytest.fail(f"could not install {missing} for target {target.name}: {e}")


def test_targets_lists_every_target_with_availability_and_reason():
    proc = ipcsuite("targets", timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    for name in ("host", "userns", "bwrap"):
        assert name in rows, proc.stdout
    assert any(n.startswith("qemu:") for n in rows), proc.stdout
    for line in rows.values():
        word = line.split()[1]
        assert word in ("available", "unavailable"), line
        assert len(line.split()) > 2, f"no reason given: {line}"
    assert rows["host"].split()[1] == "available"


@pytest.mark.parametrize("spec,needle", [("vm", "unknown target 'vm'"), ("qemu", "needs a kernel image"),
                                         ("host,host", "given twice"), ("qemu:", "needs a kernel image")])
def test_bad_targets_are_one_line_and_exit_2(spec, needle):
    proc = ipcsuite("run", "--no-build", "--target", spec, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr


def test_target_parsing():
    assert [t.name for t in targets.parse_list(["host,userns", "bwrap"])] == ["host", "userns", "bwrap"]
    assert targets.parse_list([])[0].name == "host"
    t = targets.parse("qemu:/boot/vmlinuz-9.9-test")
    assert t.kind == "qemu" and t.name == "qemu:vmlinuz-9.9-test"


def test_userns_wrapper_gives_fresh_namespaces_and_passes_exit_status():
    t = targets.parse("userns")
    ok, why = t.availability()
    if not ok:
        pytest.skip(f"userns target unavailable here: {why}")
    import subprocess
    out = subprocess.run(t.wrap(["sh", "-c", "echo $$; cat /proc/self/uid_map; exit 7"]),
                         stdout=subprocess.PIPE, text=True, timeout=30)
    assert out.returncode == 7
    lines = out.stdout.split("\n")
    assert lines[0] == "2"                 # pid 2 of a fresh PID namespace, under a minimal pid 1
    assert lines[1].split()[0] == "0"      # uid 0 inside is mapped
    killed = subprocess.run(t.wrap(["sh", "-c", "kill -TERM $$"]), timeout=30)
    assert killed.returncode == -15        # a signal death is passed through as such


def test_bwrap_target_works_with_a_build_under_tmp(run_suite, tmp_path):
    # bwrap gives the sandbox a private /tmp; a checkout or build under the host's /tmp (a CI clone) must
    # still be visible in it. A build directory under /tmp whose binaries are reached by /tmp paths (its
    # bin/ a symlink to the real one, its manifest naming /tmp paths) shows it.
    t = targets.parse("bwrap")
    _provide(t)
    ok, why = t.availability()
    if not ok:
        pytest.skip(why)
    under_tmp = Path(tempfile.mkdtemp(prefix="ipcsuite-bwrap-build-", dir="/tmp"))
    under_tmp.chmod(0o755)  # the sandbox runs as uid 65534
    try:
        build = under_tmp / "build"
        build.mkdir()
        (build / "bin").symlink_to(BUILD / "bin")
        (build / "ipcsuite-manifest.tsv").write_text(
            (BUILD / "ipcsuite-manifest.tsv").read_text().replace(f"{BUILD}/bin/", f"{build}/bin/"))
        r = run_suite("--target", "bwrap", "--filter", "pipe/PipeEof*",
                      env={"IPCSUITE_BUILD_DIR": str(under_tmp / "build")})
        assert r.returncode == 0, r.stdout[-3000:]
        assert r.doc["counts"]["passed"] > 0 and r.doc["counts"]["failed"] == 0
    finally:
        shutil.rmtree(under_tmp, ignore_errors=True)


def test_one_run_over_host_userns_bwrap_gives_one_report(run_suite):
    for n in ("userns", "bwrap"):
        _provide(targets.parse(n))
    avail = [n for n in ("host", "userns", "bwrap") if targets.parse(n).availability()[0]]
    if len(avail) < 2:
        pytest.skip(f"only {avail} available here")
    r = run_suite("--target", ",".join(avail), "--filter", "pipe/PipeEof*,fifo/FifoOpen*", "--jobs", "2")
    assert r.returncode in (0, 1), r.stderr
    doc = r.doc
    seen = {t["target"] for t in doc["tests"]}
    assert seen == set(avail)
    assert list(doc["targets"]) == avail
    per = {n: sorted(t["id"] for t in doc["tests"] if t["target"] == n) for n in avail}
    assert all(per[n] == per[avail[0]] and per[n] for n in avail), "every target ran the same tests"
    for name in avail:
        assert doc["targets"][name]["kernel_release"]
    run_dir = r.results_dir / "latest"
    junit = ET.parse(run_dir / "junit.xml").getroot()
    suites = junit.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"ipcsuite.{n}" for n in avail]
    for s in suites:
        assert int(s.get("tests")) == len(per[avail[0]])
        case = s.find("testcase")
        out = dict(line.split(": ", 1) for line in case.find("system-out").text.strip().splitlines())
        assert set(out) >= {"area", "rules", "location", "target"}
    html = (run_dir / "report.html").read_text()
    for n in avail:
        assert f"<th>{n}</th>" in html
    assert "target " in r.stdout and "passed" in r.stdout.splitlines()[-1]


def test_qemu_target_runs_tests_in_the_guest(run_suite):
    kernels = vm.known_kernels()
    if not kernels and os.geteuid() == 0:
        # What a user does first (`./ipcsuite fetch-kernel`): Debian's kernel package, from Debian's mirror.
        try:
            kernels = [vm.fetch_kernel()]
        except SetupError as e:
            pytest.fail(f"./ipcsuite fetch-kernel failed: {e}")
    if not kernels:
        pytest.skip("no kernel fetched for the qemu target (./ipcsuite fetch-kernel needs root for apt-get)")
    t = targets.parse(f"qemu:{kernels[0]}")
    _provide(t)
    ok, why = t.availability()
    if not ok:
        pytest.skip(f"qemu target unavailable: {why}")
    r = run_suite("--target", f"host,qemu:{kernels[0]}", "--filter", "pipe/PipeEof*", "--qemu-accel", "tcg",
                  timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    q = [x for x in r.doc["tests"] if x["target"] == t.name]
    assert q and all(x["status"] == "passed" for x in q)
    env = r.doc["targets"][t.name]
    assert env["kernel_release"] != r.doc["targets"]["host"]["kernel_release"] or "6.1" in kernels[0].name
    assert env["accel"] == "tcg" and env["boot_wall_s"] > 0
    assert json.loads((r.results_dir / "latest" / "targets" / t.name.replace(":", "_") / "guest.json")
                      .read_text())["results"]
