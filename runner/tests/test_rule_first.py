"""Results answer "which documented rules does this system break?" first: the terminal summary and
report.html open with the broken rules (id, man page and section, statement, failing tests with the actual
values), link each rule to its catalogue row and each page to man7.org, and show relative source paths."""
import re

from reports import html, summary
from runner import report_cmd
from runner.tests.conftest import ROOT, preload_lib

MESSAGE = (f"{ROOT}/suite/sem/semop_errors_test.cc:120: Failure\nExpected equality of these values:\n  errno\n"
           "    Which is: 22\n  EIDRM\n    Which is: 43\nsuite/sem/x.cc:130: Failure\nsecond failure")


def doc_with_broken_rule() -> dict:
    tests = [{"id": "sem/SemOpErrors.RemovedSetFailsWithEidrm", "area": "sem", "status": "failed",
              "duration_s": 0.1, "rules": ["sem.semop-eidrm"], "message": MESSAGE,
              "location": "suite/sem/semop_errors_test.cc:120", "target": "host"},
             {"id": "sem/SemGet.Fine", "area": "sem", "status": "passed", "duration_s": 0.1,
              "rules": ["sem.semget-create"], "message": "", "target": "host"},
             {"id": "sem/SemGet.Refused", "area": "sem", "status": "error", "duration_s": 0.1,
              "rules": ["sem.semget-create"], "message": "[infrastructure] fork: EAGAIN", "target": "host"}]
    return {"environment": {"kernel_release": "6.18", "target": "host", "run_id": "r"},
            "counts": {"passed": 1, "failed": 1, "error": 1}, "tests": tests}


def test_terminal_summary_opens_with_the_broken_rule_and_the_actual_values():
    rules = report_cmd.catalogue_rules()
    assert "sem.semop-eidrm" in rules
    lines = summary.render(doc_with_broken_rule(), "R", rules=rules).splitlines()
    assert lines[1].startswith("broken rules (1)")
    assert lines[2].split()[:3] == ["sem.semop-eidrm", "semop(2),", "ERRORS"] and "(man 2 semop)" in lines[2]
    assert lines[3].strip() == summary._cut(rules["sem.semop-eidrm"]["statement"], 200)
    assert "FAILED  sem/SemOpErrors.RemovedSetFailsWithEidrm  [rules: sem.semop-eidrm]" in lines[4]
    block = "\n".join(lines[5:11])
    assert "Which is: 22" in block and "Which is: 43" in block and "second failure" not in block
    err = next(i for i, ln in enumerate(lines) if ln.startswith("errors (1)"))
    area = next(i for i, ln in enumerate(lines) if ln.strip().startswith("area "))
    assert err < area, "broken rules and errors come before the counts"
    assert "ERROR   sem/SemGet.Refused" in lines[err + 1]


def test_report_html_opens_with_the_broken_rule_linked_to_catalogue_and_man_page():
    page = html.render(doc_with_broken_rule(), report_cmd.catalogue_rules())
    broken_at, cards_at = page.index('id="broken"'), page.index('class="cards"')
    assert broken_at < cards_at
    section = page[broken_at:cards_at]
    assert 'href="#rule-sem.semop-eidrm"' in section
    assert 'href="https://man7.org/linux/man-pages/man2/semop.2.html"' in section and "man 2 semop" in section
    assert "Which is: 22" in section
    assert 'id="rule-sem.semop-eidrm"' in page, "the link's target row exists"
    assert str(ROOT) not in page, "paths are relative to the checkout"
    sem_table = page[page.index('id="cat-sem"'):]
    sem_table = sem_table[:sem_table.index("</table>")]
    rows = re.findall(r'<tr id="rule-([^"]+)"', sem_table)
    assert rows[0] == "sem.semop-eidrm", "the broken rule comes first in its area's catalogue"


def test_a_real_broken_rule_is_named_first_in_the_terminal(run_suite):
    r = run_suite("--filter", "pipe/*", "--preload", str(preload_lib("break_sigpipe")))
    assert r.returncode == 1
    out = r.stdout.splitlines()
    head = next(i for i, ln in enumerate(out) if ln.startswith("ipcsuite results:"))
    assert out[head + 1].startswith("broken rules (")
    assert any(ln.strip().startswith("pipe.epipe-no-reader") and "(man " in ln for ln in out[head + 1:head + 40])


def test_one_line_message_keeps_the_actual_value():
    from runner import plugin
    line = plugin.compact_message("x.cc:3: Failure\nExpected equality of these values:\n  errno\n    Which is: 22\n"
                                  "  EIDRM\n    Which is: 43")
    assert "errno (which is 22) EIDRM (which is 43)" in line
