"""Writing a console log the way a game server does: appended in small chunks over time.

A fault test injects its fault while lines are still being written, so the writer runs as a
task beside the test and says how far it got. The path is opened again for every chunk, so a
rotation (rename, copy-truncate) between chunks sends the next lines to the new file, as a
server started again after rotation would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from isr_testing.waiting import wait_for


class LogWriter:
    """Appends lines to ``path`` in chunks of ``chunk`` lines, ``pause_s`` apart."""

    def __init__(self, path: Path, *, chunk: int = 25, pause_s: float = 0.01) -> None:
        self.path = path
        self.chunk = chunk
        self.pause_s = pause_s
        self.written = 0
        """Lines written so far by :meth:`write` and :meth:`start`."""
        self._task: asyncio.Task[None] | None = None

    def append(self, lines: Sequence[str]) -> None:
        """Append ``lines`` at once (for the parts written while nothing is being faulted)."""
        with self.path.open("a", encoding="utf-8") as log:
            log.writelines(line + "\n" for line in lines)
        self.written += len(lines)

    async def write(self, lines: Sequence[str]) -> None:
        """Append ``lines`` chunk by chunk, pausing between chunks (the pause paces, no more)."""
        for at in range(0, len(lines), self.chunk):
            self.append(lines[at : at + self.chunk])
            await asyncio.sleep(self.pause_s)

    def start(self, lines: Sequence[str]) -> None:
        """Write ``lines`` in the background; :meth:`reached` and :meth:`finished` wait on it."""
        assert self._task is None or self._task.done(), "a burst is already being written"
        self._task = asyncio.create_task(self.write(lines))

    async def reached(self, lines: int, *, timeout_s: float = 30.0) -> None:
        """Wait until at least ``lines`` lines have been written in all."""
        await wait_for(
            lambda: self.written >= lines, timeout_s=timeout_s, what=f"{lines} lines written"
        )

    async def finished(self) -> None:
        """Wait for the background burst to be written completely."""
        if self._task is not None:
            await self._task

    async def cancel(self) -> None:
        """Stop a background burst (at teardown of a failed test)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
