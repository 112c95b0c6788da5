"""The catalogue of documented rules (suite/rules/*.ini) and the tests that check them.

Tests come from the GoogleTest binaries listed in build/ipcsuite-manifest.tsv; each binary prints
"Suite.Name<TAB>file:line<TAB>rule,rule" for its tests with --ipcsuite-list-rules.
"""
from __future__ import annotations

import configparser
import errno
import fnmatch
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import SetupError, UsageError

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "suite" / "rules"
STATUSES = ("tested", "not-provokable")


@dataclass
class Rule:
    id: str
    page: str
    section: str
    errno: str
    statement: str
    status: str = "tested"
    reason: str = ""
    source: str = ""
    tests: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"id": self.id, "page": self.page, "section": self.section, "errno": self.errno or None,
                "statement": self.statement, "status": self.status, "reason": self.reason or None,
                "tests": sorted(self.tests)}


@dataclass
class TestCase:
    binary: Path
    area: str
    name: str            # Suite.Name as GoogleTest knows it
    location: str
    rules: list[str]

    @property
    def id(self) -> str:
        return f"{self.area}/{self.name}"


class CatalogueError(Exception):
    pass


def load_rules(rules_dir: Path = RULES_DIR) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for path in sorted(rules_dir.glob("*.ini")):
        parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",),
                                           inline_comment_prefixes=None, strict=True)
        try:
            parser.read(path)
        except configparser.Error as e:
            raise CatalogueError(f"{path.name}: {' '.join(str(e).split())}") from None
        for rid in parser.sections():
            sec = parser[rid]
            where = f"{path.name} [{rid}]"
            if rid in rules:
                raise CatalogueError(f"{where}: rule defined twice (also in {rules[rid].source})")
            for key in ("page", "statement"):
                if not sec.get(key, "").strip():
                    raise CatalogueError(f"{where}: missing '{key}'")
            unknown = set(sec.keys()) - {"page", "section", "errno", "statement", "status", "reason"}
            if unknown:
                raise CatalogueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            status = sec.get("status", "tested").strip()
            if status not in STATUSES:
                raise CatalogueError(f"{where}: status must be one of {', '.join(STATUSES)}")
            if status == "not-provokable" and not sec.get("reason", "").strip():
                raise CatalogueError(f"{where}: a not-provokable rule needs a 'reason'")
            rules[rid] = Rule(id=rid, page=sec["page"].strip(), section=sec.get("section", "").strip(),
                              errno=sec.get("errno", "").strip(), statement=" ".join(sec["statement"].split()),
                              status=status, reason=" ".join(sec.get("reason", "").split()), source=path.name)
    return rules


def read_manifest(build_dir: Path) -> list[tuple[str, str, Path]]:
    manifest = build_dir / "ipcsuite-manifest.tsv"
    if not manifest.exists():
        raise SetupError(f"{manifest} is missing: the build did not finish")
    out = []
    for line in manifest.read_text().splitlines():
        if line.strip():
            name, area, path = line.split("\t")
            out.append((name, area, build_dir / path))  # an installed manifest's paths are relative
    return out


# The project's top directories that hold test sources (for relative test locations).
SOURCE_TOPS = ("suite", "fixtures", "property", "fault", "runner")


def list_binary(binary: Path, area: str) -> list[TestCase]:
    try:
        proc = subprocess.run([str(binary), "--ipcsuite-list-rules"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    except OSError as e:
        if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN):  # the machine's limits
            raise SetupError(f"cannot start {binary} ({e.strerror}): raise the limit (ulimit -n, -u) or free "
                             "resources") from None
        raise SetupError(f"{binary} cannot be run ({e.strerror}): the build is incomplete; build again "
                         "(without --no-build)") from None
    except subprocess.TimeoutExpired:
        raise SetupError(f"{binary} --ipcsuite-list-rules did not finish within 60 s") from None
    if proc.returncode != 0:
        raise SetupError(f"{binary} --ipcsuite-list-rules failed (exit {proc.returncode}): "
                         f"{proc.stderr.strip()[:200]}")
    tests = []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        name, location, rules = (line.split("\t") + ["", ""])[:3]
        if location.startswith(str(ROOT) + "/"):
            location = location[len(str(ROOT)) + 1:]
        elif location.startswith("/"):
            # An installed suite's binaries name the checkout they were built in: keep the path from the
            # project's own top directory on.
            parts = location.split("/")
            tops = [i for i, part in enumerate(parts) if part in SOURCE_TOPS]
            if tops:
                location = "/".join(parts[tops[-1]:])
        tests.append(TestCase(binary=binary, area=area, name=name, location=location,
                              rules=[r for r in rules.split(",") if r]))
    return tests


# Areas that test the project itself (fixtures, fault layer) rather than the system under test: run by
# `./ipcsuite test`, not by `./ipcsuite run`.
SELF_AREAS = ("selftest", "fault")


def list_tests(build_dir: Path, include_selftest: bool = True, patterns: list[str] | None = None) -> list[TestCase]:
    """The tests of the build's binaries. With --filter patterns that all name their area exactly
    ('pipe/*', 'sem/SemGet.*'), only those areas' binaries are asked (the others need not be built)."""
    areas = areas_named(patterns or [])
    tests = []
    for _name, area, path in read_manifest(build_dir):
        if area in SELF_AREAS and not include_selftest:
            continue
        if areas is not None and area not in areas:
            continue
        tests.extend(list_binary(path, area))
    return tests


def areas_named(patterns: list[str]) -> set[str] | None:
    """The areas a filter can select, when every pattern starts with a literal 'area/'; else None (any)."""
    areas = set()
    for p in patterns:
        area, slash, _ = p.partition("/")
        if not slash or any(c in area for c in "*?[]"):
            return None
        areas.add(area)
    return areas or None


def matching(tests: list[TestCase], patterns: list[str]) -> list[TestCase]:
    """The tests whose id (area/Suite.Name) or name (Suite.Name) matches one of the globs (all without)."""
    if not patterns:
        return list(tests)
    return [t for t in tests if any(fnmatch.fnmatchcase(t.id, p) or fnmatch.fnmatchcase(t.name, p)
                                    for p in patterns)]


def page_matches(page: str, patterns: list[str]) -> bool:
    """'semop(2)' matches 'semop(2)', 'semop' (any section) and globs such as 'sem*'; case-insensitive."""
    name = page.split("(", 1)[0]
    return any(fnmatch.fnmatchcase(page.lower(), p.lower()) or fnmatch.fnmatchcase(name.lower(), p.lower())
               for p in patterns)


def rules_matching(rules: dict[str, Rule], rule_globs: list[str], pages: list[str]) -> set[str]:
    """Ids of the rules whose id matches one of rule_globs and whose page one of pages (each list: all if empty)."""
    return {r.id for r in rules.values()
            if (not rule_globs or any(fnmatch.fnmatchcase(r.id, g) for g in rule_globs))
            and (not pages or page_matches(r.page, pages))}


def by_rules(tests: list[TestCase], rule_globs: list[str], pages: list[str]) -> list[TestCase]:
    """The tests that check at least one rule selected by --rule/--page (all tests when neither is given)."""
    if not rule_globs and not pages:
        return list(tests)
    try:
        wanted = rules_matching(load_rules(), rule_globs, pages)
    except CatalogueError as e:
        raise SetupError(f"rules catalogue: {e}") from None
    what = " ".join([*(f"--rule {g}" for g in rule_globs), *(f"--page {p}" for p in pages)])
    if not wanted:
        raise UsageError(f"{what} matches no rule of the catalogue (see ./ipcsuite rules)")
    return [t for t in tests if wanted.intersection(t.rules)]


def link(rules: dict[str, Rule], tests: list[TestCase]) -> list[str]:
    """Fills rule.tests; returns the problems found (empty when the catalogue is consistent)."""
    problems = []
    for t in tests:
        if not t.rules:
            problems.append(f"test {t.id} ({t.location}) names no rule")
        for rid in t.rules:
            rule = rules.get(rid)
            if rule is None:
                problems.append(f"test {t.id} ({t.location}) names unknown rule '{rid}'")
            else:
                rule.tests.append(t.id)
    for rule in rules.values():
        if rule.status == "tested" and not rule.tests:
            problems.append(f"rule {rule.id} ({rule.source}) is 'tested' but no test names it")
        if rule.status == "not-provokable" and rule.tests:
            problems.append(f"rule {rule.id} ({rule.source}) is 'not-provokable' but tests name it: "
                            + ", ".join(rule.tests))
    return problems
