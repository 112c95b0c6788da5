"""The catalogue covers every (page, errno) pair in the ERRORS sections of the pages the suite claims
(suite/rules/*.pages).

The ERRORS sections are read from Debian's manpages-dev sources; each errno listed there must appear in
a rule of that page, either tested or not-provokable with a reason.
"""
import gzip
import re
from pathlib import Path

import pytest

from runner import catalogue

MAN = Path("/usr/share/man")
RULES = catalogue.RULES_DIR


def claimed_pages() -> list[str]:
    """The pages each area claims in suite/rules/<area>.pages (one "name.section" per line, # comments)."""
    pages = []
    for path in sorted(RULES.glob("*.pages")):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                assert re.fullmatch(r"[a-z_0-9]+\.[0-9][a-z]*", line), f"{path.name}: bad page {line!r}"
                pages.append(line)
    return sorted(set(pages))


PAGES = claimed_pages()


def errors_section(page: str) -> set:
    name, section = page.rsplit(".", 1)
    src = MAN / f"man{section}" / f"{page}.gz"
    if not src.exists():
        pytest.skip(f"{src} is missing (Debian package manpages-dev)")
    text = gzip.decompress(src.read_bytes()).decode(errors="replace")
    m = re.search(r"^\.SH ERRORS\n(.*?)^\.SH ", text, re.S | re.M)
    assert m, f"{page} has no ERRORS section"
    return set(re.findall(r"^\.BR? (E[A-Z0-9]+)\b", m.group(1), re.M))


@pytest.mark.parametrize("page", PAGES)
def test_every_documented_errno_is_catalogued(page):
    documented = errors_section(page)
    assert documented, page
    name, section = page.rsplit(".", 1)
    label = f"{name}({section})"
    rules = [r for r in catalogue.load_rules().values() if r.page == label]
    catalogued = {r.errno for r in rules if r.errno}
    missing = sorted(documented - catalogued)
    assert not missing, f"{label} ERRORS lists {', '.join(missing)} but no rule of that page names it"
