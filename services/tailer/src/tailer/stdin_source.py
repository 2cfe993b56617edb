"""Reading the Factorio server's stdout piped into the tailer (``isr tailer --log -``).

For admins who run Factorio under their own supervisor and pipe its output to us. A pipe has no
file identity and cannot be re-read, so there is no checkpoint: each run gets a fresh file id
(``stdin-<start time>``), offsets count bytes since the tailer started, and lines written while
the tailer is down are lost — prefer ``--console-log`` files where that matters (documented).
End of input means the server exited: the tailer publishes what it has and stops.
"""

from __future__ import annotations

import asyncio
import time

from tailer.checkpoint import Checkpoint
from tailer.follower import READ_CHUNK_BYTES, Batch
from tailer.lines import LineSplitter


class StdinSource:
    """Whole lines from a byte stream, batched per read."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._splitter = LineSplitter(0)
        self.file_id = f"stdin-{time.time_ns():x}"
        self.at_eof = False

    async def read_batch(self) -> Batch | None:
        """Wait for the next chunk; return its whole lines (None at end of input or no line)."""
        chunk = await self._reader.read(READ_CHUNK_BYTES)
        if not chunk:
            self.at_eof = True
            lines = self._splitter.feed(b"\n") if self._splitter.has_partial else []
        else:
            lines = self._splitter.feed(chunk)
        if not lines:
            return None
        return Batch(
            self.file_id,
            0,
            lines,
            Checkpoint(dev=0, ino=0, generation=0, offset=self._splitter.committed_offset),
        )


async def open_stdin() -> asyncio.StreamReader:
    """An asyncio reader over this process's standard input."""
    import sys  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 * READ_CHUNK_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    return reader
