"""ipcsuite(1), generated from the command line parser (so it never disagrees with --help).

    /usr/bin/python3 -m runner.manpage > ipcsuite.1      (cmake --install does this into share/man/man1)
"""
from __future__ import annotations

import argparse
import sys
import time

from runner import cli, version

EXIT = [("0", "nothing unexpected: every test passed, skipped with a reason, or failed where an expectation "
              "says it does"),
        ("1", "a test failed or errored, or passed where an expectation says it fails (also: --repeat saw a "
              "verdict change, diff saw a regression)"),
        ("2", "bad usage or a set-up problem; always one line on stderr"),
        ("130, 143", "interrupted (SIGINT) or terminated (SIGTERM)")]


def _roff(text: str) -> str:
    text = str(text).replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + ln) if ln.startswith((".", "'")) else ln for ln in text.splitlines())


def _options(parser: argparse.ArgumentParser) -> list[str]:
    out = []
    for action in parser._actions:  # argparse has no public iterator over a parser's arguments
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            if action.nargs != 0:
                names += " " + (action.metavar or action.dest.upper())
        else:
            names = action.metavar or action.dest
        out += [".TP", f"\\fB{_roff(names)}\\fR", _roff(action.help or "")]
    return out


def render() -> str:
    parser = cli.make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    lines = [f'.TH IPCSUITE 1 "{time.strftime("%Y-%m-%d")}" "ipcsuite {_roff(version.version())}" "User Commands"',
             ".SH NAME", "ipcsuite \\- conformance and fault\\-injection tests for Linux IPC",
             ".SH SYNOPSIS", "\\fBipcsuite\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR]", ".br",
             "\\fBipcsuite \\-\\-version\\fR",
             ".SH DESCRIPTION",
             _roff("Tests of pipes, FIFOs, signals, System V and POSIX IPC and UNIX sockets, each naming the "
                   "documented rule it checks (man page, section, errno). A failure says which promise of the "
                   "documentation the kernel, container runtime, emulator or C library under test breaks."),
             ".SH COMMANDS"]
    for name, p in sub.choices.items():
        lines += [f".SS {_roff(name)}", _roff(helps.get(name) or ""), ".PP",
                  f"\\fBusage:\\fR {_roff(' '.join(p.format_usage().removeprefix('usage: ').split()))}"]
        lines += _options(p)
    lines.append(".SH EXIT STATUS")
    for code, what in EXIT:
        lines += [".TP", f"\\fB{code}\\fR", _roff(what)]
    lines += [".SH FILES", ".TP", "\\fBresults/<run\\-id>/\\fR",
              _roff("results.json, junit.xml, results.ktap, results.kirk.json and report.html of a run; "
                    "results/latest points at the last one"),
              ".TP", "\\fBsuite/rules/*.ini\\fR", "the rules catalogue",
              ".TP", "\\fBexpectations/*.txt\\fR", "known divergences per target",
              ".SH SEE ALSO", "The project's README.md and docs/ (running.md, results.md, writing-tests.md, "
              "fault\\-injection.md).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
