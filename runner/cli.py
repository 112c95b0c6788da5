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
from runner import bench_cmd, catalogue, deps, inject_cmd, report_cmd, workspace
from runner import expectations as expectations_mod
from runner import targets as targets_mod
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


def _shard(text):
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not I/N: {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..N-1: {text!r}")
    return (i, n)


def _env_shard():
    total, index = os.environ.get("GTEST_TOTAL_SHARDS"), os.environ.get("GTEST_SHARD_INDEX")
    if not total and not index:
        return None
    try:
        return _shard(f"{index or 0}/{total or 1}")
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS: {e}") from None


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
    p.add_argument("--sanitize", choices=sorted(SANITIZERS),
                   help="build the suite with these sanitizers (in build-asan/ or build-tsan/) and run it; "
                        "the runner's own Python tests are left out (they preload interposers)")
    p.add_argument("--repeat", type=_positive_int, default=1, metavar="N",
                   help="run N times and report every test whose verdict changed (a flake report)")
    p.add_argument("--soak", type=_positive_int, metavar="N",
                   help="property tests: N times their default number of cases (a longer soak; the default "
                        "budget keeps the run quick); recorded in results.json")
    p.add_argument("--load", action="store_true",
                   help="run under load: stress-ng on every CPU plus I/O and memory pressure, for the whole "
                        "run (use with --repeat for a flake report under load)")
    p.add_argument("--target", action="append", default=[], metavar="T[,T...]",
                   help="where to run: host (default), userns, bwrap, qemu:<kernel image>; several give one "
                        "report with a column per target")
    p.add_argument("--expectations", action="append", default=[], metavar="FILE",
                   help="known divergences (in addition to expectations/*.txt)")
    p.add_argument("--no-expectations", action="store_true", help="ignore expectations/*.txt")
    p.add_argument("--shard", metavar="I/N", type=_shard,
                   help="run only shard I of N (0-based) of the selected tests, e.g. one CI machine's share; "
                        "default from GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS; ./ipcsuite merge combines shards")
    p.add_argument("--qemu-accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="qemu targets: KVM, TCG, or KVM when a probe boot works (default)")
    p.add_argument("--deadline", type=_positive_float, default=DEFAULT_DEADLINE_S, metavar="S",
                   help=f"deadline for the whole run (all targets and repeats, after the build) in seconds "
                        f"(default {DEFAULT_DEADLINE_S:g}); unfinished tests become errors")


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
    sub.add_parser("targets", help="list the targets and whether each is available here (and why not)")
    fk = sub.add_parser("fetch-kernel", help="download Debian's kernel package for the qemu target")
    fk.add_argument("--package", default="linux-image-amd64",
                    help="Debian package (default linux-image-amd64, i.e. the current 6.1 kernel)")
    report_cmd.add_parsers(sub)
    inject_cmd.add_parser(sub)
    bench_cmd.add_parser(sub)
    return p


def _set_pdeathsig():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


SANITIZERS = {"address,undefined": "asan", "thread": "tsan"}
# Generous: the whole suite takes about 10 s here and ./ipcsuite test a few minutes; long soaks or fuzzing
# (IPCSUITE_SOAK, IPCSUITE_FUZZ_SECONDS) and slow targets raise it with --deadline.
DEFAULT_DEADLINE_S = 7200.0
# How long pytest gets after the deadline to stop the running tests and write its results on its own
# (the plugin kills the test that runs and fails the rest at once) before the runner kills it.
DEADLINE_GRACE_S = 30.0


def _prepare(args, quiet=False) -> Path:
    sanitize = getattr(args, "sanitize", None)
    if sanitize:
        # A build of its own, so that switching modes never rebuilds build/.
        os.environ["IPCSUITE_BUILD_DIR"] = str(ROOT / f"build-{SANITIZERS[sanitize]}")
    if not getattr(args, "no_build", False):
        deps.ensure_packages(extra=deps.TEST_PACKAGES if args.command == "test" else ())
        return build_mod.build(extra_cmake_args=[f"-DIPCSUITE_SANITIZE={sanitize}"] if sanitize else None)
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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in name)


def _stop(proc) -> None:
    """Stops pytest and every process of its group (SIGTERM, SIGKILL after 10 s) and waits until the group
    is empty, so that nothing of the run outlives the runner's cleanup."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # pytest and its group have just gone by themselves
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    end = time.monotonic() + 10
    while True:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        if time.monotonic() > end:
            print(f"ipcsuite: warning: processes of group {proc.pid} are still there after SIGKILL",
                  file=sys.stderr)
            break
        proc.poll()
        time.sleep(0.05)  # polling for the group to empty (orphans are reaped by init), with a deadline
    proc.wait()


def _pytest(cmd, env, run, deadline=None) -> int:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, preexec_fn=_set_pdeathsig,
                            start_new_session=True)
    try:
        if deadline is None:
            return proc.wait()
        try:
            return proc.wait(timeout=max(deadline.at - time.monotonic(), 0) + DEADLINE_GRACE_S)
        except subprocess.TimeoutExpired:
            # pytest did not stop by itself (a self-test or a target that ignores the deadline): stop it as
            # Ctrl-C does; the test processes die with their workers (PR_SET_PDEATHSIG).
            deadline.hit = True
            _stop(proc)
            return proc.returncode
    except KeyboardInterrupt:
        _stop(proc)
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def load_expectations(args):
    try:
        return expectations_mod.load(args.expectations, use_default=not args.no_expectations)
    except expectations_mod.ExpectationError as e:
        raise UsageError(f"expectations: {e}") from None


def cmd_run(args, selftest: bool) -> int:
    args.run_deadline = workspace.RunDeadline(args.deadline)
    if getattr(args, "soak", None):
        os.environ["IPCSUITE_SOAK"] = str(args.soak)  # read by property/properties.cc (SoakFactor)
    if getattr(args, "load", False):
        if not args.no_build:
            deps.ensure_packages(extra={"stress-ng": "--load"})
        from runner.load import Load
        # Built before the load starts (the build is not what is measured); then every repeat runs loaded.
        _prepare(args, quiet=True)
        args.no_build = True
        with Load():
            return _cmd_run(args, selftest)
    return _cmd_run(args, selftest)


def _cmd_run(args, selftest: bool) -> int:
    if args.repeat == 1:
        return _deadline_line(args, _run_once(args, selftest)[0])
    runs, worst = [], 0
    for i in range(args.repeat):
        print(f"ipcsuite: repeat {i + 1}/{args.repeat}", flush=True)
        rc, doc, rdir = _run_once(args, selftest)
        if doc is None:
            return rc
        runs.append((rdir, doc))
        worst = max(worst, rc)
        if args.run_deadline.passed():
            break
    from reports import flakes
    report = flakes.compare([doc for _, doc in runs], [str(d) for d, _ in runs])
    out = Path(args.results_dir) / f"flakes-{runs[0][0].name}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(flakes.render(report, str(out)), flush=True)
    return _deadline_line(args, 1 if report["flaky"] else worst)


def _deadline_line(args, rc: int) -> int:
    if args.run_deadline.passed():
        print(f"ipcsuite: error: {args.run_deadline.message()}: the run was stopped, unfinished tests are "
              "reported as errors", file=sys.stderr, flush=True)
        return max(rc, 1)
    return rc


def _run_once(args, selftest: bool):
    """One run; returns (exit code, results document, results directory)."""
    preload = None
    if args.preload:
        preload = Path(args.preload).resolve()
        if not preload.is_file():
            raise UsageError(f"--preload: no such file: {args.preload}")
    tlist = targets_mod.parse_list(args.target)
    exps = load_expectations(args)
    if preload and any(t.kind == "qemu" for t in tlist):
        raise UsageError("--preload cannot be used with a qemu target (its binaries are statically linked)")
    bdir = _prepare(args)
    for t in tlist:
        t.ensure()
    removed = workspace.sweep_leftovers()
    for what in removed:
        print(f"ipcsuite: removed leftovers of an earlier run: {what}", file=sys.stderr)
    deadline = args.run_deadline
    deadline.start()

    import fnmatch
    pats = _filters(args)
    tests = catalogue.list_tests(bdir, include_selftest=selftest)
    if pats:
        tests = [t for t in tests if any(fnmatch.fnmatchcase(t.id, p) or fnmatch.fnmatchcase(t.name, p)
                                         for p in pats)]
        if not tests:
            raise UsageError(f"--filter {','.join(pats)} matches no test (see ./ipcsuite list)")
    if getattr(args, "sanitize", None):
        # The fault agent interposes the same libc functions as the sanitizer runtimes; its own tests run
        # in the plain build only.
        dropped = [t for t in tests if t.area == "fault"]
        if dropped:
            print(f"ipcsuite: --sanitize: not running the {len(dropped)} tests of area fault (the fault agent "
                  "and the sanitizer runtime interpose the same libc functions)", file=sys.stderr, flush=True)
        tests = [t for t in tests if t.area != "fault"]
    shard = args.shard or _env_shard()
    if shard and shard[1] > 1:
        ordered = sorted(tests, key=lambda t: t.id)
        tests = [t for k, t in enumerate(ordered) if k % shard[1] == shard[0]]
        if not tests:
            raise UsageError(f"shard {shard[0]}/{shard[1]} has no test")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)

    # absolute: pytest workers and targets run elsewhere and read the run directory by this path
    run = workspace.Run.create(Path(args.results_dir).absolute())
    names = ",".join(t.name for t in tlist)
    print(f"ipcsuite: run {run.run_id}, seed {seed}, {len(tests)} tests in "
          f"{len({str(t.binary) for t in tests})} binaries, {args.jobs} jobs"
          + (f", targets {names}" if len(tlist) > 1 or tlist[0].kind != "host" else "")
          + (f", shard {shard[0]}/{shard[1]}" if shard and shard[1] > 1 else ""), flush=True)
    env = dict(os.environ, IPCSUITE_RUN_TMPDIR=str(run.tmp), IPCSUITE_RUN_ID=run.run_id,
               IPCSUITE_SEED=str(seed), IPCSUITE_COMMAND_LINE="./ipcsuite " + " ".join(sys.argv[1:]),
               IPCSUITE_BUILD_DIR=str(bdir), PYTHONPATH=str(ROOT), **deadline.env())
    env.pop("LD_PRELOAD", None)
    parts, rcs, walls = [], [], {}
    from reports import results as results_mod
    try:
        for i, target in enumerate(tlist):
            ttests = tests if target.kind == "host" else [t for t in tests
                                                           if t.area not in catalogue.SELF_AREAS]
            if target.kind == "qemu":
                from runner.qemu import vm
                for area, why in vm.DYNAMIC_ONLY_AREAS.items():
                    if any(t.area == area for t in ttests):
                        print(f"ipcsuite: target {target.name}: not running area {area}: {why}",
                              file=sys.stderr, flush=True)
                ttests = [t for t in ttests if t.area not in vm.DYNAMIC_ONLY_AREAS]
            if not ttests:
                continue
            if deadline.passed():  # the deadline went by in an earlier target: nothing of this one runs
                pdoc = {"environment": dict(results_mod.environment(target.name, str(seed), str(preload or "")),
                                            wall_s=0.0), "tests": []}
                deadline.add_unfinished(pdoc, ttests, target.name)
                parts.append(results_mod.recount(pdoc))
                continue
            binaries = sorted({str(t.binary) for t in ttests})
            part = run.dir / "targets" / _safe(target.name)
            part.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            if len(tlist) > 1:
                print(f"ipcsuite: target {target.name}: {len(ttests)} tests", flush=True)
            cmd = [PYTHON, "-m", "pytest", "-c", str(ROOT / "runner" / "pytest.ini"), "--rootdir", str(ROOT),
                   "-p", "runner.plugin", "--ipcsuite-manifest", str(bdir / "ipcsuite-manifest.tsv"),
                   "--ipcsuite-results", str(part / "results.json"), "--junitxml", str(part / "junit.xml"),
                   "--ipcsuite-seed", str(seed), "--ipcsuite-test-timeout", str(args.test_timeout),
                   "--ipcsuite-target", target.spec,
                   "-o", "console_output_style=count", "--tb=short", "-q", "-rN"]
            guest_env = None
            if target.kind == "qemu":
                guest_env = _run_qemu(target, bdir, ttests, args, part)
                cmd += ["--ipcsuite-replay", str(part / "guest.json")]
            if preload:
                cmd += ["--ipcsuite-preload", str(preload)]
            if shard and shard[1] > 1:
                (part / "selected.txt").write_text("".join(t.id + "\n" for t in ttests))
                cmd += ["--ipcsuite-select", str(part / "selected.txt")]
            for p in pats:
                cmd += ["--ipcsuite-filter", p]
            if args.jobs > 1 and target.kind != "qemu":
                cmd += ["-n", str(args.jobs)]
            if args.exitfirst:
                cmd += ["-x"]
            if args.k:
                cmd += ["-k", args.k]
            cmd += binaries
            if selftest and i == 0 and not args.sanitize:
                cmd.append(str(ROOT / "runner" / "tests"))
            rc = _pytest(cmd, dict(env, IPCSUITE_RUN_PLANNED=str(part / "planned.json")), run, deadline)
            rcs.append(rc)
            walls[target.name] = round(time.monotonic() - started, 3)
            results = part / "results.json"
            if deadline.hit and not results.exists():
                pdoc = {"environment": results_mod.environment(target.name, str(seed), str(preload or "")),
                        "tests": []}
            elif not results.exists():
                raise SetupError(f"pytest exited {rc} without writing {results}")
            else:
                pdoc = results_mod.load(results)
            if deadline.passed():
                deadline.add_unfinished(pdoc, ttests, target.name, part / "planned.json")
                results_mod.recount(pdoc)
            if guest_env:
                pdoc["environment"].update(guest_env)
            pdoc["environment"]["wall_s"] = walls[target.name]
            parts.append(pdoc)
            if args.exitfirst and rc == 1:
                break
    except KeyboardInterrupt:
        run.finish()
        print("ipcsuite: interrupted", file=sys.stderr)
        return 130, None, None
    run.finish()
    from reports import results as results_mod, summary
    doc, _notes = results_mod.merge_docs(parts, run.run_id)
    expectations_mod.apply(doc, exps)
    report_cmd.write_reports(run.dir, doc)
    print(summary.render(doc, str(run.dir)), flush=True)
    if summary.unexpected(doc):
        return 1, doc, run.dir
    for rc in rcs:
        if rc not in (0, 1) and not deadline.hit:
            raise SetupError(f"pytest exited with status {rc}")
    return 0, doc, run.dir


def _run_qemu(target, bdir, tests, args, part) -> dict:
    """Runs the planned tests in the guest; writes part/guest.json for the plugin; returns the guest env."""
    from runner.qemu import vm
    area_bin = {area: name for name, area, _path in catalogue.read_manifest(bdir)
                if area not in catalogue.SELF_AREAS and area not in vm.DYNAMIC_ONLY_AREAS}
    plan = [(t.area, t.name) for t in tests if t.area in area_bin]
    out = vm.run_guest(target, area_bin, plan, jobs=args.jobs, timeout=args.test_timeout,
                       accel_mode=args.qemu_accel, out_dir=part)
    doc = {"problem": out["problem"], "environment": out["environment"],
           "results": [dict(r, area=a) for (a, _t), r in out["results"].items()]}
    (part / "guest.json").write_text(json.dumps(doc) + "\n")
    if out["problem"]:
        print(f"ipcsuite: qemu target {target.name}: {out['problem']}", file=sys.stderr, flush=True)
    env = {k: v for k, v in out["environment"].items() if k != "tests"}
    return env


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
        if args.command == "targets":
            return targets_mod.cmd_targets(args)
        if args.command == "fetch-kernel":
            from runner.qemu import vm
            return vm.cmd_fetch_kernel(args)
        if args.command in report_cmd.COMMANDS:
            return report_cmd.run(args)
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
