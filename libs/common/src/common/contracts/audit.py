"""Audit records of privileged actions, on ``<prefix>.audit.<server>``.

Two services write them, and persistence stores each once in the ``audit_log`` table (the id
is the primary key, so a re-published record changes nothing):

- the **bot**, one record for every privileged action taken from Discord (kick, ban, promote,
  raw RCON, ...), whatever its outcome, including refusals that never reached the poller: who
  in Discord (``actor_id``, ``actor_name``, guild, channel), what, and how it ended. Its id is
  ``discord:<interaction id>``.
- the **rcon-poller**, one record for every operation it carries out that changes the game
  (:func:`common.contracts.rcon.is_audited`), whoever asked: ``service`` is the caller's NATS
  identity taken from the request's subject (``<prefix>.rcon.<server>.<caller>``, which the
  authorisation config does not let a service forge), ``requested_by`` is the user that
  service names in its request (its claim, e.g. ``discord:<user id>``), and ``request_id``
  links it to the bot's record of the same action. Its id is ``rcon:<server>:<uuid>``.

``service`` is only ever set by the poller, from the subject; nothing in a request's payload
reaches it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from common.contracts._base import WireModel
from common.contracts.rcon import RconErrorCode, RconReply

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
    """One privileged action: who, where, what, with what, and how it ended."""

    v: Literal[1] = 1
    """Schema version."""
    id: str = Field(min_length=1, max_length=200)
    """Stable id of the action, e.g. ``discord:<interaction id>``; unique per action."""
    at: datetime
    """When the action was requested (UTC)."""
    actor_id: int | None = Field(default=None, ge=0, le=SNOWFLAKE_MAX)
    """Discord user id of who asked (None in the poller's records: it has only
    ``requested_by``, the calling service's word for it)."""
    actor_name: str | None = Field(default=None, max_length=200)
    """That user's name as shown at the time (display name or username; None from the
    poller)."""
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
    requested_by: str | None = Field(default=None, max_length=100)
    """Who the calling service says asked, e.g. ``discord:<user id>`` (the request's
    ``requested_by``; a claim of that service about its user)."""
    service: str | None = Field(default=None, max_length=64)
    """NATS identity of the service that requested the operation (``bot``, ``web``), as the
    poller read it from the request's subject; None in the bot's own records."""
    request_id: str | None = Field(default=None, max_length=100)
    """The request's ``request_id`` (the bot sends its record's id, linking the two)."""


_FAILED_CODES = frozenset(
    {RconErrorCode.RCON_UNAVAILABLE, RconErrorCode.TIMEOUT, RconErrorCode.INTERNAL}
)


def result_of(reply: RconReply) -> AuditResult:
    """How an RCON operation ended, from its reply.

    ``failed``: it could not be carried out (RCON down, timeout, poller bug); ``rejected``: it
    was refused (bad argument, unknown player or caller, Factorio's own error text).
    """
    if reply.ok:
        return AuditResult.OK
    assert reply.error is not None
    return AuditResult.FAILED if reply.error.code in _FAILED_CODES else AuditResult.REJECTED
