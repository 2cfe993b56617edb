"""Typed game events published on ``<prefix>.events.<server>.<type>``."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Self

import orjson
from pydantic import Field, model_validator

from common.contracts._base import WireModel


class EventType(enum.StrEnum):
    """Event types the shipped patterns and services produce.

    Pattern files may declare other types (lower-case word characters); these are the ones the
    bot and persistence know how to present and derive sessions from.
    """

    JOIN = "join"
    LEAVE = "leave"
    CHAT = "chat"
    SHOUT = "shout"
    WHISPER = "whisper"
    COMMAND = "command"
    KICK = "kick"
    BAN = "ban"
    UNBAN = "unban"
    PROMOTE = "promote"
    DEMOTE = "demote"
    SERVER = "server"
    DEATH = "death"
    RESEARCH = "research"
    ROCKET = "rocket"
    ACHIEVEMENT = "achievement"
    ALERT = "alert"


EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
"""What a pattern's event type may look like (it becomes a NATS subject token)."""


class SourcePosition(WireModel):
    """Where in the console log an event came from; sorts events exactly."""

    file_id: str
    """Identity of the log file."""
    generation: int
    """Tailer's file counter for the server (orders rotations)."""
    offset: int
    """Byte offset of the line in the file."""

    def sort_key(self) -> tuple[int, int]:
        """Key that orders events of one server in log order."""
        return (self.generation, self.offset)


class GameEvent(WireModel):
    """One thing that happened on a server, parsed from a console-log line (or reconciled)."""

    v: Literal[1] = 1
    """Schema version."""
    kind: Literal["event"] = "event"
    """Discriminates events from alerts on the events stream."""
    id: str
    """Stable id: ``<server>:<file_id>:<offset>`` for a log line; unique per event."""
    server: str
    """Server tag."""
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    """Event type, e.g. ``join``; see :class:`EventType`."""
    ts: datetime | None = None
    """The line's date prefix as an instant (aware, UTC): the log writes local time without a
    zone, and the parser reads it in the server's ``log_timezone`` (servers.yml). None for a
    line without a date (engine lines count seconds since start) and synthesised events."""
    observed_at: datetime
    """When the pipeline read the line (UTC): the tailer's read time of its raw batch, so the
    same line always gets the same value; for a synthesised event, when it was made."""
    player: str | None = None
    """Player the event is about, when there is one."""
    message: str | None = None
    """Free text (a chat message, a kick reason...)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Further named fields the pattern captured."""
    raw: str = ""
    """The log line as read."""
    source: SourcePosition | None = None
    """Position in the log; absent for synthesised events."""
    after: SourcePosition | None = None
    """For a synthesised event (``reconciled``): the log position it was decided against (the
    latest logged join/leave/start/stop its producer had seen). Session derivation places it
    right after that line; absent for logged events (docs/persistence.md, "Sessions")."""
    pattern: str | None = None
    """Name of the pattern that matched."""
    channel: str | None = None
    """Routing hint from the pattern (a channel key in servers.yml)."""
    flags: tuple[str, ...] = ()
    """Markers such as ``bridged`` (our own Discord chat echo) or ``reconciled``."""


EVENT_BATCH_KIND = "event_batch"
"""``kind`` of an :class:`EventBatch` on the wire."""


class EventBatch(WireModel):
    """Several events of one server and one type in one message, in log order.

    The parser publishes the events one raw line batch makes as one message per event type
    (docs/architecture.md, "Event batches"): a burst then costs one JetStream message per type,
    not one per line, which is what lets persistence store 100,000 events/s. The message goes
    to the subject of its events (``<prefix>.events.<server>.<type>``), so a subscriber that
    filters by type still gets exactly the types it asked for. Each event keeps its own id;
    the batch's message id is :func:`event_batch_id`.
    """

    v: Literal[1] = 1
    """Schema version."""
    kind: Literal["event_batch"] = "event_batch"
    """Discriminates batches from single events and alerts on the events stream."""
    events: tuple[GameEvent, ...] = Field(min_length=1)
    """The events, in log order; all of one server and one type."""

    @model_validator(mode="after")
    def _one_server_one_type(self) -> Self:
        first = self.events[0]
        for event in self.events[1:]:
            if event.server != first.server or event.type != first.type:
                msg = (
                    f"event {event.id!r} is {event.server}/{event.type}, but the batch is "
                    f"{first.server}/{first.type}: a batch holds one server's events of one type"
                )
                raise ValueError(msg)
        return self

    @property
    def id(self) -> str:
        """The batch's message id (:func:`event_batch_id`)."""
        return event_batch_id(self.events[0].id, self.events[-1].id, len(self.events))


def event_batch_id(first_id: str, last_id: str, count: int) -> str:
    """The ``Nats-Msg-Id`` of a batch: its first and last event ids and its size.

    Stable for the same events (a raw batch parsed again after a crash gives the same batches,
    which JetStream then drops as duplicates) and never equal to a single event's id.
    """
    return f"{first_id}..{last_id}#{count}"


def encode_event_batch(payloads: Sequence[bytes]) -> bytes:
    """The JSON of an :class:`EventBatch` of already encoded :class:`GameEvent` payloads.

    The events' bytes are spliced in as they are (no decode, no re-encode: the parser's hot
    path). The caller guarantees one server, one type, and at least one event; a contract test
    checks that the result decodes strictly to the equal batch.
    """
    return b'{"v":1,"kind":"event_batch","events":[' + b",".join(payloads) + b"]}"


def encode_game_event(  # noqa: PLR0917 - positional on the parser's hot path
    id: str,  # noqa: A002 - the field's name on the wire
    server: str,
    type: str,  # noqa: A002
    ts: datetime | None,
    observed_at: datetime,
    player: str | None,
    message: str | None,
    data: dict[str, Any],
    raw: str,
    source: tuple[str, int, int] | None,
    pattern: str | None,
    channel: str | None,
    flags: tuple[str, ...],
) -> bytes:
    """The JSON of the :class:`GameEvent` with these fields, without building the model.

    The parser's hot path: building and validating a pydantic model per event cost more than
    matching the line. Values come from our own pattern engine; a contract test checks that
    the bytes decode strictly to the equal :class:`GameEvent`. ``source`` is
    ``(file_id, generation, offset)``.
    """
    return orjson.dumps(
        {
            "v": 1,
            "kind": "event",
            "id": id,
            "server": server,
            "type": type,
            "ts": ts,
            "observed_at": observed_at,
            "player": player,
            "message": message,
            "data": data,
            "raw": raw,
            "source": None
            if source is None
            else {"file_id": source[0], "generation": source[1], "offset": source[2]},
            "pattern": pattern,
            "channel": channel,
            "flags": flags,
        }
    )
