"""Recognising a log file by its content, not only by its inode.

An inode says which file the path names, not what the file holds: ``cp console.log
console.log.1 && : > console.log`` (copy-truncate) keeps the inode and replaces the content,
and if the server writes more than the checkpoint offset before the tailer looks again (it was
stopped, or blocked by a NATS outage), a size check cannot notice. So each checkpoint also
records a :class:`Fingerprint`: the SHA-256 of the (up to) ``TAIL_BYTES`` bytes just before
its offset. The file still holds what the checkpoint describes exactly when those bytes are
still there; a rotated copy of it is a file that holds them at the same place.
"""

from __future__ import annotations

import hashlib
import os

from pydantic import BaseModel, ConfigDict


class Fingerprint(BaseModel):
    """The hash of the ``length`` bytes of a file that end at ``end``."""

    model_config = ConfigDict(frozen=True)

    end: int
    """Offset just past the window (the checkpoint offset when the window was taken)."""
    length: int
    """Bytes in the window: ``TAIL_BYTES``, fewer near the file's start."""
    sha256: str
    """Hex SHA-256 of the window."""

    @classmethod
    def of(cls, window: bytes, *, end: int) -> Fingerprint:
        """The fingerprint of ``window``, the bytes of a file that end at offset ``end``."""
        return cls(end=end, length=len(window), sha256=hashlib.sha256(window).hexdigest())

    def matches(self, fd: int) -> bool:
        """True when the open file ``fd`` holds the fingerprinted bytes at the same place."""
        return self.matches_window(read_window(fd, end=self.end, length=self.length))

    def matches_window(self, window: bytes) -> bool:
        """True when ``window`` is the fingerprinted bytes."""
        return len(window) == self.length and hashlib.sha256(window).hexdigest() == self.sha256


def read_window(fd: int, *, end: int, length: int) -> bytes:
    """Up to ``length`` bytes of ``fd`` ending at ``end`` (fewer when the file is shorter)."""
    start = max(0, end - length)
    return os.pread(fd, end - start, start)
