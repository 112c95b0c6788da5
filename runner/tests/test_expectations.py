"""Expectations files: parsing, clear errors naming the line, and how they turn results into xfail/xpass.

The splitting and glob properties take generated inputs (python3-hypothesis); IPCSUITE_FUZZ_EXAMPLES raises
their number (default 300)."""
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner import expectations as ex

GOOD = """\
# known divergences
ipcsuite-expectations 1
userns  pipe/PipeMaxSize.*  fail  reason="CAP_SYS_RESOURCE of a user namespace is not enough"  bug=https://example.invalid/1
qemu:*  'sem/Sem Ops.*'     skip  reason='guest has no X'
"""


def test_parse_good_file():
    got = ex.parse(GOOD, "e.txt")
    assert [(e.target, e.test, e.expect) for e in got] == [
        ("userns", "pipe/PipeMaxSize.*", "fail"), ("qemu:*", "sem/Sem Ops.*", "skip")]
    assert got[0].reason == "CAP_SYS_RESOURCE of a user namespace is not enough"
    assert got[0].bug == "https://example.invalid/1" and got[1].bug == ""
    assert got[0].source == "e.txt:3"
    assert got[0].matches("userns", "pipe/PipeMaxSize.PrivilegedCallerMayExceedPipeMaxSize")
    assert not got[0].matches("host", "pipe/PipeMaxSize.PrivilegedCallerMayExceedPipeMaxSize")


SETTINGS = settings(max_examples=int(os.environ.get("IPCSUITE_FUZZ_EXAMPLES", "300")), deadline=None,
                    derandomize=True, database=None)

BAD = [
    ("userns pipe/X.Y fail reason=r\n", 1, "first line must be"),
    ("ipcsuite-expectations 2\n", 1, "unsupported version 2"),
    ("ipcsuite-expectations one\n", 1, "version must be a number"),
    ("ipcsuite-expectations 1\n\nuserns pipe/X.Y maybe reason=r\n", 3, "must be one of fail, flaky, skip"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail\n", 2, "expected 'TARGET TEST EXPECT"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail bug=u\n", 2, "reason"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail reason=a b\n", 2, "not key=value"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail reason=\"a\n", 2, "quotes"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail reason=a owner=me\n", 2, "unknown key 'owner'"),
    ("ipcsuite-expectations 1\nuserns pipe/X.Y fail reason=a reason=b\n", 2, "reason given twice"),
    ("ipcsuite-expectations 1\nuserns PipeX fail reason=a\n", 2, "area/Suite.Name"),
]


@pytest.mark.parametrize("text,line,needle", BAD, ids=[b[2] for b in BAD])
def test_malformed_files_name_the_line(text, line, needle):
    with pytest.raises(ex.ExpectationError) as info:
        ex.parse(text, "bad.txt")
    assert str(info.value).startswith(f"bad.txt:{line}: "), info.value
    assert needle in str(info.value)


def doc(*tests):
    return {"environment": {"target": "host"}, "tests": [
        {"id": i, "area": i.split("/")[0], "status": s, "target": t, "duration_s": 0.0, "rules": [],
         "message": ""} for t, i, s in tests]}


def test_apply_turns_expected_failures_into_xfailed_and_passes_into_xpassed():
    exps = ex.parse(GOOD, "e.txt")
    d = doc(("userns", "pipe/PipeMaxSize.A", "failed"), ("userns", "pipe/PipeMaxSize.B", "passed"),
            ("userns", "pipe/PipeMaxSize.C", "skipped"), ("host", "pipe/PipeMaxSize.A", "failed"),
            ("userns", "pipe/Other.A", "error"))
    ex.apply(d, exps)
    st = {(t["target"], t["id"]): t["status"] for t in d["tests"]}
    assert st == {("userns", "pipe/PipeMaxSize.A"): "xfailed", ("userns", "pipe/PipeMaxSize.B"): "xpassed",
                  ("userns", "pipe/PipeMaxSize.C"): "skipped", ("host", "pipe/PipeMaxSize.A"): "failed",
                  ("userns", "pipe/Other.A"): "error"}
    a = d["tests"][0]
    assert a["actual_status"] == "failed" and a["expectation"]["source"] == "e.txt:3"
    assert "expected to fail on userns" in d["tests"][1]["message"]
    assert d["counts"]["xfailed"] == 1 and d["counts"]["xpassed"] == 1


def test_the_projects_expectation_files_parse():
    ex.load(None, use_default=True)


def test_cli_reports_a_malformed_file_in_one_line_and_exits_2(tmp_path):
    from runner.tests.conftest import ipcsuite
    bad = tmp_path / "x.txt"
    bad.write_text("ipcsuite-expectations 1\nhost pipe/* maybe reason=r\n")
    proc = ipcsuite("run", "--no-build", "--expectations", str(bad), "--filter", "pipe/PipeEof*", timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:2: expected status must be one of" in lines[0], proc.stderr


def test_flaky_expectation_never_makes_a_pass_unexpected():
    exps = ex.parse('ipcsuite-expectations 1\nqemu:* pipe/Race.* flaky reason="emulator speed"\n', "f.txt")
    d = doc(("qemu:k", "pipe/Race.A", "failed"), ("qemu:k", "pipe/Race.B", "passed"))
    ex.apply(d, exps)
    assert [t["status"] for t in d["tests"]] == ["xfailed", "passed"]


# ---- long lines and hostile patterns: time linear in the file's size (issue 14, item 10) ----

LONG_LINES = {  # 1 MB lines: shlex took 2.3 s at 400 KB and 20 s at 1 MB (quadratic); now milliseconds
    "word": "host pipe/X.Y fail reason=" + "a" * 1_000_000,
    "quoted": 'host pipe/X.Y fail reason="' + "a " * 500_000 + '"',
    "escapes": 'host pipe/X.Y fail reason="' + "\\a" * 500_000 + '"',
    "unclosed quote": "host pipe/X.Y fail reason='" + "a" * 1_000_000,
    "many words": "a " * 500_000,
    "long glob": "host " + "*a" * 500_000 + " fail reason=r",
}


def test_long_lines_parse_in_linear_time():
    # In a child with a deadline: the quadratic parser would take minutes for all of them. CPU time, not the
    # wall clock: on a loaded machine a linear parse waits for a CPU as long as it likes.
    import subprocess
    import sys
    from runner.tests.conftest import ROOT
    code = ("import sys, time\nfrom runner import expectations as ex\nfrom runner.tests import test_expectations as t\n"
            "for name, line in t.LONG_LINES.items():\n"
            "    start = time.process_time()\n"
            "    try:\n        ex.parse('ipcsuite-expectations 1\\n' + line + '\\n', 'f')\n"
            "    except ex.ExpectationError as e:\n        assert len(str(e)) < 200, str(e)[:300]\n"
            "    print(name, round(time.process_time() - start, 3), flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    times = dict(line.rsplit(" ", 1) for line in proc.stdout.splitlines())
    assert set(times) == set(LONG_LINES)
    slow = {k: v for k, v in times.items() if float(v) > 2.0}
    assert not slow, f"1 MB lines that took more than 2 s of CPU: {slow}"


def test_a_glob_longer_than_the_limit_is_one_line_naming_it():
    with pytest.raises(ex.ExpectationError) as info:
        ex.parse("ipcsuite-expectations 1\nhost pipe/" + "*a" * 200 + " fail reason=r\n", "bad.txt")
    assert str(info.value) == f"bad.txt:2: the test pattern is 405 characters long (at most {ex.MAX_GLOB})"


def test_unclosed_brackets_compile_in_linear_time():
    # fnmatch.translate scans to the end for the ']' of each '[': 10000 '[' took 12 s
    import time
    for pat in ("[" * 20000, "[!" * 10000, "[]" * 10000, "a[" * 10000 + "]"):
        start = time.process_time()  # CPU time: the wall clock of a loaded machine is no measure
        rx = ex.glob_regex(pat)
        assert time.process_time() - start < 2.0, pat[:10]
        if "]" not in pat:
            assert rx.match(pat), "a '[' that no ']' follows is a literal '['"


# shlex.split's view of a line: the parser must split exactly as shlex (its documented quoting) does
_LINE_CHARS = st.sampled_from(list("ab=#'\"\\ \t\r") + ["\x0b", "\x00", "\u2028", "é"])


@SETTINGS
@given(st.text(_LINE_CHARS, max_size=16))
def test_words_are_split_as_shlex_splits_them(line):
    import shlex

    def words(split):
        try:
            return split(line)
        except ValueError as e:
            return ("ValueError", str(e))
    assert words(ex.split_words) == words(lambda s: shlex.split(s, comments=True))


@SETTINGS
@given(st.text(st.sampled_from(list("ab[]!-*?\\^&~|")), max_size=12), st.text(st.sampled_from(list("ab[]!-\\^")),
                                                                             max_size=6))
def test_globs_match_as_fnmatch_matches(pattern, name):
    import fnmatch
    assert bool(ex.glob_regex(pattern).match(name)) == fnmatch.fnmatchcase(name, pattern)
