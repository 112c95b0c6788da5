"""ipcsuite command line: run, test, rules, list."""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner import build as build_mod
from runner import bench_cmd, catalogue, deps, inject_cmd, workspace
from runner.errors import SetupError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2 (argparse would print usage first)
        raise UsageError(message)


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return v


def _add_run_options(p):
    p.add_argument("--filter", action="append", default=[], metavar="GLOB",
                   help="run only tests whose id (area/Suite.Name) or name matches GLOB; may repeat, or "
                        "comma-separated")
    p.add_argument("--preload", metavar="LIB", help="LD_PRELOAD LIB into every test process (not the runner)")
    p.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="parallel test processes (default: number of CPUs)")
    p.add_argument("--results-dir", metavar="DIR", default=str(ROOT / "results"),
                   help="where results/<run-id>/ goes (default: ./results)")
    p.add_argument("--seed", type=int, help="seed for anything random (default: a fresh one, printed)")
    p.add_argument("--test-timeout", type=_positive_float, default=60.0, metavar="S",
                   help="deadline for one test process in seconds (default 60)")
    p.add_argument("--no-build", action="store_true", help="use the existing build/ as it is")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("-k", metavar="EXPR", help="pytest -k expression")


def make_parser():
    p = Parser(prog="ipcsuite", description="Conformance and fault-injection tests for Linux IPC.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    r = sub.add_parser("run", help="install what is missing, build, run the suite here, write reports")
    _add_run_options(r)
    t = sub.add_parser("test", help="the project's own tests: the suite plus fixture and runner self-tests")
    _add_run_options(t)
    ru = sub.add_parser("rules", help="the catalogue of documented rules and the tests that check them")
    ru.add_argument("--json", action="store_true", help="print JSON")
    ru.add_argument("--check", action="store_true", help="exit 1 if the catalogue and the tests disagree")
    ls = sub.add_parser("list", help="list the tests with their rules")
    ls.add_argument("--filter", action="append", default=[], metavar="GLOB")
    inject_cmd.add_parser(sub)
    bench_cmd.add_parser(sub)
    return p


def _set_pdeathsig():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _prepare(args, quiet=False) -> Path:
    if not getattr(args, "no_build", False):
        deps.ensure_packages()
        return build_mod.build()
    bdir = build_mod.build_dir()
    if not (bdir / "ipcsuite-manifest.tsv").exists():
        raise SetupError(f"--no-build given but {bdir} has no build")
    return bdir


def _filters(args) -> list[str]:
    out = []
    for f in args.filter:
        out.extend(x.strip() for x in f.split(",") if x.strip())
    return out


def cmd_rules(args) -> int:
    bdir = _prepare(args)
    try:
        rules = catalogue.load_rules()
    except catalogue.CatalogueError as e:
        raise SetupError(f"rules catalogue: {e}") from None
    tests = catalogue.list_tests(bdir)
    problems = catalogue.link(rules, tests)
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
    bdir = _prepare(args)
    import fnmatch
    pats = _filters(args)
    for t in catalogue.list_tests(bdir, include_selftest=False):
        if not pats or any(fnmatch.fnmatchcase(t.id, p) or fnmatch.fnmatchcase(t.name, p) for p in pats):
            print(f"{t.id}\t{','.join(t.rules)}")
    return 0


def cmd_run(args, selftest: bool) -> int:
    preload = None
    if args.preload:
        preload = Path(args.preload).resolve()
        if not preload.is_file():
            raise UsageError(f"--preload: no such file: {args.preload}")
    bdir = _prepare(args)
    removed = workspace.sweep_leftovers()
    for what in removed:
        print(f"ipcsuite: removed leftovers of an earlier run: {what}", file=sys.stderr)

    import fnmatch
    pats = _filters(args)
    tests = catalogue.list_tests(bdir, include_selftest=selftest)
    if pats:
        tests = [t for t in tests if any(fnmatch.fnmatchcase(t.id, p) or fnmatch.fnmatchcase(t.name, p)
                                         for p in pats)]
        if not tests:
            raise UsageError(f"--filter {','.join(pats)} matches no test (see ./ipcsuite list)")
    binaries = sorted({str(t.binary) for t in tests})
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)

    run = workspace.Run.create(Path(args.results_dir))
    print(f"ipcsuite: run {run.run_id}, seed {seed}, {len(tests)} tests in {len(binaries)} binaries, "
          f"{args.jobs} jobs", flush=True)
    cmd = [PYTHON, "-m", "pytest", "-c", str(ROOT / "runner" / "pytest.ini"), "--rootdir", str(ROOT),
           "-p", "runner.plugin", "--ipcsuite-manifest", str(bdir / "ipcsuite-manifest.tsv"),
           "--ipcsuite-results", str(run.dir / "results.json"), "--junitxml", str(run.dir / "junit.xml"),
           "--ipcsuite-seed", str(seed), "--ipcsuite-test-timeout", str(args.test_timeout),
           "-o", "console_output_style=count", "--tb=short", "-q", "-rN"]
    if preload:
        cmd += ["--ipcsuite-preload", str(preload)]
    for p in pats:
        cmd += ["--ipcsuite-filter", p]
    if args.jobs > 1:
        cmd += ["-n", str(args.jobs)]
    if args.exitfirst:
        cmd += ["-x"]
    if args.k:
        cmd += ["-k", args.k]
    cmd += binaries
    if selftest:
        cmd.append(str(ROOT / "runner" / "tests"))
    env = dict(os.environ, IPCSUITE_RUN_TMPDIR=str(run.tmp), IPCSUITE_RUN_ID=run.run_id,
               IPCSUITE_SEED=str(seed), IPCSUITE_COMMAND_LINE="./ipcsuite " + " ".join(sys.argv[1:]),
               IPCSUITE_BUILD_DIR=str(bdir), PYTHONPATH=str(ROOT))
    env.pop("LD_PRELOAD", None)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, preexec_fn=_set_pdeathsig,
                            start_new_session=True)
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        run.finish()
        print("ipcsuite: interrupted", file=sys.stderr)
        return 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    run.finish()
    results = run.dir / "results.json"
    if not results.exists():
        raise SetupError(f"pytest exited {rc} without writing {results}")
    from reports import results as results_mod, summary
    doc = results_mod.load(results)
    print(summary.render(doc, str(run.dir)), flush=True)
    if summary.unexpected(doc) or rc == 1:
        return 1
    if rc not in (0, 1):
        raise SetupError(f"pytest exited with status {rc}")
    return 0


def main(argv=None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "run":
            return cmd_run(args, selftest=False)
        if args.command == "test":
            return cmd_run(args, selftest=True)
        if args.command == "rules":
            return cmd_rules(args)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "inject":
            return inject_cmd.run(args)
        if args.command == "bench":
            return bench_cmd.run(args)
        raise UsageError(f"unknown command {args.command!r}")
    except (UsageError, SetupError) as e:
        print(f"ipcsuite: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ipcsuite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
