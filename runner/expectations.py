"""Expectations: known divergences of a target, recorded instead of failing the gate.

File format (expectations/*.txt; `--expectations FILE` adds more, `--no-expectations` uses none):

    # comments and blank lines are ignored
    ipcsuite-expectations 1
    TARGET_GLOB  TEST_GLOB  EXPECT  reason="why it diverges"  [bug=URL]

- The first non-comment line names the format and its version (only 1 exists).
- TARGET_GLOB matches a target name (host, userns, bwrap, qemu:vmlinuz-6.1.0-56-amd64, ...), TEST_GLOB a test
  id (area/Suite.Name); both are shell globs (fnmatch, case-sensitive).
- EXPECT is `fail` (the test fails or errors there: it counts as xfailed, and a pass counts as xpassed, which
  is unexpected), `flaky` (a failure there counts as xfailed, a pass stays passed: for timing that an
  emulator cannot keep) or `skip` (the test skips there; documentation only, a skip never fails the gate).
- reason= is required; bug= is optional. Values with spaces are quoted (shell quoting rules).

The first matching line decides. A malformed file is an error that names the file and line.
"""
from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from reports import results as results_mod
from runner import inputs
from runner.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "expectations"
FORMAT = "ipcsuite-expectations"
VERSIONS = (1,)
EXPECTS = ("fail", "flaky", "skip")
KEYS = ("reason", "bug")


# Longer globs are refused: no test id or target name comes near it, and a regular expression compiled from a
# glob costs time per '*' (about 35 us each), so that a hostile file cannot make a run crawl.
MAX_GLOB = 256


class ExpectationError(Exception):
    pass


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern:
    """fnmatch.fnmatchcase's regular expression for `pattern`, in time linear in its length.

    fnmatch.translate looks for the ']' of every '[' up to the end of the pattern: quadratic when no ']'
    follows ('[' * 10000 took 12 s). Such a '[' is a literal '[', so it is written as the class "[[]"
    first, and translate then finds every class's ']' at once."""
    last_close = pattern.rfind("]")
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "[":
            j = pattern.find("[", i)
            j = n if j < 0 else j
            out.append(pattern[i:j])
            i = j
            continue
        start = i + 1  # where translate starts looking for the class's ']'
        if start < n and pattern[start] == "!":
            start += 1
        if start < n and pattern[start] == "]":
            start += 1
        if start > last_close:
            out.append("[[]")  # no ']' follows: a literal '['
            i += 1
        else:
            j = pattern.index("]", start)
            out.append(pattern[i:j + 1])
            i = j + 1
    return re.compile(fnmatch.translate("".join(out)))


@dataclass
class Expectation:
    target: str
    test: str
    expect: str
    reason: str
    bug: str
    source: str  # file:line

    def matches(self, target: str, test_id: str) -> bool:
        return bool(glob_regex(self.target).match(target)) and bool(glob_regex(self.test).match(test_id))

    def as_json(self) -> dict:
        return {"target": self.target, "test": self.test, "expect": self.expect, "reason": self.reason,
                "bug": self.bug or None, "source": self.source}


# The pieces of a line as POSIX shell quoting (shlex.split(line, comments=True)) sees them: a run of plain
# characters, a whole '...' or "..." string, an escaped character, a run of shlex's whitespace, a comment.
# Possessive quantifiers: an unclosed quote fails at once instead of backtracking.
_PIECE = re.compile(r"""[^ \t\r\n'"\\#]++|'[^']*+'|"(?:[^"\\]++|\\[\s\S])*+"|\\[\s\S]|[ \t\r\n]++|#""")
_DQ_ESCAPE = re.compile(r'\\([\\"])')
_DQ_OPEN = re.compile(r'"(?:[^"\\]++|\\[\s\S])*+')


def split_words(line: str) -> list[str]:
    """shlex.split(line, comments=True) for one line, in time linear in its length (shlex appends to its
    token one character at a time: quadratic, 14 s for a 400 KB word). Raises ValueError as shlex does."""
    words: list[str] = []
    word: list[str] = []
    started = False  # a word is open (it may be empty: '' or "")
    pos = 0
    while pos < len(line):
        m = _PIECE.match(line, pos)
        if m is None:  # an unclosed quote or a backslash at the end of the line
            if line[pos] == '"':
                end = _DQ_OPEN.match(line, pos).end()
                raise ValueError("No escaped character" if end < len(line) else "No closing quotation")
            raise ValueError("No closing quotation" if line[pos] == "'" else "No escaped character")
        piece, pos = m.group(), m.end()
        first = piece[0]
        if first in " \t\r\n" or first == "#":
            if started:
                words.append("".join(word))
                word, started = [], False
            if first == "#":
                break
            continue
        started = True
        if first == "'":
            word.append(piece[1:-1])
        elif first == '"':
            # Inside double quotes only \\ and \" are escapes; a backslash before anything else stays.
            word.append(_DQ_ESCAPE.sub(r"\1", piece[1:-1]))
        elif first == "\\":
            word.append(piece[1])
        else:
            word.append(piece)
    if started:
        words.append("".join(word))
    return words


def _shown(line: str, limit: int = 80) -> str:
    """A line quoted for an error message, cut to `limit` characters (an error is one readable line)."""
    return repr(line if len(line) <= limit else line[:limit] + "...")


def parse(text: str, name: str) -> list[Expectation]:
    out: list[Expectation] = []
    version = None
    # Lines end at "\n" only, as for an editor, grep -n or sed: str.splitlines() also splits at \x0b, \x0c,
    # \x1c-\x1e, \x85, \u2028 and \u2029, and errors then named lines the file does not have (fuzzer finding).
    for no, raw in enumerate(text.split("\n"), 1):
        where = f"{name}:{no}"
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = split_words(line)
        except ValueError as e:
            raise ExpectationError(f"{where}: {e} (unbalanced quotes?)") from None
        if not words:
            continue
        if version is None:
            if words[0] != FORMAT or len(words) != 2:
                raise ExpectationError(f"{where}: the first line must be '{FORMAT} 1', not {_shown(line)}")
            try:
                version = int(words[1])
            except ValueError:
                raise ExpectationError(f"{where}: version must be a number, not {_shown(words[1])}") from None
            if version not in VERSIONS:
                raise ExpectationError(f"{where}: unsupported version {version} (this runner reads "
                                       f"{', '.join(map(str, VERSIONS))})")
            continue
        if len(words) < 4:
            raise ExpectationError(f"{where}: expected 'TARGET TEST EXPECT reason=\"...\" [bug=URL]', got "
                                   f"{_shown(line)}")
        target, test, expect, *rest = words
        if expect not in EXPECTS:
            raise ExpectationError(f"{where}: expected status must be one of {', '.join(EXPECTS)}, "
                                   f"not {_shown(expect)}")
        for what, glob in (("target", target), ("test", test)):
            if len(glob) > MAX_GLOB:
                raise ExpectationError(f"{where}: the {what} pattern is {len(glob)} characters long (at most "
                                       f"{MAX_GLOB})")
        if "/" not in test and "*" not in test:
            raise ExpectationError(f"{where}: test pattern {_shown(test)} should look like area/Suite.Name "
                                   "(globs allowed)")
        fields: dict[str, str] = {}
        for w in rest:
            key, eq, value = w.partition("=")
            if not eq:
                raise ExpectationError(f"{where}: {_shown(w)} is not key=value (did you forget quotes around the "
                                       "reason?)")
            if key not in KEYS:
                raise ExpectationError(f"{where}: unknown key {_shown(key)} (known: {', '.join(KEYS)})")
            if key in fields:
                raise ExpectationError(f"{where}: {key} given twice")
            fields[key] = value.strip()
        if not fields.get("reason"):
            raise ExpectationError(f"{where}: a reason=\"...\" is required")
        out.append(Expectation(target=target, test=test, expect=expect, reason=fields["reason"],
                               bug=fields.get("bug", ""), source=where))
    if version is None and out == []:
        return []
    return out


def load_file(path: Path) -> list[Expectation]:
    try:
        data = inputs.read_bytes(path)
    except OSError as e:
        raise ExpectationError(f"{path}: {e.strerror}") from None
    try:
        rel = str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        rel = str(path)
    # UTF-8 whatever the locale (the same file must mean the same everywhere); anything else is the user's
    # error, named by its line (found by the fuzzer: read_text() let UnicodeDecodeError escape).
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ExpectationError(f"{rel}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at column "
                               f"{column})") from None
    return parse(text, rel)


def load(paths: list[str] | None, use_default: bool = True) -> list[Expectation]:
    out: list[Expectation] = []
    if use_default and DEFAULT_DIR.is_dir():
        for p in sorted(DEFAULT_DIR.glob("*.txt")):
            out.extend(load_file(p))
    for p in paths or []:
        out.extend(load_file(Path(p)))
    return out


def find(expectations: list[Expectation], target: str, test_id: str) -> Expectation | None:
    for e in expectations:
        if e.matches(target, test_id):
            return e
    return None


def apply(doc: dict, expectations: list[Expectation]) -> dict:
    """Turns expected failures into xfailed and passes of expected failures into xpassed (in place).

    Each affected test keeps what really happened in `actual_status` and gets an `expectation`.
    """
    for t in doc["tests"]:
        target = results_mod.target_of(t, doc)
        status = t.get("actual_status", t["status"])
        e = find(expectations, target, t["id"])
        if e is None:
            continue
        t["expectation"] = e.as_json()
        if e.expect in ("fail", "flaky"):
            if status in ("failed", "error"):
                t["actual_status"] = status
                t["status"] = "xfailed"
            elif status == "passed" and e.expect == "fail":
                t["actual_status"] = status
                t["status"] = "xpassed"
                t["message"] = (f"expected to fail on {target} ({e.reason}) but passed; remove or narrow "
                                f"{e.source}")
    doc["expectations"] = [e.as_json() for e in expectations]
    return results_mod.recount(doc)


def from_args(args) -> list[Expectation]:
    """The expectations a command's --expectations/--no-expectations name; a bad file is a usage error."""
    try:
        return load(args.expectations, use_default=not args.no_expectations)
    except ExpectationError as e:
        raise UsageError(f"expectations: {e}") from None
