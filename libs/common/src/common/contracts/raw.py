"""Raw console-log lines as the tailer publishes them on ``<prefix>.raw.<server>``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from common.contracts._base import WireModel


class RawLineBatch(WireModel):
    """Whole lines from one read of one server's console log, in file order.

    The batch's identity is ``<server>:<file_id>:<first offset>``; every line has its own
    byte offset, so each line (and every event made from it) has a stable id
    ``<server>:<file_id>:<offset>`` that survives redelivery and restarts.
    """

    v: Literal[1] = 1
    """Schema version."""
    server: str
    """Server tag from servers.yml."""
    file_id: str
    """Identity of the log file the lines came from (device, inode and creation stamp)."""
    generation: int = Field(ge=0)
    """Counts the files the tailer has followed for this server; orders lines across rotations."""
    offsets: tuple[int, ...]
    """Byte offset in the file where each line starts."""
    lines: tuple[str, ...]
    """The lines, without their line terminator; invalid UTF-8 replaced with U+FFFD."""
    truncated: tuple[int, ...] = ()
    """Indexes of lines cut at the tailer's maximum line length."""
    read_at: datetime
    """When the tailer read the batch (UTC)."""
    end: int | None = None
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
