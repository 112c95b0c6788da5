"""wrap:CMD targets (runner/target_wrap.py), --timeout-scale, and the reproducers of repro/<system>/.

- A wrapper that breaks one rule (it preloads an interposer into the wrapped process) makes that rule fail, in
  exactly the tests the interposer fails through --preload, and they pass under a harmless wrapper.
- A wrapper that cannot start (missing program, exit 127) is one line and exit 2; so is a bad --timeout-scale.
- A wrapper that an exec'd helper would escape (qemu-*) gets the helper's re-exec too ($IPCSUITE_WRAP).
- Every reproducer in repro/<system>/ exits 0 natively and 1 under its system (skipped, naming the Debian
  package, where the system is not installed), and every expectations/<system>.txt line names one that runs
  under that system. A reproducer that shows on several systems is kept once, in repro/shared/, and its first
  line names them ("/* repro-systems: qemu-user valgrind"); it is run under each.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from runner import expectations, target_wrap, targets
from runner.errors import UsageError
from runner.tests.conftest import BUILD, ROOT, ipcsuite, preload_lib

REPRO = ROOT / "repro"
# repro/<system>/: the Debian package that provides the system, and how a program runs under it.
SYSTEMS = {
    "qemu-user": ("qemu-user", ["qemu-x86_64"]),
    "proot": ("proot", ["proot"]),
    "valgrind": ("valgrind", ["valgrind", "-q", "--trace-children=yes", "--vgdb=no"]),
    "strace": ("strace", ["strace", "-f", "-o", "/dev/null"]),
    "firejail": ("firejail", ["firejail", "--quiet", "--noprofile"]),
}
SHARED = "shared"  # repro/shared/: reproducers of several systems, named on their first line
SYSTEMS_LINE = re.compile(r"^/\* repro-systems:((?: [\w.-]+)+)\s*$")


def repro_systems(src: Path) -> list[str]:
    """The systems a reproducer shows its divergence on: its directory's, or those its first line names."""
    if src.parent.name != SHARED:
        return [src.parent.name]
    first = src.read_text().split("\n", 1)[0]
    m = SYSTEMS_LINE.match(first)
    assert m, f"{src}: the first line must name the systems: /* repro-systems: SYSTEM... "
    return m.group(1).split()


REPROS = sorted(REPRO.glob("*/*.c"))
# (reproducer, system): each reproducer once per system it names
REPRO_CASES = [(src, system) for src in REPROS for system in repro_systems(src)]
SIGPIPE_RULE = "pipe.epipe-no-reader"


def _one_line_exit_2(proc, needle: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_wrap_specs_parse_as_a_shell_would():
    t = targets.parse("wrap:valgrind -q --trace-children=yes")
    assert (t.kind, t.name, t.options["command"]) == (
        "wrap", "wrap:valgrind -q --trace-children=yes", ["valgrind", "-q", "--trace-children=yes"])
    t = targets.parse("wrap:'firejail' --quiet   --noprofile")
    assert t.name == "wrap:firejail --quiet --noprofile"
    # a wrap: spec takes the rest of its --target value, commas included
    names = [x.name for x in targets.parse_list(["host,wrap:strace -f -e trace=read,write -o /dev/null"])]
    assert names == ["host", "wrap:strace -f -e trace=read,write -o /dev/null"]
    assert t.wrap(["/bin/true", "x"]) == ["firejail", "--quiet", "--noprofile", "/bin/true", "x"]
    with pytest.raises(UsageError):
        targets.parse("wrap:")
    with pytest.raises(UsageError):
        targets.parse("wrap:'unbalanced")


def test_known_slow_wrappers_and_emulators():
    assert target_wrap.default_scale(["valgrind", "-q"]) > 1
    assert target_wrap.default_scale(["/usr/bin/qemu-x86_64"]) > 1
    assert target_wrap.default_scale(["firejail"]) == 1
    # an emulator does not follow execve by itself: the helpers' re-exec goes through it
    data = targets.parse("wrap:qemu-x86_64 -cpu max").to_data()
    data["options"]["timeout_scale"] = 5.0
    assert target_wrap.env(data) == {"IPCSUITE_WRAP": "qemu-x86_64\t-cpu\tmax", "IPCSUITE_TIMEOUT_SCALE": "5.0"}
    assert "IPCSUITE_WRAP" not in target_wrap.env(targets.parse("wrap:strace -f").to_data())
    assert "IPCSUITE_WRAP" not in target_wrap.env(targets.parse("wrap:valgrind --trace-children=yes").to_data())
    assert "IPCSUITE_WRAP" in target_wrap.env(targets.parse("wrap:valgrind -q").to_data())


@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf", "-inf", "x", ""])
def test_bad_timeout_scale_is_one_line_and_exit_2(value):
    proc = ipcsuite("run", "--no-build", "--timeout-scale", value, "--filter", "pipe/PipeEnds.*", timeout=120)
    _one_line_exit_2(proc, "--timeout-scale")


@pytest.mark.parametrize("spec,needle", [
    ("wrap:", "needs a command"),
    ("wrap:/nonexistent/ipcsuite-wrapper", "not found"),
    ("wrap:ipcsuite-no-such-wrapper --flag", "not found"),
    ("wrap:sh -c 'exit 127'", "exited 127"),
    ("wrap:false", "exited 1"),
])
def test_a_wrapper_that_cannot_start_is_one_line_and_exit_2(spec, needle):
    proc = ipcsuite("run", "--no-build", "--target", spec, "--filter", "pipe/PipeEnds.*", timeout=120)
    _one_line_exit_2(proc, needle)


def test_a_wrapper_that_breaks_one_rule_fails_exactly_that_rule(run_suite):
    """A wrapper that preloads break_sigpipe into the wrapped processes (fork server and all) fails the rule it
    breaks, and exactly the tests that the same interposer fails through --preload (exec mode)."""
    lib = preload_lib("break_sigpipe")
    broken = run_suite("--filter", "pipe/PipeEpipe*", "--target", f"wrap:env LD_PRELOAD={lib}",
                       "--no-expectations")
    assert broken.doc is not None, broken.stderr
    assert broken.returncode == 1, broken.stdout[-3000:]
    failed = [t for t in broken.doc["tests"] if t["status"] in ("failed", "error")]
    assert any(SIGPIPE_RULE in t["rules"] for t in failed), broken.stdout[-3000:]
    assert all(t["status"] == "failed" for t in failed), broken.stdout[-3000:]
    assert SIGPIPE_RULE in broken.stdout
    preloaded = run_suite("--filter", "pipe/PipeEpipe*", "--preload", str(lib), "--no-expectations")
    assert preloaded.returncode == 1, preloaded.stdout[-3000:]
    assert {t["id"] for t in failed} == {t["id"] for t in preloaded.by_status("failed")}
    # Control: the same tests pass under a wrapper that changes nothing.
    control = run_suite("--filter", ",".join(t["id"] for t in failed), "--target", "wrap:env",
                        "--no-expectations")
    assert control.returncode == 0, control.stdout[-3000:]
    assert {t["id"] for t in control.doc["tests"]} == {t["id"] for t in failed}
    assert all(t["status"] == "passed" for t in control.doc["tests"])


def test_helpers_are_reexeced_through_an_emulator_and_deadlines_scaled(run_suite, tmp_path):
    log = tmp_path / "calls.log"
    fake = tmp_path / "qemu-fake"  # named like an emulator: exec'd helpers would escape it
    fake.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\nexec "$@"\n')
    fake.chmod(0o755)
    res = run_suite("--filter", "signal/SignalExec.*", "--target", f"wrap:{fake}", "--timeout-scale", "3",
                    "--no-expectations")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    assert "timeout scale 3 (--timeout-scale)" in res.stdout
    calls = log.read_text().splitlines()
    assert any("--ipcsuite-serve" in c for c in calls), calls        # the fork server runs under it
    assert any("--ipcsuite-helper signal-state" in c for c in calls), calls  # and so does every helper
    plan = json.loads(next((res.results_dir / "latest" / "targets").glob("*/plan.json")).read_text())
    assert plan["test_timeout"] == 180.0 and plan["target"]["options"]["timeout_scale"] == 3.0


def test_every_expectation_of_a_system_names_its_reproducer():
    for system in SYSTEMS:
        path = ROOT / "expectations" / f"{system}.txt"
        if not path.exists():
            continue
        exps = expectations.parse(path.read_text(), str(path))
        for e in exps:
            named = re.findall(r"repro/[\w.-]+/[\w.-]+\.c", e.reason)
            assert named, f"{e.source}: the reason names no reproducer (repro/<system>/<name>.c)"
            for rel in named:
                assert (ROOT / rel).is_file(), f"{e.source}: {rel} does not exist"
                assert system in repro_systems(ROOT / rel), f"{e.source}: {rel} is not a reproducer of {system}"


def test_a_shared_reproducer_names_several_known_systems_and_is_kept_once():
    for src in REPROS:
        systems = repro_systems(src)
        assert all(s in SYSTEMS for s in systems), f"{src}: unknown system in {systems}"
        if src.parent.name == SHARED:
            assert len(systems) >= 2 and len(set(systems)) == len(systems), f"{src}: names {systems}"
    by_name: dict[str, list[str]] = {}
    for src in REPROS:
        by_name.setdefault(src.name, []).append(src.parent.name)
    assert not {n: d for n, d in by_name.items() if len(d) > 1}, "a reproducer kept twice: move it to repro/shared/"
    by_text: dict[str, list[str]] = {}
    for src in REPROS:
        by_text.setdefault(src.read_text(), []).append(str(src.relative_to(ROOT)))
    assert not [p for p in by_text.values() if len(p) > 1], "identical reproducers: keep one in repro/shared/"


@pytest.mark.parametrize("src,system", REPRO_CASES,
                         ids=[f"{s.parent.name}/{s.stem}" + (f"@{y}" if s.parent.name == SHARED else "")
                              for s, y in REPRO_CASES])
def test_reproducer_shows_its_divergence(src, system):
    assert system in SYSTEMS, f"repro/{system}/: add the system to SYSTEMS in {Path(__file__).name}"
    package, cmd = SYSTEMS[system]
    exe = BUILD / "repro" / src.parent.name / src.stem
    assert exe.is_file(), f"{exe} was not built"
    native = subprocess.run([str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    if native.returncode == 77:
        pytest.skip(f"{src.name} cannot run here: {native.stdout.strip()[-200:]}")
    assert native.returncode == 0, f"the host shows the divergence too:\n{native.stdout}"
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{system} is not installed here (Debian package {package})")
    wrapped = subprocess.run([*cmd, str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=300, check=False,
                             env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
    assert wrapped.returncode == 1, f"{system} no longer shows the divergence (exit {wrapped.returncode}):\n" \
        + wrapped.stdout
