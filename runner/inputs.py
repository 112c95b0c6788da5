"""Reading a file the user names (expectations, renames, results.json, a kernel image): never a hang, never
the machine's memory.

A FIFO is opened without waiting for a writer (open(2) of a FIFO for reading blocks until one comes): one that
has a writer, as a shell's <(...) has, is read to its end; one that has none reads as empty. A device that
never ends (/dev/zero, /dev/urandom) or a file larger than MAX_BYTES is refused, said as the OSError EFBIG.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_BYTES = 256 << 20  # far above any expectations file or results.json of a run


def read_bytes(path: str | os.PathLike, limit: int = MAX_BYTES) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB: not a file the suite reads",
                              str(path))
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike, limit: int = MAX_BYTES) -> str:
    """read_bytes as UTF-8 (UnicodeDecodeError for anything else)."""
    return read_bytes(path, limit).decode("utf-8")


def is_regular(path: str | os.PathLike) -> bool:
    """Whether `path` is a regular file, found without opening it (no wait on a FIFO)."""
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except OSError:
        return False
