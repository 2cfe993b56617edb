"""Mapping wire payloads to table rows (pure).

Each ``*_row`` function returns a tuple in the order of its ``*_COLUMNS`` constant, ready for
``copy_records_to_table``. JSON columns are passed as text (the staging tables cast them).

:func:`plain_rows` is the events writer's hot path: it maps a ``GameEvent`` or ``EventBatch``
payload straight to its rows without building the pydantic models, for payloads in the plain
shape our producers write, and returns None for anything else so that the caller validates it
fully (:func:`event_row_from_json` does the same for a single event).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import msgspec
import orjson

from common.contracts import Alert, AuditRecord, GameEvent, MetricSample
from persistence.remembering import remember
from persistence.sessions import Session


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # An integer beyond 64 bits: valid JSON that the contracts accept and jsonb stores
        # exactly, but orjson cannot write. Non-finite floats become null, as orjson writes them.
        return json.dumps(_finite(value), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "server",
    "type",
    "ts",
    "observed_at",
    "player",
    "message",
    "data",
    "raw",
    "file_id",
    "generation",
    "source_offset",
    "pattern",
    "flags",
)
"""Column order of :func:`event_row`."""


def event_row(event: GameEvent) -> tuple[Any, ...]:
    """The ``events`` row for one event, in :data:`EVENT_COLUMNS` order."""
    src = event.source
    # A synthesised event has no line; its row holds the position it is placed after.
    position = src or event.after
    ts = event.ts
    row = (
        event.id,
        event.server,
        event.type,
        None if ts is None else ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC),
        event.observed_at,
        event.player,
        event.message,
        _json(event.data),
        event.raw,
        src.file_id if src else None,
        position.generation if position else None,
        position.offset if position else None,
        event.pattern,
    )
    return (*row, list(event.flags)) if event.flags else row


EventRow = tuple[Any, ...]
"""An ``events`` row in :data:`EVENT_COLUMNS` order; without its last value, ``flags``, when the
event has none (the column's default, ``'{}'``, then applies: leaving the text[] value out
halves asyncpg's encoding work per row)."""

# Only the plain RFC 3339 forms are taken on the fast path, with every field in range so that
# datetime.fromisoformat and pydantic can only agree (fromisoformat alone would accept an
# offset minute of 60, for instance). Anything else goes through the model.
_DATETIME = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}")  # EVENT_TYPE_PATTERN, anchored by fullmatch
_MISSING: Final = object()


# The events of one parsed batch share their observed_at, and a burst's lines their second:
# most times repeat, so parsed ones are remembered (bounded: cleared when full), as given (for
# observed_at) and made aware (for ts: a zone-less ts, from a parser older than log_timezone,
# is taken as UTC). The same goes for the few event types.
_DATETIMES: dict[str, datetime | None] = {}
_AWARE_DATETIMES: dict[str, datetime | None] = {}
_TYPES: dict[str, bool] = {}
"""Event types known to be well formed (only those are remembered)."""


def _plain_datetime(value: str) -> datetime | None:
    known = _DATETIMES.get(value, _MISSING)
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    parsed: datetime | None = None
    if _DATETIME.fullmatch(value) is not None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:  # a day that does not exist in its month
            parsed = None
    return remember(_DATETIMES, value, parsed)


def _aware_datetime(value: str) -> datetime | None:
    known = _AWARE_DATETIMES.get(value, _MISSING)
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    parsed = _plain_datetime(value)
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return remember(_AWARE_DATETIMES, value, parsed)


def _is_new_event_type(value: str) -> bool:
    """Whether a type not in ``_TYPES`` is well formed (it is then remembered)."""
    return _EVENT_TYPE.fullmatch(value) is not None and remember(_TYPES, key=value, value=True)


_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""msgspec reads integers of any size; the fast path takes 64 bits, as orjson did."""


# gc=False: these hold only text, numbers and lists/dicts of text, so they cannot be part of a
# reference cycle; untracked, the hundreds a batch allocates do not trigger collections.
class _PlainSource(msgspec.Struct, gc=False):
    file_id: str
    generation: _Int64
    offset: _Int64


class _PlainEvent(msgspec.Struct, tag_field="kind", tag="event", gc=False):
    """The plain shape of a ``GameEvent`` payload; times stay text (checked like the model)."""

    id: str
    server: str
    type: str
    observed_at: str
    v: Literal[1] = 1
    ts: str | None = None
    player: str | None = None
    message: str | None = None
    data: dict[str, str] = {}
    raw: str = ""
    source: _PlainSource | None = None
    after: _PlainSource | None = None
    pattern: str | None = None
    channel: str | None = None
    flags: list[str] = []


class _PlainBatch(msgspec.Struct, tag_field="kind", tag="event_batch", gc=False):
    events: list[_PlainEvent]
    v: Literal[1] = 1


# A union makes ``kind`` required (a lone tagged struct would take a payload without it).
_decode_plain = msgspec.json.Decoder(_PlainEvent | _PlainBatch).decode


def _plain_row(event: _PlainEvent) -> EventRow | None:
    if event.type not in _TYPES and not _is_new_event_type(event.type):
        return None
    # Every time in the caches is a datetime (always true) or None (not plain).
    observed_at = _DATETIMES.get(event.observed_at) or _plain_datetime(event.observed_at)
    if observed_at is None:
        return None
    ts = event.ts
    if ts is not None:
        ts = _AWARE_DATETIMES.get(ts) or _aware_datetime(ts)
        if ts is None:
            return None
    source = event.source
    if source is not None:
        file_id, generation, offset = source.file_id, source.generation, source.offset
    else:  # synthesised: the position it is placed after, if any (see event_row)
        after = event.after
        file_id, generation, offset = (
            (None, None, None) if after is None else (None, after.generation, after.offset)
        )
    data = event.data
    row = (
        event.id, event.server, event.type, ts, observed_at, event.player, event.message,
        orjson.dumps(data).decode() if data else "{}", event.raw, file_id, generation, offset,
        event.pattern,
    )  # fmt: skip
    return (*row, event.flags) if event.flags else row


def event_row_from_json(data: bytes | str) -> EventRow | None:
    """The ``events`` row of a plain ``GameEvent`` payload, or None to validate it fully.

    Equal to ``event_row(decode_events_payload(data))`` whenever it returns a row (a contract
    test holds it to that). It returns None, and leaves the verdict to the model, for anything
    outside the shape our producers write: not an object, not ``kind: "event"``, a field of
    an unexpected JSON type, a time in another format, a ``data`` value that is not a string,
    a number that does not fit 64 bits, invalid JSON. Unknown fields are ignored, as the
    tolerant decoder does.

    Decoding and type checks run in msgspec (C); the event type and times are checked here,
    exactly as before msgspec (docs/performance.md: 3.6 -> 1.6 us per event).
    """
    try:
        event = _decode_plain(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return _plain_row(event) if type(event) is _PlainEvent else None


class _BatchEnvelope(msgspec.Struct, tag_field="kind", tag="event_batch", gc=False):
    events: list[msgspec.Raw]
    v: Literal[1] = 1


_decode_envelope = msgspec.json.Decoder(_BatchEnvelope | _PlainEvent).decode


def batch_members(data: bytes | str) -> list[bytes] | None:
    """The exact JSON of each event of an ``EventBatch`` payload; None if it is not one.

    For the slow path: each event is then judged on its own bytes (re-encoding a parsed
    value would change it: orjson reads integers beyond 64 bits as floats, for one).
    """
    try:
        envelope = _decode_envelope(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if type(envelope) is not _BatchEnvelope or not envelope.events:
        return None
    return [bytes(member) for member in envelope.events]


def plain_rows(data: bytes | str) -> EventRow | list[EventRow] | None:
    """The row of a plain ``GameEvent`` payload, or the rows of a plain ``EventBatch``; or None.

    Like :func:`event_row_from_json`, for both kinds in one decode. A batch gives rows only
    when every event is plain and all share one server and type (what the contract requires);
    otherwise None, and the caller judges the events one by one, so that one odd event is named
    and the others stored.
    """
    try:
        decoded = _decode_plain(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if type(decoded) is _PlainEvent:
        return _plain_row(decoded)
    events = decoded.events
    if not events:
        return None
    server, event_type = events[0].server, events[0].type
    rows = []
    for event in events:
        if event.server != server or event.type != event_type:
            return None
        row = _plain_row(event)
        if row is None:
            return None
        rows.append(row)
    return rows


ALERT_COLUMNS: tuple[str, ...] = (
    "id",
    "server",
    "type",
    "severity",
    "raised_at",
    "summary",
    "details",
)
"""Column order of :func:`alert_row`."""


def alert_row(alert: Alert) -> tuple[Any, ...]:
    """The ``alerts`` row for one alert."""
    return (
        alert.id,
        alert.server,
        str(alert.type),
        str(alert.severity),
        alert.raised_at,
        alert.summary,
        _json(alert.details),
    )


SAMPLE_COLUMNS: tuple[str, ...] = (
    "server",
    "sampled_at",
    "id",
    "player_count",
    "players_online",
    "ups",
    "ups_target",
    "is_paused",
    "rcon_up",
    "game_time_s",
    "tick",
    "evolution",
    "version",
)
"""Column order of :func:`sample_row`."""


def sample_row(sample: MetricSample) -> tuple[Any, ...]:
    """The ``metric_samples`` row for one sample."""
    return (
        sample.server,
        sample.sampled_at,
        sample.id,
        sample.player_count,
        list(sample.players_online),
        sample.ups,
        sample.ups_target,
        sample.is_paused,
        sample.rcon_up,
        sample.game_time_s,
        sample.tick,
        None if sample.evolution is None else _json(sample.evolution),
        sample.version,
    )


AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "guild_id",
    "channel_id",
    "server",
    "operation",
    "parameters",
    "result",
    "detail",
    "service",
    "requested_by",
    "request_id",
)
"""Column order of :func:`audit_row`."""


def audit_row(record: AuditRecord) -> tuple[Any, ...]:
    """The ``audit_log`` row for one record."""
    return (
        record.id,
        record.at,
        record.actor_id,
        record.actor_name,
        record.guild_id,
        record.channel_id,
        record.server,
        record.operation,
        _json(record.parameters),
        str(record.result),
        record.detail,
        record.service,
        record.requested_by,
        record.request_id,
    )


SESSION_COLUMNS: tuple[str, ...] = (
    "id",
    "server",
    "player",
    "joined_at",
    "left_at",
    "ended_by",
    "join_reconciled",
    "leave_event_id",
)
"""Column order of :func:`session_row`."""


def session_row(session: Session) -> tuple[Any, ...]:
    """The ``player_sessions`` row for one session."""
    return (
        session.id,
        session.server,
        session.player,
        session.joined_at,
        session.left_at,
        None if session.ended_by is None else str(session.ended_by),
        session.join_reconciled,
        session.leave_event_id,
    )
