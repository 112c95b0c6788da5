"""./ipcsuite report RUN, diff RUN_A RUN_B, merge RUN... : reports from results.json files.

RUN is a run id under results/ (or `latest`), a run directory, or a results.json file.
"""
from __future__ import annotations

import json
import re
import secrets
import sys
import time
from html import escape
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

from reports import formats, html, summary
from reports import results as results_mod
from runner import build as build_mod
from runner import atomic, catalogue, expectations, inputs
from runner.errors import SetupError, UsageError

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("report", "diff", "merge")
BAD = ("failed", "error", "xpassed")


def add_parsers(sub) -> None:
    r = sub.add_parser("report", help="regenerate junit.xml, report.html and the summary from a results.json")
    r.add_argument("run", metavar="RUN")
    r.add_argument("--results-dir", default=str(build_mod.results_root()), metavar="DIR")
    r.add_argument("--expectations", action="append", default=[], metavar="FILE",
                   help="apply these expectations (and expectations/*.txt unless --no-expectations) again")
    r.add_argument("--no-expectations", action="store_true")
    r.add_argument("--reapply", action="store_true",
                   help="re-apply expectations (expectations/*.txt and --expectations) to the recorded results")
    d = sub.add_parser("diff", help="what changed between two runs; exit 1 on regressions")
    d.add_argument("run_a", metavar="RUN_A")
    d.add_argument("run_b", metavar="RUN_B")
    d.add_argument("--results-dir", default=str(build_mod.results_root()), metavar="DIR")
    d.add_argument("--json", action="store_true", help="print the differences as JSON")
    d.add_argument("--by-id", action="store_true",
                   help="compare tests by id only, ignoring the target (automatic when each run has one target)")
    d.add_argument("--renames", metavar="FILE",
                   help="lines '<old id><TAB><new id>': RUN_A's tests are compared under their new ids (several "
                        "old ids may name one new, merged test: each is compared with it)")
    m = sub.add_parser("merge", help="combine runs (shards, machines, targets) into one report")
    m.add_argument("runs", nargs="+", metavar="RUN")
    m.add_argument("--results-dir", default=str(build_mod.results_root()), metavar="DIR")
    m.add_argument("-o", "--output", metavar="DIR", help="where the merged run goes (default results/<new id>)")


def resolve(text: str, results_dir: str) -> Path:
    """A results.json path for RUN."""
    candidates = [Path(text), Path(results_dir) / text]
    for c in candidates:
        if c.is_file() and c.name.endswith(".json"):
            return c
        if c.is_dir() and (c / "results.json").is_file():
            return c / "results.json"
    raise UsageError(f"no run {text!r}: not a results.json, a run directory or a run id under {results_dir}")


# What report, diff and merge read from a test entry, with the types reports/results.schema.json gives
# them (checked here without a schema library, so that the commands need nothing beyond the runner).
_TEST_FIELDS = {"id": str, "area": str, "status": str, "duration_s": (int, float), "rules": list,
                "message": str, "details": str, "location": str, "target": str, "nodeid": str,
                "actual_status": str, "expectation": dict}


def _expectation_problem(e) -> str | None:
    if not isinstance(e, dict):
        return "not an object"
    for key in ("target", "test", "expect", "reason"):
        if not isinstance(e.get(key), str):
            return f"{key}: not a string"
    for key in ("bug", "source"):
        if not isinstance(e.get(key), (str, type(None))):
            return f"{key}: not a string or null"
    return None


def _problem(doc: dict) -> str | None:
    """The first way doc breaks the published types, as '<where>: <what>', or None."""
    exps = doc.get("expectations", [])
    if not isinstance(exps, list):
        return "expectations: not a list"
    for i, e in enumerate(exps):
        if (what := _expectation_problem(e)) is not None:
            return f"expectations[{i}].{what}"
    env = doc.get("environment")
    if not isinstance(env, dict):
        return "environment: not an object"
    targets = doc.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(v, dict) for v in targets.values()):
        return "targets: not an object of environments"
    for where, e in [("environment", env), *((f"targets.{k}", v) for k, v in targets.items())]:
        if not isinstance(e.get("target", ""), str):
            return f"{where}.target: not a string"
    for i, t in enumerate(doc["tests"]):
        for key, kind in _TEST_FIELDS.items():
            if key in t and (not isinstance(t[key], kind) or isinstance(t[key], bool)):
                return f"tests[{i}].{key}: {type(t[key]).__name__} where the schema has {key} as " + (
                    kind.__name__ if isinstance(kind, type) else "a number")
        if t["status"] not in results_mod.STATUSES or t.get("actual_status", "passed") not in results_mod.STATUSES:
            return f"tests[{i}].status: {str(t['status'])[:40]!r} is not one of {', '.join(results_mod.STATUSES)}"
        if "/" not in t["id"]:
            return f"tests[{i}].id: {t['id'][:60]!r} is not <area>/<Suite>.<Name>"
        if "expectation" in t and (what := _expectation_problem(t["expectation"])) is not None:
            return f"tests[{i}].expectation.{what}"
        if not all(isinstance(r, str) for r in t["rules"]):
            return f"tests[{i}].rules: not a list of strings"
        if not t["duration_s"] >= 0 or t["duration_s"] == float("inf"):
            return f"tests[{i}].duration_s: not a finite number >= 0"
    return None


def load(text: str, results_dir: str) -> tuple[dict, Path]:
    path = resolve(text, results_dir)
    try:
        doc = json.loads(inputs.read_text(path))
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not a results.json (not UTF-8 at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not a results.json (invalid JSON: {e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise UsageError(f"{path}: not a results.json (nested too deeply)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        raise UsageError(f"{path}: not an ipcsuite results.json (no 'tests' list)")
    for i, t in enumerate(doc["tests"]):
        if not isinstance(t, dict) or not {"id", "status"} <= set(t):
            raise UsageError(f"{path}: test entry {i} lacks 'id' or 'status'")
        if isinstance(t["id"], str):  # a foreign results.json may leave these out
            t.setdefault("area", t["id"].split("/", 1)[0])
        t.setdefault("duration_s", 0.0)
        t.setdefault("rules", [])
        t.setdefault("message", "")
    doc.setdefault("environment", {})
    problem = _problem(doc)
    if problem is not None:
        raise UsageError(f"{path}: not a valid results.json: {' '.join(problem.split())} "
                         "(schema: reports/results.schema.json)")
    return doc, path


def interruption(doc: dict) -> str:
    """'' for a run that ended by itself; else what stopped it and how many tests it left unrun."""
    mark = doc.get("interrupted")
    if not isinstance(mark, dict):
        return ""
    text = str(mark.get("message") or mark.get("by") or "interrupted")
    return text + (f"; {mark['not_run']} tests not run" if isinstance(mark.get("not_run"), int) else "")


def _junit(doc: dict) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        results_mod.write_junit(tmp, doc)
        if interruption(doc):  # every <testsuite> says so: a CI dashboard shows it beside the cases
            tree = ET.parse(tmp)
            for suite in tree.getroot().iter("testsuite"):
                props = suite.find("properties")
                if props is None:
                    props = ET.SubElement(suite, "properties")
                ET.SubElement(props, "property", {"name": "interrupted", "value": interruption(doc)})
            tree.write(tmp, encoding="utf-8", xml_declaration=True)
    return write


def _html(doc: dict) -> str:
    page = html.render(doc, catalogue_rules())
    why = interruption(doc)
    if why:  # the gate did not pass: the run did not finish
        banner = (f'<p id="gate"><span class="gate-bad">gate: INTERRUPTED</span> — {escape(why)}; the '
                  "verdicts below are those reached before</p>")
        page = re.sub(r'<p id="gate">.*?</p>', lambda _m: banner, page, count=1, flags=re.S)
    return page


def write_reports(out_dir: Path, doc: dict) -> None:
    """results.json, junit.xml, results.ktap, results.kirk.json and report.html, all or none (a full disk
    is one line and exit 2, and leaves the earlier files as they were and no temporary file)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SetupError(f"cannot create {out_dir}: {e.strerror}") from None
    texts = {"results.json": json.dumps(doc, indent=2) + "\n", "results.ktap": formats.render_ktap(doc),
             "results.kirk.json": json.dumps(formats.render_kirk(doc), indent=2) + "\n", "report.html": _html(doc)}
    writers: dict[Path, Callable[[Path], None]] = {
        out_dir / name: (lambda tmp, text=text: tmp.write_text(text)) for name, text in texts.items()}
    writers[out_dir / "junit.xml"] = _junit(doc)
    # results.json last: a run directory with a results.json has all its reports
    order = ["junit.xml", "results.ktap", "results.kirk.json", "report.html", "results.json"]
    atomic.write_files({out_dir / n: writers[out_dir / n] for n in order})


def catalogue_rules() -> dict:
    try:
        return {r.id: r.as_json() for r in catalogue.load_rules().values()}
    except Exception:  # the report still renders without the catalogue
        return {}


def cmd_report(args) -> int:
    doc, path = load(args.run, args.results_dir)
    if args.reapply or args.expectations:
        exps = expectations.from_args(args)
        for t in doc["tests"]:
            if "actual_status" in t:
                t["status"] = t.pop("actual_status")
                t.pop("expectation", None)
        expectations.apply(doc, exps)
    results_mod.recount(doc)
    write_reports(path.parent, doc)
    print(summary.render(doc, str(path.parent), rules=catalogue_rules()))
    return 1 if summary.unexpected(doc) else 0


def read_renames(path: str) -> dict[str, str]:
    """{old id: new id} from lines '<old id><TAB><new id>' ('#' comments and blank lines ignored)."""
    try:
        lines = inputs.read_text(path).splitlines()
    except OSError as e:
        raise UsageError(f"--renames: cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"--renames: {path}: not UTF-8 text (at byte {e.start})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.strip().split("\t")
        if len(fields) != 2 or not all(f.strip() for f in fields) or any(" " in f.strip() for f in fields):
            raise UsageError(f"--renames {path}:{n}: expected '<old id><TAB><new id>', got {line.strip()!r}")
        old, new = (f.strip() for f in fields)
        if out.get(old, new) != new:
            raise UsageError(f"--renames {path}:{n}: {old} renamed twice ({out[old]}, {new})")
        out[old] = new
    return out


def check_renames(renames: dict[str, str], a: dict, b: dict, path: str) -> None:
    """Every old id is a test of RUN_A and every new id one of RUN_B: a rename that names neither is a typo."""
    ids_a, ids_b = {t["id"] for t in a["tests"]}, {t["id"] for t in b["tests"]}
    unknown = [f"{o} (not in RUN_A)" for o in renames if o not in ids_a]
    unknown += [f"{n} (not in RUN_B)" for n in dict.fromkeys(renames.values()) if n not in ids_b]
    if unknown:
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise UsageError(f"--renames {path}: unknown test ids: {', '.join(unknown[:3])}{more}")


def _key(t: dict, doc: dict, by_id: bool, renames: dict[str, str]):
    tid = renames.get(t["id"], t["id"])
    return tid if by_id else (results_mod.target_of(t, doc), tid)


def diff_docs(a: dict, b: dict, by_id: bool | None = None, renames: dict[str, str] | None = None) -> dict:
    """What changed from run A to run B. With renames ({old id: new id}) A's tests are compared under their
    new ids; several old tests renamed to one (merged) test are each compared with it."""
    renames = renames or {}
    if by_id is None:
        by_id = len(results_mod.target_names(a)) == 1 and len(results_mod.target_names(b)) == 1
    ta: dict = {}
    for t in a["tests"]:
        ta.setdefault(_key(t, a, by_id, renames), []).append(t)
    tb = {_key(t, b, by_id, {}): t for t in b["tests"]}
    out = {"regressions": [], "fixed": [], "changed": [], "added": [], "removed": []}

    def label(k, x=None):
        text = k if isinstance(k, str) else f"{k[0]}: {k[1]}"
        return text + (f" (was {x['id']})" if x is not None and x["id"] in renames else "")
    for k in sorted(set(ta) | set(tb), key=label):
        xs, y = ta.get(k, []), tb.get(k)
        if not xs:
            out["added"].append({"test": label(k), "status": y["status"], "message": y.get("message", "")})
            if y["status"] in BAD:
                out["regressions"].append({"test": label(k), "from": None, "to": y["status"],
                                           "message": y.get("message", "")})
            continue
        for x in xs:
            if y is None:
                out["removed"].append({"test": label(k, x), "status": x["status"]})
                continue
            if x["status"] == y["status"]:
                continue
            entry = {"test": label(k, x), "from": x["status"], "to": y["status"], "message": y.get("message", "")}
            if y["status"] in BAD and x["status"] not in BAD:
                out["regressions"].append(entry)
            elif x["status"] in BAD and y["status"] not in BAD:
                out["fixed"].append(entry)
            else:
                out["changed"].append(entry)
    out["by_id"] = by_id
    out["renamed"] = sum(1 for t in a["tests"] if t["id"] in renames)
    return out


def cmd_diff(args) -> int:
    a, pa = load(args.run_a, args.results_dir)
    b, pb = load(args.run_b, args.results_dir)
    renames = read_renames(args.renames) if args.renames else {}
    check_renames(renames, a, b, args.renames)
    d = diff_docs(a, b, True if args.by_id else None, renames)
    if args.json:
        print(json.dumps(d, indent=2))
        return 1 if d["regressions"] else 0
    ea, eb = a.get("environment", {}), b.get("environment", {})
    print(f"A: {pa.parent.name}  kernel {ea.get('kernel_release', '?')}, {ea.get('libc', '?')} "
          f"{ea.get('libc_version', '?')}, target {ea.get('target', '?')}")
    print(f"B: {pb.parent.name}  kernel {eb.get('kernel_release', '?')}, {eb.get('libc', '?')} "
          f"{eb.get('libc_version', '?')}, target {eb.get('target', '?')}")
    for title, key in (("regressions", "regressions"), ("fixed", "fixed"), ("other changes", "changed")):
        if d[key]:
            print(f"{title}:")
            for e in d[key]:
                print(f"  {e['test']}: {e['from'] or 'absent'} -> {e['to']}")
                if e["message"] and key == "regressions":
                    print(f"      {e['message'].splitlines()[0][:160]}")
    if d["added"]:
        print(f"only in B: {len(d['added'])} tests" + "".join(f"\n  {e['test']} ({e['status']})"
                                                              for e in d["added"][:20]))
    if d["removed"]:
        print(f"only in A: {len(d['removed'])} tests" + "".join(f"\n  {e['test']} ({e['status']})"
                                                                for e in d["removed"][:20]))
    if renames:
        print(f"renames: {len(renames)} old ids mapped to {len(set(renames.values()))} new ids "
              f"({d['renamed']} results of A compared under their new id)")
    print(f"{len(d['regressions'])} regressions, {len(d['fixed'])} fixed, {len(d['changed'])} other changes, "
          f"{len(d['added'])} added, {len(d['removed'])} removed")
    return 1 if d["regressions"] else 0


def cmd_merge(args) -> int:
    docs = []
    for r in args.runs:
        doc, _ = load(r, args.results_dir)
        docs.append(doc)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    out = Path(args.output) if args.output else Path(args.results_dir) / run_id
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--output {out} exists and is not empty")
    merged, notes = results_mod.merge_docs(docs, run_id)
    merged["merged_from"] = [str(resolve(r, args.results_dir)) for r in args.runs]
    marks = [d["interrupted"] for d in docs if isinstance(d.get("interrupted"), dict)]
    if marks:  # a merge of an interrupted run is as incomplete as it
        merged["interrupted"] = dict(marks[0], not_run=sum(m.get("not_run", 0) for m in marks
                                                           if isinstance(m.get("not_run"), int)))
    for n in notes:
        print(f"ipcsuite: merge: {n}", file=sys.stderr)
    write_reports(out, merged)
    print(summary.render(merged, str(out), rules=catalogue_rules()))
    return 1 if summary.unexpected(merged) else 0


def run(args) -> int:
    return {"report": cmd_report, "diff": cmd_diff, "merge": cmd_merge}[args.command](args)
