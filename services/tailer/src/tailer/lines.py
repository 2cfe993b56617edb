"""Splitting bytes read from a log into whole lines (pure; no I/O).

A read may end in the middle of a line (the writer has not finished it). :class:`LineSplitter`
keeps that partial tail until its newline arrives, so a line is never published in two halves.
CRLF endings are accepted, invalid UTF-8 is replaced (never a crash), and a line longer than
``max_line_bytes`` is cut at that length and flagged; the rest of it up to the newline is
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE_BYTES = 16 * 1024
"""Default cut-off for one line; Factorio lines are far shorter, a binary file is not."""


@dataclass(frozen=True, slots=True)
class Line:
    """One whole line and where it started in the file."""

    offset: int
    text: str
    truncated: bool = False


class LineSplitter:
    """Turns a stream of byte chunks (with their file offsets) into whole lines."""

    def __init__(self, start_offset: int = 0, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending = b""
        self._next_offset = start_offset  # file offset of the next byte to be fed
        self._skipping = False  # inside the remainder of an over-long line
        self._max = max_line_bytes

    @property
    def committed_offset(self) -> int:
        """Offset up to which every byte belongs to a line already returned (or skipped)."""
        return self._next_offset - len(self._pending)

    @property
    def has_partial(self) -> bool:
        """True while an unfinished line is held back."""
        return bool(self._pending)

    def feed(self, chunk: bytes) -> list[Line]:
        """Add bytes that follow what was fed before; return the lines they complete."""
        data = self._pending + chunk if self._pending else chunk
        base = self._next_offset - len(self._pending)
        self._next_offset += len(chunk)
        out: list[Line] = []
        start = 0
        while (nl := data.find(b"\n", start)) >= 0:
            if self._skipping:
                self._skipping = False
            else:
                out.append(self._make(base + start, data[start:nl]))
            start = nl + 1
        rest = data[start:]
        if self._skipping:
            rest = b""
        elif len(rest) > self._max:
            out.append(self._make(base + start, rest[: self._max], truncated=True))
            self._skipping = True
            rest = b""
        self._pending = rest
        return out

    def _make(self, offset: int, raw: bytes, *, truncated: bool = False) -> Line:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > self._max:
            raw, truncated = raw[: self._max], True
        return Line(offset, raw.decode("utf-8", "replace"), truncated)
