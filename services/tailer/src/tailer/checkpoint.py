"""The tailer's checkpoint: which file it follows and how far it has published.

Kept in the ``<prefix>_offsets`` KV bucket under the server tag and written only after the
batch up to ``offset`` was acknowledged by JetStream. The checkpoint may lag what the stream
holds (a SIGKILL between a batch's acknowledgement and its checkpoint write, with several
batches in flight), so at start the tailer also reads the last raw batch of its server from the
stream and resumes after it when it is further along in the same file (:func:`resume_from`):
no line is published twice, so no event is either — which matters because the parser publishes
the events of a raw batch as batches whose ids depend on the raw batch's boundaries.
"""

from __future__ import annotations

import asyncio
from typing import Literal, Protocol

import nats.errors
import structlog
from pydantic import BaseModel, ConfigDict

from common.backoff import Backoff, sleep_until_stop
from common.contracts import RawLineBatch
from tailer.fingerprint import Fingerprint

log = structlog.get_logger()


class Checkpoint(BaseModel):
    """Position of a server's tailer."""

    model_config = ConfigDict(frozen=True)

    v: Literal[1] = 1
    dev: int
    """Device of the followed file."""
    ino: int
    """Inode of the followed file."""
    generation: int
    """How many files the tailer has followed for this server (starts at 0)."""
    offset: int
    """Every byte before this offset has been published."""
    fingerprint: Fingerprint | None = None
    """The content just before ``offset`` (at ``fingerprint.end``, which :func:`resume_from`
    may leave behind ``offset``), so a file whose content was replaced under the same inode
    is recognised. None in checkpoints written before fingerprints (they resume unchecked)."""

    @property
    def file_id(self) -> str:
        """Identity of the file as it appears in line ids."""
        return file_id(self.dev, self.ino, self.generation)


def file_id(dev: int, ino: int, generation: int) -> str:
    """``<dev>-<inode>-g<generation>``: unique even when a deleted file's inode is reused."""
    return f"{dev:x}-{ino:x}-g{generation}"


class CheckpointStore(Protocol):
    """Where checkpoints live (a NATS KV bucket in production)."""

    async def load(self, server: str) -> Checkpoint | None:
        """The last checkpoint, or None on first start."""
        ...

    async def save(self, server: str, checkpoint: Checkpoint) -> None:
        """Persist a checkpoint (after the lines before it were acknowledged)."""
        ...


class KvCheckpointStore:
    """Checkpoints in a JetStream KV bucket.

    :meth:`save` rides out a NATS outage of any length: a write that times out or is refused
    (disconnected, JetStream not ready yet after a restart) is retried with backoff until it
    is stored, or until ``stop`` is set — then the write is given up, which loses nothing: the
    batches before it were acknowledged, and the next start resumes after the last of them
    (:func:`resume_from`).
    """

    def __init__(self, kv: object, stop: asyncio.Event) -> None:
        self._kv = kv
        self._stop = stop

    async def load(self, server: str) -> Checkpoint | None:
        from nats.js.errors import KeyNotFoundError  # noqa: PLC0415

        try:
            entry = await self._kv.get(server)  # type: ignore[attr-defined]
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        return Checkpoint.model_validate_json(entry.value)

    async def save(self, server: str, checkpoint: Checkpoint) -> None:
        value = checkpoint.model_dump_json().encode()
        # At most a second apart: the bucket's leader on a JetStream cluster is re-elected in
        # seconds, and the tailer publishes nothing new until this write is stored.
        backoff = Backoff(initial_s=0.1, max_s=1.0)
        while True:
            try:
                await self._kv.put(server, value)  # type: ignore[attr-defined]
            except (TimeoutError, OSError, nats.errors.Error) as exc:
                delay_s = backoff.next_delay_s()
                log.warning(
                    "tailer_checkpoint_write_failed",
                    error=type(exc).__name__,
                    retry_in_s=round(delay_s, 2),
                    attempt=backoff.failures,
                )
                if await sleep_until_stop(self._stop, delay_s):
                    log.info("tailer_checkpoint_write_given_up", offset=checkpoint.offset)
                    return
            else:
                if backoff.failures:
                    log.info("tailer_checkpoint_written", attempts=backoff.failures + 1)
                return


def resume_from(
    checkpoint: Checkpoint | None, last_published: RawLineBatch | None
) -> Checkpoint | None:
    """The checkpoint moved to the end of the last published batch, when that is further along.

    Only for the same file (same ``file_id``, so same device, inode and generation) and a batch
    that records its ``end``; anything else (no checkpoint, another file after a rotation, an
    older tailer's batch) leaves the checkpoint as it was.
    """
    if checkpoint is None or last_published is None or last_published.end is None:
        return checkpoint
    if last_published.file_id != checkpoint.file_id or last_published.end <= checkpoint.offset:
        return checkpoint
    return checkpoint.model_copy(update={"offset": last_published.end})
