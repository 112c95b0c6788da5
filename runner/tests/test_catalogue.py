"""The rules catalogue parser and the test <-> rule consistency check."""
from pathlib import Path

import pytest

from runner import catalogue


def write(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir(exist_ok=True)
    (d / "x.ini").write_text(text)
    return d


def test_loads_fields(tmp_path):
    d = write(tmp_path, "[a.b]\npage = pipe(7)\nsection = S\nerrno = EPIPE\nstatement = one\n  two\n")
    r = catalogue.load_rules(d)["a.b"]
    assert (r.page, r.section, r.errno, r.statement, r.status) == ("pipe(7)", "S", "EPIPE", "one two", "tested")


@pytest.mark.parametrize("text,needle", [
    ("[a]\nstatement = s\n", "missing 'page'"),
    ("[a]\npage = p(2)\n", "missing 'statement'"),
    ("[a]\npage = p(2)\nstatement = s\nstatus = maybe\n", "status must be"),
    ("[a]\npage = p(2)\nstatement = s\nstatus = not-provokable\n", "needs a 'reason'"),
    ("[a]\npage = p(2)\nstatement = s\nerrrno = E\n", "unknown key"),
    ("[a]\npage = p(2)\nstatement = s\n[a]\npage = p(2)\nstatement = s\n", "x.ini"),
])
def test_malformed_catalogue_names_the_problem(tmp_path, text, needle):
    with pytest.raises(catalogue.CatalogueError) as e:
        catalogue.load_rules(write(tmp_path, text))
    assert needle in str(e.value)


def test_link_reports_both_directions(tmp_path):
    d = write(tmp_path, "[r.used]\npage = p(2)\nstatement = s\n[r.unused]\npage = p(2)\nstatement = s\n"
                        "[r.np]\npage = p(2)\nstatement = s\nstatus = not-provokable\nreason = why\n")
    rules = catalogue.load_rules(d)
    tests = [catalogue.TestCase(Path("b"), "pipe", "S.A", "f:1", ["r.used"]),
             catalogue.TestCase(Path("b"), "pipe", "S.B", "f:2", ["r.missing"]),
             catalogue.TestCase(Path("b"), "pipe", "S.C", "f:3", []),
             catalogue.TestCase(Path("b"), "pipe", "S.D", "f:4", ["r.np"])]
    problems = catalogue.link(rules, tests)
    text = "\n".join(problems)
    assert "unknown rule 'r.missing'" in text
    assert "S.C (f:3) names no rule" in text
    assert "r.unused" in text and "no test names it" in text
    assert "r.np" in text and "not-provokable" in text
    assert rules["r.used"].tests == ["pipe/S.A"]
    assert len(problems) == 4


def test_a_filter_that_names_its_areas_lists_only_their_binaries():
    assert catalogue.areas_named(["pipe/*", "sem/SemGet.*"]) == {"pipe", "sem"}
    assert catalogue.areas_named(["*Ends*"]) is None
    assert catalogue.areas_named(["p*/x"]) is None
    assert catalogue.areas_named([]) is None
