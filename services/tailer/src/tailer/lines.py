r"""Splitting bytes read from a log into whole lines (pure; no I/O).

A read may end in the middle of a line (the writer has not finished it). :class:`LineSplitter`
keeps that partial tail until its line end arrives, so a line is never published in two halves.

Line ends are ``\n``, ``\r\n`` and a lone ``\r`` (a log written on Windows or edited on a
Mac). A ``\r`` that is the last byte read so far is held back with its line until the next
byte shows whether a ``\n`` follows, so a ``\r\n`` split across two reads is one line end,
never a line and an empty line. (A file whose very last byte is a lone ``\r`` therefore keeps
its last line back until more is written, or until :meth:`LineSplitter.finish` says the file
is complete.) Invalid UTF-8 is replaced (never a crash), and a line longer than
``max_line_bytes`` is cut at that length and flagged; the rest of it up to its line end is
skipped.

Every line's offset is the exact byte offset of its first byte in the file: offsets are part
of the event ids, so the same bytes always give the same offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE_BYTES = 16 * 1024
"""Default cut-off for one line; Factorio lines are far shorter, a binary file is not."""

TAIL_BYTES = 1024
"""How many of the last committed bytes :attr:`LineSplitter.committed_tail` keeps (the window
the tailer fingerprints to recognise its file's content; see ``tailer.fingerprint``)."""

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Line:
    """One whole line and where it started in the file."""

    offset: int
    text: str
    truncated: bool = False


class LineSplitter:
    """Turns a stream of byte chunks (with their file offsets) into whole lines."""

    def __init__(
        self,
        start_offset: int = 0,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        committed_tail: bytes = b"",
    ) -> None:
        self._pending = b""
        self._next_offset = start_offset  # file offset of the next byte to be fed
        self._skipping = False  # inside the remainder of an over-long line
        self._max = max_line_bytes
        self._tail = committed_tail[-TAIL_BYTES:]

    @property
    def committed_offset(self) -> int:
        """Offset up to which every byte belongs to a line already returned (or skipped)."""
        return self._next_offset - len(self._pending)

    @property
    def committed_tail(self) -> bytes:
        """The last (up to :data:`TAIL_BYTES`) bytes before :attr:`committed_offset`.

        Starts as the ``committed_tail`` given to the constructor (the bytes before
        ``start_offset``, when the caller read them).
        """
        return self._tail

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
        for end in _LINE_END.finditer(data):
            if end.end() == len(data) and end.group() == b"\r":
                break  # a CR as the last byte so far: its LF may come with the next read
            if self._skipping:
                self._skipping = False
            else:
                out.append(self._make(base + start, data[start : end.start()]))
            start = end.end()
        rest = data[start:]
        held_cr = rest.endswith(b"\r")
        if not self._skipping and len(rest) - held_cr > self._max:
            out.append(self._make(base + start, rest[: self._max], truncated=True))
            self._skipping = True
        if self._skipping:
            # The remainder of an over-long line is dropped, except a final CR that may be the
            # first half of the CRLF ending it.
            rest = b"\r" if held_cr else b""
        self._pending = rest
        consumed = len(data) - len(rest)
        if consumed:
            self._tail = (self._tail + data[max(0, consumed - TAIL_BYTES) : consumed])[-TAIL_BYTES:]
        return out

    def finish(self) -> list[Line]:
        """The file is complete: a held-back line that ends in a lone CR is a whole line.

        Any other partial line stays held back (a writer may still be in the middle of it).
        """
        if not self._pending.endswith(b"\r"):
            return []
        pending, self._pending = self._pending, b""
        offset = self._next_offset - len(pending)
        self._tail = (self._tail + pending)[-TAIL_BYTES:]
        if self._skipping:
            self._skipping = False
            return []
        return [self._make(offset, pending[:-1])]

    def _make(self, offset: int, raw: bytes, *, truncated: bool = False) -> Line:
        if len(raw) > self._max:
            raw, truncated = raw[: self._max], True
        return Line(offset, raw.decode("utf-8", "replace"), truncated)
