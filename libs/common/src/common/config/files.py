"""Read a configuration or secret file safely: regular files only, never more than a limit.

``Path.read_bytes()`` trusts the file: ``/dev/zero`` never ends (MemoryError), a FIFO blocks
until someone writes to it, and a 10 GB log mistaken for a secret is read whole. Here the path
is ``stat``-ed first (a symlink is followed: Kubernetes mounts secrets as symlinks to regular
files), opened with ``O_NONBLOCK`` so that a FIFO swapped in after the check cannot block, and
``fstat``-ed again so what was opened is what was checked; then at most ``max_bytes + 1`` bytes
are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC


class FileReadError(Exception):
    """The file cannot be used; :attr:`reason` says why in words fit for a config issue."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def read_regular_file(path: Path, *, max_bytes: int) -> bytes:
    """The content of the regular file ``path`` (symlinks followed), at most ``max_bytes``.

    Raises:
        FileNotFoundError: nothing is at ``path`` (callers word this one themselves).
        FileReadError: not a regular file, larger than ``max_bytes``, or unreadable.
    """
    try:
        _check_kind(path.stat().st_mode)
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileReadError(f"cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        _check_kind(info.st_mode)
        if info.st_size > max_bytes:
            raise FileReadError(_too_large(max_bytes, info.st_size))
        # Never trust st_size alone (procfs reports 0, a file may grow): read one byte more.
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise FileReadError(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise FileReadError(_too_large(max_bytes, None))
    return data


def _check_kind(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    for test, kind in _KINDS:
        if test(mode):
            raise FileReadError(f"is {kind}, not a regular file")
    raise FileReadError("is not a regular file")


def _too_large(max_bytes: int, size: int | None) -> str:
    found = f" ({size:,} bytes)" if size is not None else ""
    return f"is larger than the limit of {max_bytes:,} bytes{found}"
