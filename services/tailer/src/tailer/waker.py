"""Waking the tailer when its log changes: inotify, with a slow poll as the safety net.

On Linux the log's directory is watched with inotify (asyncinotify), so an append, a rename,
a truncation or a new file wakes the tailer at once; the wait still times out every
``poll_interval_s`` so a missed notification (or a filesystem without inotify, such as some
network mounts) costs at most that long. Where inotify cannot be set up, :class:`PollWaker`
simply waits the poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Protocol

import structlog

log = structlog.get_logger()


class Waker(Protocol):
    """Something the tailer can wait on until the log may have changed."""

    async def wait(self, timeout_s: float) -> None:
        """Return when a change was noticed, or after ``timeout_s``."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class PollWaker:
    """No notifications: every wait lasts its timeout."""

    async def wait(self, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)  # polling is this waker's job, not synchronisation

    def close(self) -> None:
        pass


class InotifyWaker:
    """Wakes on any change in the log's directory."""

    def __init__(self, directory: Path) -> None:
        from asyncinotify import Inotify, Mask  # noqa: PLC0415 - Linux only

        self._inotify = Inotify()
        mask = (
            Mask.MODIFY
            | Mask.CREATE
            | Mask.MOVED_TO
            | Mask.MOVED_FROM
            | Mask.DELETE
            | Mask.ATTRIB
            | Mask.CLOSE_WRITE
        )
        self._inotify.add_watch(directory, mask)
        self._event = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        async for _event in self._inotify:
            self._event.set()

    async def wait(self, timeout_s: float) -> None:
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout_s)
        self._event.clear()

    def close(self) -> None:
        self._task.cancel()
        self._inotify.close()


def make_waker(path: Path, *, use_inotify: bool = True) -> Waker:
    """An inotify waker on ``path``'s directory when possible, else a poll waker."""
    if use_inotify:
        try:
            directory = path.parent
            directory.mkdir(parents=True, exist_ok=True)
            return InotifyWaker(directory)
        except (ImportError, OSError) as exc:
            log.warning("inotify_unavailable_polling", error=repr(exc))
    return PollWaker()
