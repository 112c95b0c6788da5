"""Report files written whole or not at all: each to a temporary file beside it, renamed over it at the end.

A full disk (ENOSPC, EDQUOT, EFBIG) or a read-only directory while writing gives one SetupError line and
exit 2; no half-written junit.xml (invalid XML) nor a stray temporary file is left, and the files an earlier
write produced stay as they were.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from runner.errors import SetupError


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def write_files(writers: dict[Path, Callable[[Path], None]]) -> None:
    """Calls each writer with a temporary path, then renames every temporary file over its path. When a
    writer fails (no space, no permission), every temporary file is removed and nothing is renamed."""
    tmps: list[Path] = []
    current: Path | None = None
    try:
        for path, writer in writers.items():
            current = Path(path)
            tmps.append(_tmp(current))
            writer(tmps[-1])
        for tmp, path in zip(tmps, writers):
            current = Path(path)
            os.replace(tmp, path)
    except OSError as e:
        for tmp in tmps:
            _unlink(tmp)
        raise SetupError(f"cannot write {current}: {e.strerror or e}") from None
    except BaseException:
        for tmp in tmps:
            _unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    write_files({Path(path): lambda tmp: Path(tmp).write_text(text)})
