"""report / diff / merge from results.json files, the gate's exit codes, and report.html in a real browser."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from reports import html, results
from runner.tests.conftest import ipcsuite


def entry(tid, status, target="host", msg=""):
    return {"id": tid, "area": tid.split("/")[0], "status": status, "target": target, "duration_s": 0.25,
            "rules": [tid.split("/")[0] + ".rule"], "message": msg, "location": "suite/x.cc:1"}


def write_run(path, tests, kernel="6.18.0", target="host"):
    path.mkdir(parents=True)
    doc = {"schema_version": 1, "environment": {"kernel_release": kernel, "libc": "glibc", "libc_version": "2.36",
                                                 "architecture": "x86_64", "target": target, "run_id": path.name},
           "started": "2026-01-01T00:00:00Z", "duration_s": 1.0, "counts": results.count(tests), "tests": tests}
    (path / "results.json").write_text(json.dumps(doc))
    return path


def test_diff_lists_changes_and_exits_1_only_on_regressions(tmp_path):
    a = write_run(tmp_path / "a", [entry("pipe/A.x", "passed"), entry("pipe/B.y", "failed", msg="old bug"),
                                   entry("fifo/C.z", "passed"), entry("fifo/Gone.g", "passed")])
    b = write_run(tmp_path / "b", [entry("pipe/A.x", "failed", msg="write returned 3"),
                                   entry("pipe/B.y", "passed"), entry("fifo/C.z", "skipped", msg="no root"),
                                   entry("fifo/New.n", "passed")], kernel="6.1.0")
    proc = ipcsuite("diff", str(a), str(b), timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "regressions:\n  pipe/A.x: passed -> failed" in out and "write returned 3" in out
    assert "fixed:\n  pipe/B.y: failed -> passed" in out
    assert "fifo/C.z: passed -> skipped" in out
    assert "only in B: 1 tests" in out and "only in A: 1 tests" in out
    assert out.strip().splitlines()[-1] == "1 regressions, 1 fixed, 1 other changes, 1 added, 1 removed"
    back = ipcsuite("diff", str(b), str(a), "--json", timeout=60)
    assert back.returncode == 1  # B -> A: pipe/B.y regresses
    d = json.loads(back.stdout)
    assert [e["test"] for e in d["regressions"]] == ["pipe/B.y"]
    same = ipcsuite("diff", str(a), str(a / "results.json"), timeout=60)
    assert same.returncode == 0 and "0 regressions" in same.stdout


def test_diff_of_multi_target_runs_keys_by_target(tmp_path):
    a = write_run(tmp_path / "a", [entry("pipe/A.x", "passed", "host"), entry("pipe/A.x", "passed", "userns")])
    b = write_run(tmp_path / "b", [entry("pipe/A.x", "passed", "host"), entry("pipe/A.x", "failed", "userns")])
    proc = ipcsuite("diff", str(a), str(b), timeout=60)
    assert proc.returncode == 1 and "userns: pipe/A.x: passed -> failed" in proc.stdout


def test_bad_runs_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "junk.json").write_text("{}")
    for args in (["diff", str(tmp_path / "nope"), str(tmp_path / "nope")], ["report", str(tmp_path / "junk.json")],
                 ["merge"]):
        proc = ipcsuite(*args, timeout=60)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_merge_combines_shards_and_targets_into_one_report(tmp_path):
    s1 = write_run(tmp_path / "s1", [entry("pipe/A.x", "passed"), entry("pipe/B.y", "passed")])
    s2 = write_run(tmp_path / "s2", [entry("fifo/C.z", "passed")])
    s3 = write_run(tmp_path / "s3", [entry("pipe/A.x", "failed", "qemu:vmlinuz-6.1", "EPERM")], kernel="6.1.0",
                   target="qemu:vmlinuz-6.1")
    out = tmp_path / "merged"
    proc = ipcsuite("merge", str(s1), str(s2), str(s3), "-o", str(out), timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr   # the merged run has an unexpected failure
    doc = json.loads((out / "results.json").read_text())
    assert {(t["target"], t["id"]) for t in doc["tests"]} == {
        ("host", "pipe/A.x"), ("host", "pipe/B.y"), ("host", "fifo/C.z"), ("qemu:vmlinuz-6.1", "pipe/A.x")}
    assert doc["targets"]["qemu:vmlinuz-6.1"]["kernel_release"] == "6.1.0"
    assert doc["counts"]["passed"] == 3 and doc["counts"]["failed"] == 1
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in suites] == [
        ("ipcsuite.host", "3", "0"), ("ipcsuite.qemu:vmlinuz-6.1", "1", "1")]
    assert (out / "report.html").is_file()
    ok = ipcsuite("merge", str(s1), str(s2), "-o", str(tmp_path / "m2"), timeout=60)
    assert ok.returncode == 0 and "3 passed, 0 failed" in ok.stdout
    again = ipcsuite("merge", str(s1), "-o", str(out), timeout=60)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_report_regenerates_reports_and_reapplies_expectations(tmp_path):
    run = write_run(tmp_path / "r", [entry("pipe/A.x", "failed", "userns", "EINVAL"),
                                     entry("pipe/A.x", "passed", "host")])
    proc = ipcsuite("report", str(run), timeout=60)
    assert proc.returncode == 1 and "FAILED  pipe/A.x" in proc.stdout
    assert (run / "junit.xml").is_file() and (run / "report.html").is_file()
    exp = tmp_path / "e.txt"
    exp.write_text('ipcsuite-expectations 1\nuserns pipe/A.* fail reason="uids beyond the map"\n')
    proc = ipcsuite("report", str(run), "--expectations", str(exp), "--no-expectations", timeout=60)
    assert proc.returncode == 0, proc.stdout
    doc = json.loads((run / "results.json").read_text())
    st = {t["target"]: t for t in doc["tests"]}
    assert st["userns"]["status"] == "xfailed" and st["userns"]["actual_status"] == "failed"
    assert "uids beyond the map" in (run / "report.html").read_text()


def test_gate_exit_codes_with_expectations_on_a_real_run(run_suite, tmp_path):
    from runner.tests.conftest import preload_lib
    lib = str(preload_lib("break_pipe2_cloexec"))
    broken = run_suite("--filter", "pipe/*Cloexec*", "--preload", lib, "--no-expectations")
    assert broken.returncode == 1
    failing = sorted(t["id"] for t in broken.by_status("failed"))
    assert failing
    exp = tmp_path / "exp.txt"
    exp.write_text("ipcsuite-expectations 1\n" + "".join(
        f'host {tid} fail reason="the interposer drops O_CLOEXEC on purpose"\n' for tid in failing))
    known = run_suite("--filter", "pipe/*Cloexec*", "--preload", lib, "--no-expectations", "--expectations",
                      str(exp))
    assert known.returncode == 0, known.stdout[-2000:]
    assert sorted(t["id"] for t in known.by_status("xfailed")) == failing
    # without the interposer the expected failures pass: unexpected passes fail the gate
    fixed = run_suite("--filter", "pipe/*Cloexec*", "--no-expectations", "--expectations", str(exp))
    assert fixed.returncode == 1
    assert sorted(t["id"] for t in fixed.by_status("xpassed")) == failing
    assert "XPASSED" in fixed.stdout


def _chromium():
    exe = shutil.which("chromium")
    if exe:
        return exe, ""
    if os.geteuid() != 0:
        return None, "chromium is not installed (Debian package chromium) and this is not root"
    from runner import deps
    from runner.errors import SetupError
    try:
        deps.install(["chromium"])
    except SetupError as e:
        return None, f"chromium could not be installed: {e}"
    return shutil.which("chromium"), ""


def sample_doc():
    tests = [entry("pipe/A.x", "passed", "host"), entry("pipe/A.x", "failed", "userns", "EINVAL <b>bold</b>"),
             entry("fifo/C.z", "passed", "host"), entry("fifo/C.z", "skipped", "userns", "needs root")]
    doc, _ = results.merge_docs([{"environment": {"target": "host", "kernel_release": "6.18", "run_id": "t"},
                                  "tests": tests}], "t")
    return doc


def test_html_report_content():
    page = html.render(sample_doc(), {"pipe.rule": {"page": "pipe(7)", "statement": "s", "status": "tested"}})
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for section in ('id="gate"', 'id="targets"', 'id="charts"', 'id="areas"', 'id="failures"', 'id="matrix"',
                    'id="rules"', "<svg"):
        assert section in page, section
    assert "EINVAL &lt;b&gt;bold&lt;/b&gt;" in page          # messages are escaped
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    matrix = page[page.index('id="matrix"'):]
    assert matrix.index("pipe/A.x") < matrix.index("fifo/C.z") or "2 divergent" in matrix


def test_html_report_renders_in_headless_chromium(tmp_path):
    exe, why = _chromium()
    if not exe:
        pytest.skip(why)
    page = tmp_path / "report.html"
    page.write_text(html.render(sample_doc(), {}))
    shot = tmp_path / "shot.png"
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600"]
    proc = subprocess.run(base + [f"--screenshot={shot}", page.as_uri()], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    assert shot.is_file(), proc.stdout[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1600)
    assert len(data) > 20000, "a blank page compresses to almost nothing"
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, timeout=120).stdout
    assert "Target matrix" in dom and "gate: FAILED" in dom


def test_html_report_fits_1280_pixels_with_long_unbroken_words(tmp_path):
    """Test ids, expectation patterns, reasons and bug links are long words without spaces: the page still
    fits a 1280 px window (no horizontal scrolling); chromium measures the laid-out page."""
    exe, why = _chromium()
    if not exe:
        pytest.skip(why)
    doc = sample_doc()
    long_id = "msg/MsgGet." + "AtMsgmniLookupStillWorksAndRemovalFreesTheSlot" * 2
    doc["tests"].append(entry(long_id, "failed", "host", "E" * 300))
    doc["expectations"] = [{"target": "wrap:firejail --quiet --noprofile", "test": long_id.replace("Get", "*"),
                            "expect": "fail", "reason": "/proc/sys/kernel/" + "msgmni_is_read_only_" * 8,
                            "bug": "https://github.com/netblue30/firejail/issues/" + "1" * 60,
                            "source": "expectations/firejail.txt:9"}] * 3
    page = html.render(doc, {})
    probe = ("<script>addEventListener('load',()=>document.body.setAttribute('data-scroll-width',"
             "document.documentElement.scrollWidth))</script>")
    (tmp_path / "report.html").write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600", "--dump-dom",
                          (tmp_path / "report.html").as_uri()], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, timeout=120).stdout
    width = re.search(r'data-scroll-width="(\d+)"', dom)
    assert width, dom[-2000:]
    assert int(width.group(1)) <= 1280


def test_diff_with_renames_compares_old_ids_under_their_new_ones(tmp_path):
    a = write_run(tmp_path / "a", [entry("sem/Semget.x", "passed"), entry("sem/SemctlVal.y", "passed"),
                                   entry("sem/Dup.one", "passed"), entry("sem/Dup.two", "skipped", msg="no cap"),
                                   entry("pipe/A.x", "passed")])
    b = write_run(tmp_path / "b", [entry("sem/SemGet.x", "passed"), entry("sem/SemCtlVal.y", "passed"),
                                   entry("sem/Dup.merged", "passed"), entry("pipe/A.x", "passed")])
    renames = tmp_path / "renames.tsv"
    renames.write_text("# old\tnew\nsem/Semget.x\tsem/SemGet.x\nsem/SemctlVal.y\tsem/SemCtlVal.y\n\n"
                       "sem/Dup.one\tsem/Dup.merged\nsem/Dup.two\tsem/Dup.merged\n")
    without = ipcsuite("diff", str(a), str(b), timeout=60)
    assert "3 added, 4 removed" in without.stdout, without.stdout
    proc = ipcsuite("diff", str(a), str(b), "--renames", str(renames), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The merged test is compared with each old one: one of them was skipped, so that is the only change.
    assert "sem/Dup.merged (was sem/Dup.two): skipped -> passed" in proc.stdout
    assert "renames: 4 old ids mapped to 3 new ids" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "0 regressions, 0 fixed, 1 other changes, 0 added, 0 removed"
    d = json.loads(ipcsuite("diff", str(a), str(b), "--renames", str(renames), "--json", timeout=60).stdout)
    assert d["renamed"] == 4 and not d["added"] and not d["removed"]
    assert [e["test"] for e in d["changed"]] == ["sem/Dup.merged (was sem/Dup.two)"]


@pytest.mark.parametrize("text,needle", [
    ("sem/Nope.x\tsem/SemGet.x\n", "sem/Nope.x (not in RUN_A)"),
    ("sem/Semget.x\tsem/Typo.x\n", "sem/Typo.x (not in RUN_B)"),
    ("sem/Semget.x sem/SemGet.x\n", "expected '<old id><TAB><new id>'"),
    ("sem/Semget.x\tsem/SemGet.x\nsem/Semget.x\tsem/Other.x\n", "renamed twice"),
])
def test_diff_renames_with_unknown_or_bad_lines_is_one_line_and_exit_2(tmp_path, text, needle):
    a = write_run(tmp_path / "a", [entry("sem/Semget.x", "passed")])
    b = write_run(tmp_path / "b", [entry("sem/SemGet.x", "passed")])
    (tmp_path / "r.tsv").write_text(text)
    proc = ipcsuite("diff", str(a), str(b), "--renames", str(tmp_path / "r.tsv"), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ipcsuite: error: --renames") and needle in lines[0], lines
