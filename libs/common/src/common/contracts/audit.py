"""Audit records of privileged actions, published by the bot on ``<prefix>.audit.<server>``.

The bot publishes one :class:`AuditRecord` for every privileged action taken from Discord
(kick, ban, promote, raw RCON, ...), whatever its outcome, including refusals. Persistence
stores each once in the ``audit_log`` table (the id is the primary key, so a re-published record
changes nothing).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from common.contracts._base import WireModel

SNOWFLAKE_MAX = 2**63 - 1
"""Discord ids are unsigned 64-bit numbers that fit in Postgres ``bigint`` (< 2**63)."""


class AuditResult(enum.StrEnum):
    """How a privileged action ended."""

    OK = "ok"
    """Carried out; the game (or the service) accepted it."""
    DENIED = "denied"
    """Refused before anything was sent: no permission, cooldown, guild not allowed."""
    REJECTED = "rejected"
    """Refused as invalid: bad argument, unknown player, Factorio's own error text."""
    FAILED = "failed"
    """Could not be carried out: RCON down, timeout, internal error."""


class AuditRecord(WireModel):
    """One privileged action taken from Discord: who, where, what, with what, and how it ended."""

    v: Literal[1] = 1
    """Schema version."""
    id: str = Field(min_length=1, max_length=200)
    """Stable id of the action, e.g. ``discord:<interaction id>``; unique per action."""
    at: datetime
    """When the action was requested (UTC)."""
    actor_id: int = Field(ge=0, le=SNOWFLAKE_MAX)
    """Discord user id of who asked."""
    actor_name: str = Field(max_length=200)
    """That user's name as shown at the time (display name or username)."""
    guild_id: int | None = Field(default=None, ge=0, le=SNOWFLAKE_MAX)
    """Discord guild the command came from (None outside a guild)."""
    channel_id: int | None = Field(default=None, ge=0, le=SNOWFLAKE_MAX)
    """Discord channel the command came from."""
    server: str = Field(min_length=1, max_length=64)
    """Server tag the action targeted (``_system`` for actions on the pipeline itself)."""
    operation: str = Field(min_length=1, max_length=64)
    """What was done: the allow-listed operation name, e.g. ``kick`` or ``rcon_raw``."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The validated parameters of the operation (player, reason, ...); never secrets."""
    result: AuditResult
    """How it ended."""
    detail: str | None = Field(default=None, max_length=2000)
    """Short explanation: the error text, the denial reason, or a summary of the reply."""
