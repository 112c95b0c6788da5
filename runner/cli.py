"""ipcsuite command line: the parser and the dispatch to the command modules.

run, test: runner/run_cmd.py; rules, list: runner/rules_cmd.py; targets, fetch-kernel: runner/targets_cmd.py;
report, diff, merge: runner/report_cmd.py; inject: runner/inject_cmd.py; bench: runner/bench_cmd.py.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from runner import argtypes, bench_cmd, inject_cmd, report_cmd, rules_cmd, run_cmd, targets_cmd
from runner import target_wrap
from runner import build as build_mod
from runner import version

try:  # shell completion (python3-argcomplete) when it is installed; the suite runs without it
    import argcomplete
except ImportError:
    argcomplete = None
from runner.errors import Reported, SetupError, Terminated, UsageError

ROOT = Path(__file__).resolve().parent.parent


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2 (argparse would print usage first)
        raise UsageError(message)


def _add_run_options(p):
    p.add_argument("--filter", action="append", default=[], metavar="GLOB",
                   help="run only tests whose id (area/Suite.Name) or name matches GLOB; may repeat, or "
                        "comma-separated")
    rules_cmd.add_rule_options(p)
    p.add_argument("--preload", metavar="LIB", type=argtypes.path,
                   help="LD_PRELOAD LIB into every test process (not the runner)")
    p.add_argument("-j", "--jobs", type=argtypes.jobs, default=os.cpu_count() or 1,
                   help=f"parallel test processes, at most {argtypes.MAX_JOBS} (default: number of CPUs)")
    p.add_argument("--results-dir", metavar="DIR", default=str(build_mod.results_root()),
                   help="where results/<run-id>/ goes (default: ./results)")
    p.add_argument("--seed", type=int, help="seed for anything random (default: a fresh one, printed)")
    p.add_argument("--test-timeout", type=argtypes.positive_float, default=60.0, metavar="S",
                   help="deadline for one test process in seconds (default 60)")
    p.add_argument("--timeout-scale", type=target_wrap.timeout_scale, metavar="F",
                   help="multiply every test's deadline (--test-timeout and the tests' own) by F, a finite "
                        "number above 0, for slow (emulated, instrumented) targets; default 1, or the known "
                        "slow wrapper's factor: wrap:valgrind... 10, wrap:qemu-... 5, wrap:proot... and "
                        "wrap:strace... 4")
    p.add_argument("--no-build", action="store_true", help="use the existing build/ as it is")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("-k", metavar="EXPR", type=argtypes.keyword,
                   help="select tests whose id contains these words (pytest -k: and, or, not, parentheses)")
    p.add_argument("--sanitize", choices=sorted(build_mod.SANITIZERS), metavar="MODE",
                   help="'address,undefined' (ASan and UBSan) or 'thread' (TSan): build the suite with these "
                        "sanitizers (in build-asan/ or build-tsan/) and run it; "
                        "the runner's own Python tests are left out (they preload interposers)")
    p.add_argument("--repeat", type=argtypes.positive_int, default=1, metavar="N",
                   help="run N times and report every test whose verdict changed (a flake report)")
    p.add_argument("--soak", type=argtypes.positive_int, metavar="N",
                   help="property tests: N times their default number of cases (a longer soak; the default "
                        "budget keeps the run quick); recorded in results.json")
    p.add_argument("--load", action="store_true",
                   help="run under load: stress-ng on every CPU plus I/O and memory pressure, for the whole "
                        "run (use with --repeat for a flake report under load)")
    p.add_argument("--target", action="append", default=[], metavar="T[,T...]",
                   help="where to run: host (default), userns, bwrap, qemu:<kernel image>, wrap:CMD (every "
                        "test process under the command CMD); several give one report with a column per "
                        "target")
    p.add_argument("--expectations", action="append", default=[], metavar="FILE",
                   help="known divergences (in addition to expectations/*.txt)")
    p.add_argument("--no-expectations", action="store_true", help="ignore expectations/*.txt")
    p.add_argument("--shard", metavar="I/N", type=argtypes.shard,
                   help="run only shard I of N (0-based) of the selected tests, e.g. one CI machine's share; "
                        "default from GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS; ./ipcsuite merge combines shards")
    p.add_argument("--qemu-accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="qemu targets: KVM, TCG, or KVM when a probe boot works (default)")
    p.add_argument("--deadline", type=argtypes.positive_float, default=run_cmd.DEFAULT_DEADLINE_S, metavar="S",
                   help=f"deadline for the whole run (all targets and repeats, after the build) in seconds "
                        f"(default {run_cmd.DEFAULT_DEADLINE_S:g}); unfinished tests become errors")


def make_parser():
    p = Parser(prog="ipcsuite", description="Conformance and fault-injection tests for Linux IPC.")
    p.add_argument("--version", action="version", version=f"ipcsuite {version.version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    r = sub.add_parser("run", help="install what is missing, build, run the suite here, write reports")
    _add_run_options(r)
    t = sub.add_parser("test", help="the project's own tests: the suite plus fixture and runner self-tests")
    _add_run_options(t)
    rules_cmd.add_parsers(sub)
    targets_cmd.add_parsers(sub)
    report_cmd.add_parsers(sub)
    inject_cmd.add_parser(sub)
    bench_cmd.add_parser(sub)
    return p


COMMANDS = {"run": run_cmd.cmd_run, "test": run_cmd.cmd_run, "rules": rules_cmd.run, "list": rules_cmd.run,
            "targets": targets_cmd.run, "fetch-kernel": targets_cmd.run, "report": report_cmd.run,
            "diff": report_cmd.run, "merge": report_cmd.run, "inject": inject_cmd.run, "bench": bench_cmd.run}


def _refuse_empty_values(parser, args) -> None:
    """argparse takes `--opt=--` (or `--opt --`) as the option given no value at all, since it drops a '--':
    the option then holds [] where one value belongs (an appending option, [[]])."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None))
            if chosen is not None:
                _refuse_empty_values(chosen, args)
        elif action.option_strings and action.nargs is None:
            value = getattr(args, action.dest, None)
            if value == [] and action.default != [] or isinstance(action, argparse._AppendAction) and \
                    isinstance(value, list) and [] in value:
                raise UsageError(f"argument {action.option_strings[-1]}: expected one argument (not '--')")


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = make_parser()
    if argcomplete is not None:
        argcomplete.autocomplete(parser)  # returns at once unless a shell's completion called us
    try:
        args = parser.parse_args(argv)
        _refuse_empty_values(parser, args)
        return COMMANDS[args.command](args)
    except Reported:
        return 2
    except (UsageError, SetupError) as e:
        print(f"ipcsuite: error: {e}", file=sys.stderr)
        return 2
    except Terminated:
        print("ipcsuite: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("ipcsuite: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ipcsuite list | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        # What the machine refused on the way (a full disk, a directory the user cannot write, no file
        # descriptor left): one line, exit 2, like every other set-up problem.
        print(f"ipcsuite: error: {_os_error(e)}", file=sys.stderr)
        return 2


def _os_error(e: OSError) -> str:
    what = e.strerror or str(e)
    if e.filename is not None:
        return f"{e.filename}: {what}" + (f" (-> {e.filename2})" if e.filename2 is not None else "")
    return what


if __name__ == "__main__":
    sys.exit(main())
