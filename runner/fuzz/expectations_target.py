"""The property the expectations fuzzer checks, called by expectations_fuzz.cc for every input.

An expectations file is untrusted input (`--expectations FILE`). Whatever its bytes, loading it must either
give expectations whose `source` names a real line of the file, or raise ExpectationError with one line that
starts with `FILE:LINE: ` naming a real line. Anything else (another exception, a message without the line,
a line number the file does not have) is a finding: it raises FuzzFinding, and the harness aborts.

The input goes through load_file() (the path a user's file takes, decoding included) via a memfd, so no
file is left behind even when the fuzzer is killed.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from runner import expectations

_FD = os.memfd_create("ipcsuite-expectations-fuzz", os.MFD_CLOEXEC)
PATH = Path(f"/proc/self/fd/{_FD}")
NAME = str(PATH)  # load_file names a file outside the repository by the path it was given
_WHERE = re.compile(re.escape(NAME) + r":([0-9]+)")


class FuzzFinding(AssertionError):
    pass


def _check(ok: bool, what: str, data: bytes) -> None:
    if not ok:
        raise FuzzFinding(f"{what}; input {data[:200]!r}")


def _lines(data: bytes) -> int:
    # What an editor, grep -n or sed -n Np call line N: lines end with "\n" only.
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def check(data: bytes) -> None:
    os.ftruncate(_FD, 0)
    os.pwrite(_FD, data, 0)
    nlines = max(_lines(data), 1)
    try:
        loaded = expectations.load_file(PATH)
    except expectations.ExpectationError as e:
        msg = str(e)
        _check("\n" not in msg and "\r" not in msg, f"error message is not one line: {msg!r}", data)
        m = _WHERE.match(msg)
        _check(m is not None and msg[m.end():].startswith(": "),
               f"error message does not start with FILE:LINE: {msg!r}", data)
        line = int(m.group(1))
        _check(1 <= line <= nlines, f"error names line {line} of a {nlines}-line file: {msg!r}", data)
        return
    _check(isinstance(loaded, list), f"load_file returned {type(loaded).__name__}", data)
    text_lines = data.split(b"\n")
    for e in loaded:
        m = _WHERE.fullmatch(e.source)
        _check(m is not None, f"source {e.source!r} is not FILE:LINE", data)
        line = int(m.group(1))
        _check(1 <= line <= nlines, f"expectation from line {line} of a {nlines}-line file", data)
        _check(text_lines[line - 1].strip() != b"", f"expectation from blank line {line}", data)
        _check(e.expect in expectations.EXPECTS, f"expect {e.expect!r}", data)
        _check(bool(e.reason), "an expectation without a reason", data)
        # Matching must work on whatever pattern was accepted.
        e.matches("host", "pipe/PipeEof.Example")
        e.as_json()
