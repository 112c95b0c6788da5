"""The catalogue covers every (page, errno) pair in the ERRORS sections of the pages the suite claims.

The ERRORS sections are read from Debian's manpages-dev sources; each errno listed there must appear in
a rule of that page, either tested or not-provokable with a reason.
"""
import gzip
import re
from pathlib import Path

import pytest

from runner import catalogue

MAN = Path("/usr/share/man")
PAGES = ["pipe.2", "mkfifo.3", "semget.2", "semop.2", "semctl.2", "shmget.2", "shmop.2", "shmctl.2",
         "msgget.2", "msgop.2", "msgctl.2"]


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
