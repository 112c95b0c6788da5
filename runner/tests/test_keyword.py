"""-k selects in the CLI, as pytest would, so that the header counts what runs."""
from __future__ import annotations

import argparse
import re

import pytest

from runner import argtypes
from runner.run_cmd import keyword_matches


@pytest.mark.parametrize("expr,test_id,selected", [
    ("Epipe", "pipe/PipeEpipe.DefaultActionKillsWriterWithSigpipe", True),
    ("epipe", "pipe/PipeEpipe.DefaultActionKillsWriterWithSigpipe", True),   # case-insensitive, as pytest
    ("Epipe and not Writev", "pipe/PipeEpipe.WritevWithNoReaderDefaultActionKills", False),
    ("Epipe and not Writev", "pipe/PipeEpipe.DefaultActionKillsWriterWithSigpipe", True),
    ("fifo or (pipe and Atomic)", "pipe/PipeAtomic.ConcurrentPipeBufWritesAreNeverInterleaved", True),
    ("fifo or (pipe and Atomic)", "pipe/PipeIo.BlockedReadReturnsWhatArrivesWithoutWaitingForTheFullCount", False),
])
def test_keyword_selects_like_pytest(expr, test_id, selected):
    assert keyword_matches(expr, test_id) is selected


@pytest.mark.parametrize("bad", ["pipe and (", "and", "not", "a b", "(a"])
def test_a_malformed_expression_is_refused_before_anything_runs(bad):
    with pytest.raises(argparse.ArgumentTypeError, match="not a -k expression"):
        argtypes.keyword(bad)


def test_the_header_counts_what_k_selects(run_suite):
    res = run_suite("--filter", "pipe/*", "-k", "Epipe and not Writev", "--jobs", "1")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-1000:]
    counted = int(re.search(r"seed \d+, (\d+) tests in", res.stdout).group(1))
    ran = res.doc["tests"]
    assert counted == len(ran) > 0
    assert all("epipe" in t["id"].lower() and "writev" not in t["id"].lower() for t in ran)
