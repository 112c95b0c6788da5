"""./ipcsuite run and ./ipcsuite test: select the tests once, write each target's plan, run pytest on it.

This module is the one owner of test selection: it lists the binaries' tests (catalogue.list_tests), applies
--filter, the --sanitize and target area drops and --shard, and writes `<part>/plan.json` (runner/plan.py)
for each target. pytest (with runner/plugin.py) runs exactly the planned tests.
"""
from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from _pytest.mark.expression import Expression

from reports import flakes
from reports import results as results_mod
from reports import summary
from runner import argtypes, atomic, catalogue, deps, executor, procinfo, report_cmd, target_wrap, workspace
from runner import build as build_mod
from runner import expectations as expectations_mod
from runner import plan as plan_mod
from runner import preload as preload_mod
from runner import target_oci
from runner import targets as targets_mod
from runner.errors import Reported, SetupError, Terminated, UsageError
from runner.load import Load
from runner.qemu import vm

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
# Generous: the whole suite takes about 10 s here and ./ipcsuite test a few minutes; long soaks or fuzzing
# (IPCSUITE_SOAK, IPCSUITE_FUZZ_SECONDS) and slow targets raise it with --deadline.
DEFAULT_DEADLINE_S = 7200.0
# How long pytest gets after the deadline to stop the running tests and write its results on its own
# (the plugin kills the test that runs and fails the rest at once) before the runner kills it.
DEADLINE_GRACE_S = 30.0


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


def pytest_command(plan: Path, results: Path, basetemp: Path, *, jobs: int, tracebacks: bool,
                   python_tests: bool = False) -> list[str]:
    """pytest with the plugin over one plan (`jobs` > 1: that many pytest-xdist workers); the plan's path is
    its one argument, and the caller may add more (-x, -k, and the runner's own tests with `python_tests`)."""
    cmd = [PYTHON, "-m", "pytest", "-c", str(ROOT / "runner" / "pytest.ini"), "--rootdir", str(ROOT),
           "-p", "runner.plugin", "--ipcsuite-plan", str(plan), "--ipcsuite-results", str(results),
           "-o", "console_output_style=count", "-qq", "-rN",
           # pytest's own temporary directory inside the run's (removed with it), not a new
           # /tmp/pytest-of-<user>/pytest-<N> left behind by every run
           "--basetemp", str(basetemp), "--tb=short" if tracebacks else "--tb=no"]
    if not python_tests:
        # The suite's items print nothing and warn nothing from Python: without pytest's output capture (a
        # dozen dup2, seek and truncate calls per test), its logging handlers and its warnings catcher, each
        # test costs the runner less.
        cmd += ["--capture=no", "-p", "no:logging", "-p", "no:warnings"]
    if jobs > 1:
        cmd += ["-n", str(jobs)]
    return cmd


def _pytest(cmd, env, deadline, guard: bool) -> int:
    # Under runner/guard.py (a child subreaper, as the build and inject are) when RLIMIT_NPROC leaves room for
    # one more process (procinfo.guard_fits): every process of the run then dies with this runner, even a
    # SIGKILLed one, however it was started (a test's posix_spawn'd helper has no death signal of its own).
    # Where the limit is tight the guard would take a process from the tests (test_hostile.py's runs with
    # --nproc=4 count ./ipcsuite, pytest and the test): pytest runs directly, and what a SIGKILLed run leaves
    # is killed by the next run's sweep (_sweep_leftovers).
    proc = subprocess.Popen(procinfo.guarded(cmd) if guard else cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            preexec_fn=procinfo.set_pdeathsig, start_new_session=True)
    try:
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


# Open files the runner needs: itself, pytest and its pipes (16), and two more per job (a pytest-xdist worker,
# or a fork server of a test running at once: its two pipes).
NOFILE_BASE, NOFILE_PER_JOB = 16, 2


def fit_jobs_to_nofile(args) -> None:
    """A very low open-file limit (ulimit -n) is refused in one line, and --jobs is lowered to what it allows
    (pytest-xdist died with an INTERNALERROR traceback starting its workers); the tests keep the limit (under
    it, a refused descriptor is their `error`)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return
    if soft < NOFILE_BASE:
        raise SetupError(f"the open-file limit (ulimit -n) is {soft}: the runner needs at least {NOFILE_BASE}")
    most = max(1, (soft - NOFILE_BASE) // NOFILE_PER_JOB)
    if args.jobs > most:
        print(f"ipcsuite: --jobs {args.jobs} lowered to {most}: the open-file limit (ulimit -n) is {soft}",
              file=sys.stderr, flush=True)
        args.jobs = most


def cmd_run(args) -> int:
    """./ipcsuite run (args.command == "run") and ./ipcsuite test (the self-tests too)."""
    selftest = args.command == "test"
    fit_jobs_to_nofile(args)
    args.run_deadline = workspace.RunDeadline(args.deadline)
    if args.soak:
        os.environ["IPCSUITE_SOAK"] = str(args.soak)  # read by property/properties.cc (SoakFactor)
    if args.load:
        if not args.no_build:
            deps.ensure_packages(extra={"stress-ng": "--load"})
        # Built before the load starts (the build is not what is measured); then every repeat runs loaded.
        build_mod.prepare(args)
        args.no_build = True
        with Load():
            return _cmd_run(args, selftest)
    return _cmd_run(args, selftest)


def _cmd_run(args, selftest: bool) -> int:
    if args.repeat == 1:
        return _deadline_line(args, _run_once(args, selftest)[0])
    runs, worst = [], 0
    try:
        for i in range(args.repeat):
            print(f"ipcsuite: repeat {i + 1}/{args.repeat}", flush=True)
            rc, doc, rdir = _run_once(args, selftest)
            if doc is None:
                return rc
            runs.append((rdir, doc))
            worst = max(worst, rc)
            if args.run_deadline.passed():
                break
    except KeyboardInterrupt:
        if runs:  # the flake report of the repeats that finished (the interrupted one has its own results)
            _flake_report(args, runs, f" of the {len(runs)} repeats that finished")
        raise
    report = _flake_report(args, runs)
    return _deadline_line(args, 1 if report["flaky"] else worst)


def _flake_report(args, runs, what: str = "") -> dict:
    report = flakes.compare([doc for _, doc in runs], [str(d) for d, _ in runs])
    out = Path(args.results_dir) / f"flakes-{runs[0][0].name}.json"
    atomic.write_text(out, json.dumps(report, indent=2) + "\n")
    print(flakes.render(report, str(out)) + (f" (flake report{what})" if what else ""), flush=True)
    return report


def _deadline_line(args, rc: int) -> int:
    if args.run_deadline.passed():
        print(f"ipcsuite: error: {args.run_deadline.message()}: the run was stopped, unfinished tests are "
              "reported as errors", file=sys.stderr, flush=True)
        return max(rc, 1)
    return rc


def keyword_matches(expr: str, test_id: str) -> bool:
    """Whether pytest's -k expression `expr` selects the test `test_id` (checked by argtypes.keyword)."""
    lowered = test_id.lower()
    return Expression.compile(expr).evaluate(lambda word: word.lower() in lowered)


def select(args, bdir: Path, selftest: bool) -> tuple[list[catalogue.TestCase], tuple[int, int] | None]:
    """The run's tests (listed once, filtered, sanitizer drops, sharded) and the shard."""
    pats = argtypes.globs(args.filter)
    tests = catalogue.matching(catalogue.list_tests(bdir, include_selftest=selftest, patterns=pats), pats)
    if pats and not tests:
        raise UsageError(f"--filter {','.join(pats)} matches no test (see ./ipcsuite list)")
    rule_globs, pages = argtypes.globs(args.rule), argtypes.globs(args.page)
    tests = catalogue.by_rules(tests, rule_globs, pages)
    if (rule_globs or pages) and not tests:
        raise UsageError("--rule/--page: no test of this selection checks those rules (see ./ipcsuite rules)")
    if args.k:
        # -k selects here, as pytest would (a case-insensitive substring of the test id, with and/or/not), so
        # the header counts what runs; pytest still gets it for the runner's own Python tests.
        tests = [t for t in tests if keyword_matches(args.k, t.id)]
        if not tests and not selftest:
            raise UsageError(f"-k {args.k}: no test of this selection matches (see ./ipcsuite list)")
    if args.sanitize:
        # The fault agent interposes the same libc functions as the sanitizer runtimes; its own tests run
        # in the plain build only.
        dropped = [t for t in tests if t.area == "fault"]
        if dropped:
            print(f"ipcsuite: --sanitize: not running the {len(dropped)} tests of area fault (the fault agent "
                  "and the sanitizer runtime interpose the same libc functions)", file=sys.stderr, flush=True)
        tests = [t for t in tests if t.area != "fault"]
    shard = args.shard or argtypes.env_shard()
    if shard and shard[1] > 1:
        ordered = sorted(tests, key=lambda t: t.id)
        tests = [t for k, t in enumerate(ordered) if k % shard[1] == shard[0]]
        if not tests:
            raise UsageError(f"shard {shard[0]}/{shard[1]} has no test")
    return tests, shard


def target_tests(target, tests: list[catalogue.TestCase]) -> list[catalogue.TestCase]:
    """The part of the run's tests a target runs (self-test areas on the host only; qemu's drops)."""
    out = tests if target.kind == "host" else [t for t in tests if t.area not in catalogue.SELF_AREAS]
    if target.kind == "qemu":
        for area, why in vm.DYNAMIC_ONLY_AREAS.items():
            if any(t.area == area for t in out):
                print(f"ipcsuite: target {target.name}: not running area {area}: {why}", file=sys.stderr,
                      flush=True)
        out = [t for t in out if t.area not in vm.DYNAMIC_ONLY_AREAS]
    return out


def _run_once(args, selftest: bool):
    """One run; returns (exit code, results document, results directory)."""
    preload = None
    if args.preload:
        preload = Path(args.preload).resolve()
        if not preload.is_file():
            raise UsageError(f"--preload: no such file: {args.preload}")
        preload_mod.check_file(preload)  # before the build: a text file, a 32-bit library, ...
    tlist = targets_mod.parse_list(args.target)
    exps = expectations_mod.from_args(args)
    if preload and any(t.kind == "qemu" for t in tlist):
        raise UsageError("--preload cannot be used with a qemu target (its binaries are statically linked)")
    for t in tlist:  # before the build: a file that is no kernel image is the user's error, said at once
        if t.kind == "qemu" and t.kernel is not None:
            if not t.kernel.exists():
                raise UsageError(f"--target {t.spec}: no such kernel image: {t.kernel}")
            if (why := targets_mod.kernel_problem(t.kernel)) is not None:
                raise UsageError(f"--target {t.spec}: {why}")
    bdir = build_mod.prepare(args)
    scales = [target_wrap.set_scale(t, getattr(args, "timeout_scale", None)) for t in tlist]
    for t in tlist:
        t.ensure()
    if preload:  # the loader's refusal, or a constructor that kills the process, before any test runs
        for t in tlist:
            penv = dict(preload_mod.clean_env(), **target_wrap.env(t.to_data()))
            if t.kind == "oci":  # in a container of its own, as a test process: the rootfs and loader it has
                penv["IPCSUITE_RUN_ID"] = f"preload-probe-{os.getpid()}"  # its container's name, swept below
            # Its temporary directory (an oci container's bundle) is removed with it, whatever the probe says;
            # by the next run if this one is SIGKILLed meanwhile.
            with workspace.scratch("preload-probe") as pdir:
                try:
                    preload_mod.probe(preload, t, target_wrap.probe_binary(bdir), penv, str(pdir))
                finally:
                    if t.kind == "oci":  # a probe that timed out leaves its container
                        target_oci.sweep(t.options, penv["IPCSUITE_RUN_ID"])
    guard, room = procinfo.guard_fits()
    if not guard:
        print(f"ipcsuite: note: RLIMIT_NPROC leaves room for {room} more processes: the tests run without the "
              "guard process (a SIGKILLed run may leave a test's helper behind; the next run kills it)",
              file=sys.stderr, flush=True)
    deadline = args.run_deadline
    deadline.start()

    tests, shard = select(args, bdir, selftest)
    _sweep_leftovers()  # after every check of the user's input: a refusal is one line, with no note before it
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)

    # absolute: pytest workers and targets run elsewhere and read the run directory by this path
    run = workspace.Run.create(Path(args.results_dir).absolute())
    names = ",".join(t.name for t in tlist)
    print(f"ipcsuite: run {run.run_id}, seed {seed}, {len(tests)} tests in "
          f"{len({str(t.binary) for t in tests})} binaries, {args.jobs} jobs"
          + (f", targets {names}" if len(tlist) > 1 or tlist[0].kind != "host" else "")
          + (f", shard {shard[0]}/{shard[1]}" if shard and shard[1] > 1 else "")
          + "".join(f", {t.name}: {s}" if len(tlist) > 1 else f", {s}" for t, s in zip(tlist, scales) if s),
          flush=True)
    env = dict(os.environ, IPCSUITE_RUN_TMPDIR=str(run.tmp), IPCSUITE_RUN_ID=run.run_id,
               IPCSUITE_SEED=str(seed), IPCSUITE_COMMAND_LINE="./ipcsuite " + " ".join(sys.argv[1:]),
               IPCSUITE_BUILD_DIR=str(bdir), PYTHONPATH=str(ROOT), **deadline.env())
    env.pop("LD_PRELOAD", None)
    parts, rcs = [], []
    pending = list(tlist)  # targets without a part in `parts` yet (for an interruption's record)
    try:
        for i, target in enumerate(tlist):
            ttests = target_tests(target, tests)
            if not ttests:
                pending.remove(target)
                continue
            if deadline.passed():  # the deadline went by in an earlier target: nothing of this one runs
                pdoc = {"environment": dict(results_mod.environment(target.name, str(seed), str(preload or "")),
                                            wall_s=0.0), "tests": []}
                deadline.add_unfinished(pdoc, ttests, target.name)
                parts.append(results_mod.recount(pdoc))
                pending.remove(target)
                continue
            part = run.dir / "targets" / _safe(target.name)
            part.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            if len(tlist) > 1:
                print(f"ipcsuite: target {target.name}: {len(ttests)} tests", flush=True)
            guest_env = None
            if target.kind == "qemu":
                guest_env = _run_qemu(target, bdir, ttests, args, part)
            jobs = args.jobs if target.kind != "qemu" else 1
            # The runner's own Python tests: with the host's part of `./ipcsuite test` (not under
            # --sanitize: they preload interposers; not with --filter, which selects the suite's tests).
            with_runner_tests = selftest and i == 0 and not args.sanitize and not argtypes.globs(args.filter)
            # Fork servers' tests run `jobs` at once in one pytest process (runner/inflight.py); exec'd ones
            # (--preload, IPCSUITE_EXEC_MODE=exec), the runner's own Python tests and IPCSUITE_IN_FLIGHT=0 (the
            # bench's way of comparing) in `jobs` xdist workers.
            in_flight = (jobs if jobs > 1 and not with_runner_tests and guest_env is None
                         and executor.mode_for(str(preload or "")) == "fork"
                         and os.environ.get("IPCSUITE_IN_FLIGHT") != "0" else 1)
            plan = plan_mod.write_plan(part / "plan.json", target=target.to_data(), seed=seed,
                                       test_timeout=args.test_timeout * target.options["timeout_scale"],
                                       preload=str(preload or ""),
                                       replay=str(part / "guest.json") if guest_env is not None else "",
                                       tests=ttests, in_flight=in_flight)
            cmd = pytest_command(plan, part / "results.json", run.tmp / "pytest", jobs=jobs if in_flight == 1 else 1,
                                 # The summary gives each failure with its rules once; ./ipcsuite test
                                 # keeps the tracebacks of the runner's own Python tests.
                                 tracebacks=selftest, python_tests=with_runner_tests)
            if args.exitfirst:
                cmd += ["-x"]
            if args.k:
                cmd += ["-k", args.k]
            cmd.append(str(plan))
            if with_runner_tests:
                cmd.append(str(ROOT / "runner" / "tests"))
            rc = _pytest(cmd, dict(env, IPCSUITE_RUN_PLANNED=str(part / "planned.json")), deadline, guard)
            if target.kind == "oci":  # containers of fork servers killed at a deadline
                target_oci.sweep(target.options, run.run_id)
            rcs.append(rc)
            wall = round(time.monotonic() - started, 3)
            results = part / "results.json"
            if deadline.hit and not results.exists():
                pdoc = {"environment": results_mod.environment(target.name, str(seed), str(preload or "")),
                        "tests": []}
            elif not results.exists():
                if rc == 3:  # pytest's internal error: the plugin said why in one line (e.g. a full disk)
                    raise Reported(f"pytest exited {rc} without writing {results}")
                raise SetupError(f"pytest exited {rc} without writing {results}")
            else:
                pdoc = results_mod.load(results)
            if deadline.passed():
                deadline.add_unfinished(pdoc, ttests, target.name, part / "planned.json")
                results_mod.recount(pdoc)
            if guest_env:
                pdoc["environment"].update(guest_env)
            pdoc["environment"]["wall_s"] = wall
            parts.append(pdoc)
            pending.remove(target)
            if args.exitfirst and rc == 1:
                break
    except KeyboardInterrupt as e:
        # Ctrl-C or SIGTERM: the verdicts reached are kept (results.json and every report, marked
        # `interrupted`); the tests not run are errors that say so. Then cli.main: exit 130 or 143.
        run.finish()
        how = "SIGTERM" if isinstance(e, Terminated) else "SIGINT"
        _write_interrupted(run, parts, pending, tests, exps, seed, preload, how)
        raise
    finally:
        run.finish()  # also when a SetupError ends the run
    doc, _notes = results_mod.merge_docs(parts, run.run_id)
    if deadline.hit or deadline.passed():
        cut = [t.get("message", "") for t in doc["tests"] if t["status"] == "error"
               and t.get("message", "").startswith(deadline.message())]
        stopped = sum(1 for m in cut if "while this test ran" in m)
        doc["interrupted"] = {"by": "deadline", "message": deadline.message(), "not_run": len(cut) - stopped,
                              "stopped": stopped}
    expectations_mod.apply(doc, exps)
    report_cmd.write_reports(run.dir, doc)
    run.publish()
    print(summary.render(doc, str(run.dir), rules=report_cmd.catalogue_rules()), flush=True)
    if summary.unexpected(doc):
        return 1, doc, run.dir
    for rc in rcs:
        if rc not in (0, 1) and not deadline.hit:
            raise SetupError(f"pytest exited with status {rc}")
    return 0, doc, run.dir


def _write_interrupted(run, parts, pending, tests, exps, seed, preload, how: str) -> None:
    """results.json and the reports of an interrupted run: the verdicts reached, the tests not run as errors
    saying so, marked {"interrupted": {"by": SIGINT|SIGTERM, ...}}; results/latest then points at it."""
    message = f"the run was interrupted ({how})"
    not_run = 0
    for target in pending:
        part = run.dir / "targets" / _safe(target.name)
        pdoc = None
        if (part / "results.json").exists():  # pytest wrote the verdicts it had when it was stopped
            try:
                pdoc = results_mod.load(part / "results.json")
            except (OSError, ValueError):
                pdoc = None
        if pdoc is None:
            pdoc = {"environment": results_mod.environment(target.name, str(seed), str(preload or "")),
                    "tests": []}
        not_run += workspace.add_unfinished(pdoc, target_tests(target, tests), target.name, message,
                                            part / "planned.json")
        parts.append(results_mod.recount(pdoc))
    doc, _notes = results_mod.merge_docs(parts, run.run_id)
    stopped = sum(1 for t in doc["tests"] if t["status"] == "error" and t.get("message", "").startswith(message))
    doc["interrupted"] = {"by": how, "message": message, "not_run": not_run, "stopped": stopped - not_run}
    expectations_mod.apply(doc, exps)
    report_cmd.write_reports(run.dir, doc)
    run.publish()
    print(f"ipcsuite: {message}: the verdicts of the {len(doc['tests']) - stopped} tests that finished are in "
          f"{run.dir} ({stopped - not_run} stopped while running, {not_run} not run)", file=sys.stderr, flush=True)


def _sweep_leftovers() -> None:
    """The temporary directories of earlier runs whose runner is gone, and the processes still using one (a
    SIGKILLed run without the guard: a test's helper started with posix_spawn has no death signal)."""
    for what in workspace.sweep_leftovers():
        entry = f"IPCSUITE_RUN_TMPDIR={what}"
        found = procinfo.with_environment(entry)
        left = procinfo.kill_with_environment(entry, 10.0) if found else []
        print(f"ipcsuite: removed leftovers of an earlier run: {what}"
              + (f" and killed {len(found)} of its processes" if found else "")
              + (f" ({', '.join(map(str, left))} still there after SIGKILL)" if left else ""), file=sys.stderr)


def _run_qemu(target, bdir, tests, args, part) -> dict:
    """Runs the planned tests in the guest; writes part/guest.json for the plugin; returns the guest env."""
    # Only the binaries the selected tests come from (every one of an area: the manifest lists them) are
    # built statically and packed into the guest.
    binaries, plan = vm.guest_selection(catalogue.read_manifest(bdir), tests)
    out = vm.run_guest(target, binaries, plan, jobs=args.jobs, timeout=args.test_timeout,
                       accel_mode=args.qemu_accel, out_dir=part)
    doc = {"problem": out["problem"], "environment": out["environment"],
           "results": [dict(r, area=a) for (a, _t), r in out["results"].items()]}
    (part / "guest.json").write_text(json.dumps(doc) + "\n")
    if out["problem"]:
        print(f"ipcsuite: qemu target {target.name}: {out['problem']}", file=sys.stderr, flush=True)
    return {k: v for k, v in out["environment"].items() if k != "tests"}
