"""The qemu target runs every binary of an area: the build's manifest (one row per binary, any number per
area; unix has unix_test and unix_property_test) is the one list, and each test runs in the guest from the
binary that lists it. The last test boots a guest (TCG) with the two unix property binaries."""
import json
import os
import shutil
import types
from pathlib import Path

import pytest

from runner import catalogue, deps, run_cmd, targets
from runner.errors import SetupError
from runner.qemu import vm
from runner.tests.conftest import BUILD


def _manifest(tmp_path: Path) -> list[tuple[str, str, Path]]:
    rows = [("unix_test", "unix"), ("unix_property_test", "unix"), ("pipe_test", "pipe"),
            ("unix_property_teeth_test", "selftest"), ("fault_test", "fault")]
    return [(name, area, tmp_path / "bin" / name) for name, area in rows]


def _case(tmp_path: Path, binary: str, area: str, name: str) -> catalogue.TestCase:
    return catalogue.TestCase(binary=tmp_path / "bin" / binary, area=area, name=name, location="", rules=[])


def _tests(tmp_path):
    return [_case(tmp_path, "unix_test", "unix", "UnixSocketpair.FullDuplex"),
            _case(tmp_path, "unix_property_test", "unix", "UnixPropertySeqpacket.Queue"),
            _case(tmp_path, "unix_test", "unix", "UnixShutdown.Wr"),
            _case(tmp_path, "pipe_test", "pipe", "PipeEof.AfterClose")]


def test_every_binary_of_an_area_is_packed_and_each_test_runs_from_its_own(tmp_path):
    binaries, plan = vm.guest_selection(_manifest(tmp_path), _tests(tmp_path))
    assert binaries == {"unix_test": "unix", "unix_property_test": "unix", "pipe_test": "pipe"}
    assert plan == [("unix_test", "UnixSocketpair.FullDuplex"), ("unix_property_test", "UnixPropertySeqpacket.Queue"),
                    ("unix_test", "UnixShutdown.Wr"), ("pipe_test", "PipeEof.AfterClose")]


def test_only_the_binaries_of_the_selected_tests_are_packed(tmp_path):
    tests = [_case(tmp_path, "unix_property_test", "unix", "UnixPropertySeqpacket.Queue")]
    binaries, plan = vm.guest_selection(_manifest(tmp_path), tests)
    assert binaries == {"unix_property_test": "unix"} and plan == [("unix_property_test", tests[0].name)]


def test_self_test_areas_never_go_into_the_guest(tmp_path):
    tests = [_case(tmp_path, "unix_property_teeth_test", "selftest", "UnixPropertyTeeth.X"),
             _case(tmp_path, "fault_test", "fault", "Fault.Y")]
    assert vm.guest_selection(_manifest(tmp_path), tests) == ({}, [])


def test_guest_records_of_each_binary_map_back_to_the_area(tmp_path):
    binaries, _plan = vm.guest_selection(_manifest(tmp_path), _tests(tmp_path))
    lines = ['@@IPCSUITE-START {"kernel_release": "6.1.0-test"}']
    for b, t in (("unix_test", "UnixSocketpair.FullDuplex"), ("unix_property_test", "UnixPropertySeqpacket.Queue"),
                 ("pipe_test", "PipeEof.AfterClose")):
        lines.append("@@IPCSUITE " + json.dumps({"binary": f"/bin/{b}", "test": t, "wait_status": 0}) + "\r")
    lines.append("@@IPCSUITE-END")
    env, recs, finished = vm.parse_results("\n".join(lines) + "\n", binaries)
    assert env == {"kernel_release": "6.1.0-test"} and finished
    assert set(recs) == {("unix", "UnixSocketpair.FullDuplex"), ("unix", "UnixPropertySeqpacket.Queue"),
                         ("pipe", "PipeEof.AfterClose")}


def test_initramfs_plan_names_each_test_with_its_binary(tmp_path):
    init = tmp_path / "init"
    init.write_bytes(b"\x7fELF-init")
    paths = {}
    for name in ("unix_test", "unix_property_test"):
        paths[name] = tmp_path / name  # an ELF file: build_initramfs strips what it packs
        shutil.copyfile("/bin/true", paths[name])
    plan = [("unix_test", "UnixSocketpair.FullDuplex"), ("unix_property_test", "UnixPropertySeqpacket.Queue")]
    vm.build_initramfs(tmp_path / "out" / "initrd.cpio", init, paths, plan, 2, 30)
    data = (tmp_path / "out" / "initrd.cpio").read_bytes()
    assert b"bin/unix_test\0" in data and b"bin/unix_property_test\0" in data
    assert (b"jobs\t2\ttimeout_s\t30\n/bin/unix_test\tUnixSocketpair.FullDuplex\n"
            b"/bin/unix_property_test\tUnixPropertySeqpacket.Queue\n") in data


def test_run_qemu_hands_every_binary_of_the_area_to_the_guest(tmp_path, monkeypatch):
    """run_cmd's qemu step: from the manifest to the guest and back to guest.json (the guest faked)."""
    bdir = tmp_path / "build"
    (bdir / "bin").mkdir(parents=True)
    (bdir / "ipcsuite-manifest.tsv").write_text(
        "".join(f"{name}\t{area}\t{path}\n" for name, area, path in _manifest(bdir)))
    tests = _tests(bdir)
    seen = {}

    def fake_guest(target, binaries, plan, **kw):
        seen.update(binaries=binaries, plan=plan)
        recs = {(binaries[b], t): {"binary": f"/bin/{b}", "test": t, "wait_status": 0} for b, t in plan}
        return {"environment": {"accel": "tcg"}, "results": recs, "problem": "", "console": ""}

    monkeypatch.setattr(vm, "run_guest", fake_guest)
    args = types.SimpleNamespace(jobs=1, test_timeout=30.0, qemu_accel="tcg")
    part = tmp_path / "part"
    part.mkdir()
    run_cmd._run_qemu(types.SimpleNamespace(name="qemu:test"), bdir, tests, args, part)
    assert set(seen["binaries"]) == {"unix_test", "unix_property_test", "pipe_test"}
    doc = json.loads((part / "guest.json").read_text())
    assert {(r["area"], r["test"]) for r in doc["results"]} == {(t.area, t.name) for t in tests}


def test_the_build_lists_several_unix_binaries_and_the_guest_gets_them_all():
    """Against this build: every unix binary the manifest lists is packed for a 'unix/*' selection."""
    if not (BUILD / "ipcsuite-manifest.tsv").exists():
        pytest.skip(f"no build in {BUILD} (./ipcsuite test builds it first)")
    manifest = catalogue.read_manifest(BUILD)
    unix = sorted(name for name, area, _p in manifest if area == "unix")
    assert len(unix) >= 2, unix
    present = [(n, a, p) for n, a, p in manifest if a == "unix" and p.is_file()]
    if len(present) < len(unix):
        pytest.skip(f"not every unix binary is built in {BUILD}")
    tests = [t for _n, a, p in present for t in catalogue.list_binary(p, a)]
    binaries, plan = vm.guest_selection(manifest, tests)
    assert sorted(binaries) == unix
    assert len(plan) == len(tests) and {b for b, _t in plan} == set(unix)


def test_a_guest_runs_tests_of_two_binaries_of_one_area(run_suite):
    """A real boot (TCG): the two unix property binaries, each test from its own binary, both passed."""
    kernels = vm.known_kernels()
    if not kernels and os.geteuid() == 0:
        try:
            kernels = [vm.fetch_kernel()]  # what ./ipcsuite fetch-kernel does
        except SetupError as e:
            pytest.fail(f"./ipcsuite fetch-kernel failed: {e}")
    if not kernels:
        pytest.skip("no kernel fetched for the qemu target (./ipcsuite fetch-kernel needs root for apt-get)")
    t = targets.parse(f"qemu:{kernels[0]}")
    ok, why = t.availability()
    if not ok and os.geteuid() == 0 and deps.missing_packages(t.packages()):
        deps.install(deps.missing_packages(t.packages()))
        ok, why = t.availability()
    if not ok:
        pytest.skip(f"qemu target unavailable: {why}")
    r = run_suite("--target", f"qemu:{kernels[0]}", "--qemu-accel", "tcg",
                  "--filter", "unix/UnixPropertySeqpacket.*,unix/UnixPropertyFaults.*", timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    part = r.results_dir / "latest" / "targets" / t.name.replace(":", "_")
    guest = json.loads((part / "guest.json").read_text())
    assert {x["binary"] for x in guest["results"]} == {"/bin/unix_property_test", "/bin/unix_fault_property_test"}
    tests = [x for x in r.doc["tests"] if x["target"] == t.name]
    assert len(tests) == 2 and all(x["status"] == "passed" for x in tests), tests
