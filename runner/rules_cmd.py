"""./ipcsuite rules and ./ipcsuite list: the catalogue of documented rules and the tests that check them."""
from __future__ import annotations

import json
import sys

from runner import argtypes, catalogue
from runner import build as build_mod
from runner.errors import SetupError, UsageError


def add_parsers(sub) -> None:
    ru = sub.add_parser("rules", help="the catalogue of documented rules and the tests that check them")
    ru.add_argument("--json", action="store_true", help="print JSON")
    ru.add_argument("--check", action="store_true", help="exit 1 if the catalogue and the tests disagree")
    add_rule_options(ru)
    _add_no_build(ru)
    ls = sub.add_parser("list", help="list the tests with their rules")
    ls.add_argument("--filter", action="append", default=[], metavar="GLOB")
    add_rule_options(ls)
    ls.add_argument("--json", action="store_true", help="print JSON: one object per test")
    _add_no_build(ls)


def _add_no_build(p) -> None:
    p.add_argument("--no-build", action="store_true", help="use the existing build/ as it is")


def add_rule_options(p) -> None:
    """--rule and --page: select by the documented rules (run, test, list, rules)."""
    p.add_argument("--rule", action="append", default=[], metavar="GLOB",
                   help="only what checks a rule whose id matches GLOB (e.g. 'sem.semop-*'); may repeat, or "
                        "comma-separated")
    p.add_argument("--page", action="append", default=[], metavar="PAGE",
                   help="only what checks a rule of this man page: 'semop(2)', 'semop' or a glob; may repeat, or "
                        "comma-separated")


def cmd_rules(args) -> int:
    bdir = build_mod.prepare(args)
    try:
        rules = catalogue.load_rules()
    except catalogue.CatalogueError as e:
        raise SetupError(f"rules catalogue: {e}") from None
    tests = catalogue.list_tests(bdir)
    problems = catalogue.link(rules, tests)
    rule_globs, pages = argtypes.globs(args.rule), argtypes.globs(args.page)
    if rule_globs or pages:
        chosen = catalogue.rules_matching(rules, rule_globs, pages)
        if not chosen:
            raise UsageError("--rule/--page match no rule of the catalogue")
        rules = {rid: r for rid, r in rules.items() if rid in chosen}
        tests = [t for t in tests if chosen.intersection(t.rules)]
    if args.json:
        print(json.dumps({"rules": [r.as_json() for r in sorted(rules.values(), key=lambda r: r.id)],
                          "problems": problems}, indent=2))
    else:
        w = max((len(r.id) for r in rules.values()), default=10)
        print(f"{'rule':<{w}}  {'page':<14} {'errno':<13} {'status':<15} tests")
        for r in sorted(rules.values(), key=lambda r: r.id):
            print(f"{r.id:<{w}}  {r.page:<14} {r.errno or '-':<13} {r.status:<15} {len(r.tests)}")
        tested = sum(1 for r in rules.values() if r.status == "tested")
        print(f"{len(rules)} rules: {tested} tested, {len(rules) - tested} not provokable; "
              f"{len(tests)} tests")
        for p in problems:
            print(f"problem: {p}", file=sys.stderr)
    return 1 if (args.check and problems) else 0


def cmd_list(args) -> int:
    bdir = build_mod.prepare(args)
    pats = argtypes.globs(args.filter)
    tests = catalogue.matching(catalogue.list_tests(bdir, include_selftest=False, patterns=pats), pats)
    tests = catalogue.by_rules(tests, argtypes.globs(args.rule), argtypes.globs(args.page))
    if args.json:
        print(json.dumps([{"id": t.id, "area": t.area, "rules": t.rules, "location": t.location} for t in tests],
                         indent=2))
        return 0
    for t in tests:
        print(f"{t.id}\t{','.join(t.rules)}")
    return 0


def run(args) -> int:
    return {"rules": cmd_rules, "list": cmd_list}[args.command](args)
