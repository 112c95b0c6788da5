"""The user's first question: which documented rules does this system break?

A rule is broken when a test that names it failed (or passed against an expectation that it fails). Tests
that ended in `error` checked nothing (the machine refused a setup step) and are listed apart. Used by the
terminal summary and report.html, which both open with this list.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

BROKEN = ("failed", "xpassed")
_PAGE = re.compile(r"^([A-Za-z0-9_.+-]+)\(([0-9][a-z]*)\)$")
# The start of the next failure in a message joined from several ("suite/sem/x.cc:12: Failure").
_NEXT = re.compile(r"^\S+:\d+: ")


@dataclass
class BrokenRule:
    id: str
    page: str = ""
    section: str = ""
    statement: str = ""
    tests: list[dict] = field(default_factory=list)


def man_url(page: str) -> str:
    """man7.org's URL of a man page written 'semop(2)'; '' when it is not a man page."""
    m = _PAGE.match(page.strip())
    if not m:
        return ""
    name, section = m.groups()
    return f"https://man7.org/linux/man-pages/man{section[0]}/{name}.{section}.html"


def man_hint(page: str) -> str:
    """The local command that shows the page ('man 2 semop'); '' when it is not a man page."""
    m = _PAGE.match(page.strip())
    return f"man {m.group(2)} {m.group(1)}" if m else ""


def first_failure(message: str, limit: int = 6) -> list[str]:
    """The first failure of a message (up to the next "file:line: " one), at most `limit` lines: with
    GoogleTest's "Which is:" lines, the actual values."""
    lines = [ln.rstrip() for ln in (message or "").splitlines() if ln.strip()]
    out = lines[:1]
    for ln in lines[1:]:
        if len(out) >= limit or _NEXT.match(ln):
            break
        out.append(ln.strip())
    return out


# The checkout, stripped from paths in messages: reports show paths relative to it.
CHECKOUT = str(Path(__file__).resolve().parent.parent)


def relative(text: str) -> str:
    return str(text).replace(CHECKOUT + "/", "")


def failure_text(t: dict) -> str:
    """A test's failures as GoogleTest printed them (its `details`, without the test id line), else its
    one-line `message`; paths relative to the checkout."""
    details = t.get("details") or ""
    first, _, rest = details.partition("\n")
    tid = t.get("id", "")
    text = rest if first.strip() in (tid, tid.split("/", 1)[-1]) else details
    return relative(text.strip() or t.get("message", ""))


def broken_rules(doc: dict, rules: dict) -> list[BrokenRule]:
    """Broken rules, most failing tests first; rules = {id: catalogue entry as JSON} (may be empty)."""
    found: dict[str, BrokenRule] = {}
    for t in doc.get("tests", []):
        if t.get("status") not in BROKEN:
            continue
        for rid in t.get("rules") or ["(no rule named)"]:
            r = rules.get(rid) or {}
            entry = found.setdefault(rid, BrokenRule(id=rid, page=r.get("page", ""), section=r.get("section", ""),
                                                    statement=r.get("statement", "")))
            entry.tests.append(t)
    return sorted(found.values(), key=lambda b: (-len(b.tests), b.id))


def infrastructure_errors(doc: dict) -> list[dict]:
    return [t for t in doc.get("tests", []) if t.get("status") == "error"]
