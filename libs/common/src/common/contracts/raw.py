"""Raw console-log lines as the tailer publishes them on ``<prefix>.raw.<server>``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from common.contracts._base import WireModel

SERVER_TAG_WIRE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""A server tag on the wire: it becomes a NATS subject token (``isr.events.<server>.chat``), so
no dots, wildcards or spaces; servers.yml's tags are a stricter subset."""
INT64_MAX = 2**63 - 1
"""Offsets and generations are stored as Postgres ``bigint`` and encoded by orjson: 64 bits."""

Position = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A byte offset or a generation: non-negative and within 64 bits."""


class RawLineBatch(WireModel):
    """Whole lines from one read of one server's console log, in file order.

    The batch's identity is ``<server>:<file_id>:<first offset>``; every line has its own
    byte offset, so each line (and every event made from it) has a stable id
    ``<server>:<file_id>:<offset>`` that survives redelivery and restarts.
    """

    v: Literal[1] = 1
    """Schema version."""
    server: str = Field(pattern=SERVER_TAG_WIRE_PATTERN)
    """Server tag from servers.yml (a NATS subject token)."""
    file_id: str
    """Identity of the log file the lines came from (device, inode and creation stamp)."""
    generation: Position
    """Counts the files the tailer has followed for this server; orders lines across rotations."""
    offsets: tuple[Position, ...]
    """Byte offset in the file where each line starts."""
    lines: tuple[str, ...]
    """The lines, without their line terminator; invalid UTF-8 replaced with U+FFFD."""
    truncated: tuple[Annotated[int, Field(ge=0)], ...] = ()
    """Indexes of lines cut at the tailer's maximum line length."""
    read_at: datetime
    """When the tailer read the batch (UTC)."""
    end: Position | None = None
    """Byte offset just after the last line's terminator: where the next batch starts. A
    restarted tailer resumes here when this batch is newer than its checkpoint."""

    @model_validator(mode="after")
    def _offsets_match_lines(self) -> RawLineBatch:
        if len(self.offsets) != len(self.lines):
            msg = f"{len(self.offsets)} offsets for {len(self.lines)} lines"
            raise ValueError(msg)
        if not self.lines:
            msg = "a batch holds at least one line"
            raise ValueError(msg)
        return self

    @property
    def batch_id(self) -> str:
        """The de-duplication id of the batch (its first line's id)."""
        return line_id(self.server, self.file_id, self.offsets[0])


def line_id(server: str, file_id: str, offset: int) -> str:
    """The stable id of one console-log line: ``<server>:<file_id>:<offset>``."""
    return f"{server}:{file_id}:{offset}"
