"""argparse types shared by the commands (a bad value is one clear line, exit 2; see runner/cli.py)."""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from _pytest.mark.expression import Expression, ParseError

from runner.errors import UsageError


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return v


# A bound on --jobs: more parallel test processes than this only exhausts the machine (each test process
# forks children of its own); the suite's own parallelism is limited by CPUs, not by this.
MAX_JOBS = 256


def jobs(text):
    v = positive_int(text)
    if v > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"at most {MAX_JOBS}: {text!r}")
    return v


def int_in(minimum: int, maximum: int):
    """An int type for an option that takes a whole number from `minimum` to `maximum`."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not minimum <= v <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}: {text!r}")
        return v
    return parse


def int_at_least(minimum: int, what: str):
    """An int type for option `what` ("bench inject: --calls") that must be at least `minimum`."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise UsageError(f"{what} takes a number, not {text!r}") from None
        if v < minimum:
            raise UsageError(f"{what} must be at least {minimum}, not {v}")
        return v
    return parse


def keyword(text):
    """A pytest -k expression (words, and/or/not, parentheses), checked before anything runs."""
    try:
        Expression.compile(text)
    except ParseError as e:
        raise argparse.ArgumentTypeError(
            f"not a -k expression ({e.message} at column {e.column}): {text!r}") from None
    return text


def shard(text):
    """I/N: shard I (0-based) of N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not I/N: {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..N-1: {text!r}")
    return (i, n)


def env_shard():
    """The shard GoogleTest's variables name (GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS), or None."""
    total, index = os.environ.get("GTEST_TOTAL_SHARDS"), os.environ.get("GTEST_SHARD_INDEX")
    if not total and not index:
        return None
    try:
        return shard(f"{index or 0}/{total or 1}")
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS: {e}") from None


def globs(values: list[str]) -> list[str]:
    """--filter GLOB values, each repeated or comma-separated, as one list."""
    out = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def path(text):
    """A path the user names, made absolute with its symlinks resolved (a symlink loop is the user's error)."""
    try:
        return str(Path(text).expanduser().resolve())
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop, before Python 3.13
        raise argparse.ArgumentTypeError(f"cannot resolve {text!r}: {e}") from None
