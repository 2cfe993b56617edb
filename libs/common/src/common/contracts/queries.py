"""The history query API served by persistence on ``<prefix>.query.<name>.<caller>``.

Every query has a request model and a reply model, both frozen and versioned (``"v": 1``).
A client sends the request's JSON to :meth:`common.topology.Topology.query_subject` of the
query's :class:`QueryName` and its own NATS identity (a :class:`common.vocabulary.Caller`: the
subject's last token, which persistence logs and the authorisation config lets no service
forge; any other caller is answered ``unknown_caller``) and decodes the answer with
:func:`decode_query_reply`, which returns either the reply model or a :class:`QueryError`
(``"status": "error"``); error replies also carry the ``Nats-Service-Error-Code`` /
``Nats-Service-Error`` headers, as ``nats.micro`` does.

Times are timezone-aware UTC. Ranges are half-open ``[start, end)``. Lists come newest first
unless said otherwise; charts come oldest first.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import AfterValidator, AwareDatetime, Field, ValidationError, model_validator

from common.contracts._base import WireModel, decode_json
from common.contracts.alerts import AlertType, Severity

MAX_LIMIT = 500
"""Largest ``limit`` any list query accepts."""


def _storable_text(value: str) -> str:
    """Refuse what Postgres ``text`` cannot hold: NUL, and lone surrogates (not UTF-8).

    Every string of a request ends up as a query parameter; without this check such a value
    reached asyncpg and the caller got ``internal`` instead of ``bad_request``.
    """
    if "\x00" in value:
        msg = "must not contain the NUL character (U+0000)"
        raise ValueError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = f"must be valid Unicode text (a lone surrogate at position {exc.start})"
        raise ValueError(msg) from None
    return value


PgText = Annotated[str, AfterValidator(_storable_text)]
"""A request string that Postgres ``text`` can hold (every string field of a request)."""


class QueryName(enum.StrEnum):
    """Every query persistence answers; the third token of its subject."""

    METRIC_HISTORY = "metric_history"
    """UPS and player count of one server over a range (:class:`MetricHistoryRequest`)."""
    PLAYTIME = "playtime"
    """Total playtime of one player (:class:`PlaytimeRequest`)."""
    LEADERBOARD = "leaderboard"
    """Players of one server ranked by playtime (:class:`LeaderboardRequest`)."""
    LAST_SEEN = "last_seen"
    """When and where a player was last seen (:class:`LastSeenRequest`)."""
    RECENT_EVENTS = "recent_events"
    """Latest events, filtered by server, type and player (:class:`RecentEventsRequest`)."""
    ALERT_HISTORY = "alert_history"
    """Alerts raised, filtered by server, type and range (:class:`AlertHistoryRequest`)."""


class QueryErrorCode(enum.StrEnum):
    """Why a query was not answered."""

    BAD_REQUEST = "bad_request"
    """The request does not fit its model (the message says which field and why)."""
    UNKNOWN_QUERY = "unknown_query"
    """No query of that name exists."""
    UNKNOWN_CALLER = "unknown_caller"
    """The subject's caller token is not a known :class:`~common.vocabulary.Caller`."""
    UNAVAILABLE = "unavailable"
    """The database cannot be reached right now; try again later."""
    TIMEOUT = "timeout"
    """The query took longer than the service allows."""
    INTERNAL = "internal"
    """A bug in persistence; it is logged there."""


_HTTP_LIKE_CODES = {
    QueryErrorCode.BAD_REQUEST: 400,
    QueryErrorCode.UNKNOWN_QUERY: 404,
    QueryErrorCode.UNKNOWN_CALLER: 403,
    QueryErrorCode.UNAVAILABLE: 503,
    QueryErrorCode.TIMEOUT: 504,
    QueryErrorCode.INTERNAL: 500,
}


class QueryError(WireModel):
    """The answer to a query that could not be served."""

    v: Literal[1] = 1
    """Schema version."""
    status: Literal["error"] = "error"
    """Distinguishes an error from a reply."""
    code: QueryErrorCode
    """What kind of failure."""
    message: str
    """What was wrong, for people (names the field for a bad request)."""

    @property
    def http_like_code(self) -> int:
        """The number sent in the ``Nats-Service-Error-Code`` header (400, 404, 503, ...)."""
        return _HTTP_LIKE_CODES[self.code]


class _Request(WireModel):
    v: Literal[1] = 1
    """Schema version."""


class _Reply(WireModel):
    v: Literal[1] = 1
    """Schema version."""
    status: Literal["ok"] = "ok"
    """Distinguishes a reply from a :class:`QueryError`."""


class _Range(_Request):
    """An optional half-open time range; a missing bound is open."""

    start: AwareDatetime | None = None
    """Inclusive lower bound (UTC); None = from the beginning of the kept history."""
    end: AwareDatetime | None = None
    """Exclusive upper bound (UTC); None = now."""

    @model_validator(mode="after")
    def _start_before_end(self) -> Any:
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})"
            raise ValueError(msg)
        return self


# -- metric history -------------------------------------------------------------------------


class Resolution(enum.StrEnum):
    """Which table a chart is read from."""

    AUTO = "auto"
    """Let persistence pick: raw samples for short ranges, then minute, then hour roll-ups."""
    RAW = "raw"
    """Every stored sample."""
    MINUTE = "minute"
    """Per-minute roll-ups (possibly grouped into wider steps)."""
    HOUR = "hour"
    """Per-hour roll-ups (possibly grouped into wider steps)."""


class MetricHistoryRequest(_Request):
    """UPS and player count of one server between ``start`` and ``end``."""

    server: PgText = Field(min_length=1, max_length=64)
    """Server tag."""
    start: AwareDatetime
    """Inclusive lower bound (UTC)."""
    end: AwareDatetime
    """Exclusive upper bound (UTC)."""
    max_points: int = Field(default=1000, ge=10, le=10_000)
    """Most points wanted; the step is widened until the range fits."""
    resolution: Resolution = Resolution.AUTO
    """Force a source table; ``auto`` picks the finest that fits ``max_points``."""

    @model_validator(mode="after")
    def _start_before_end(self) -> Any:
        if self.start >= self.end:
            msg = f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})"
            raise ValueError(msg)
        return self


class MetricPoint(WireModel):
    """One chart point: the samples of one step (one sample at raw resolution)."""

    t: datetime
    """Start of the step (the sample time at raw resolution), UTC."""
    samples: int
    """Samples taken while RCON was up in this step."""
    ups_avg: float | None
    """Mean UPS over samples that had one (None when paused or unknown throughout)."""
    ups_min: float | None
    """Lowest UPS in the step."""
    ups_max: float | None
    """Highest UPS in the step."""
    players_avg: float
    """Mean player count."""
    players_max: int
    """Highest player count."""
    paused_samples: int
    """Samples that found the game paused."""


class MetricHistoryReply(_Reply):
    """A chart's worth of points, oldest first."""

    server: str
    """Server tag."""
    start: datetime
    """As requested."""
    end: datetime
    """As requested."""
    resolution: Resolution
    """The table that was read (never ``auto``)."""
    step_s: int
    """Width of one point in seconds (0 at raw resolution: one point per sample)."""
    points: tuple[MetricPoint, ...]
    """The points, oldest first; steps without samples are absent."""


# -- playtime, leaderboard, last seen ------------------------------------------------------


class PlaytimeRequest(_Range):
    """Playtime of one player, on one server or all, within an optional range."""

    player: PgText = Field(min_length=1, max_length=100)
    """Player name (matched case-insensitively)."""
    server: PgText | None = Field(default=None, min_length=1, max_length=64)
    """Server tag; None = every server."""


class PlaytimeReply(_Reply):
    """A player's playtime; sessions still open count up to now."""

    player: str
    """As requested."""
    server: str | None
    """As requested."""
    total_s: float
    """Seconds played within the range."""
    sessions: int
    """Sessions that overlap the range."""
    is_online: bool
    """True when a session is open now."""
    first_joined_at: datetime | None
    """Start of the earliest session in the range."""


class LeaderboardRequest(_Range):
    """Players of one server ranked by playtime within an optional range."""

    server: PgText = Field(min_length=1, max_length=64)
    """Server tag."""
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    """How many players."""


class LeaderboardEntry(WireModel):
    """One line of the leaderboard."""

    rank: int
    """1 for the most playtime."""
    player: str
    """Player name as logged."""
    total_s: float
    """Seconds played within the range."""
    sessions: int
    """Sessions that overlap the range."""


class LeaderboardReply(_Reply):
    """The leaderboard, most playtime first."""

    server: str
    """As requested."""
    entries: tuple[LeaderboardEntry, ...]
    """At most ``limit`` entries."""


class LastSeenRequest(_Request):
    """When and where a player was last seen."""

    player: PgText = Field(min_length=1, max_length=100)
    """Player name (matched case-insensitively)."""
    server: PgText | None = Field(default=None, min_length=1, max_length=64)
    """Server tag; None = every server."""


class LastSeenReply(_Reply):
    """The latest sign of the player: an open session (online now), a leave, or any event."""

    player: str
    """The name as logged (the request's spelling when never seen)."""
    is_found: bool
    """False when the player was never seen (within the kept history)."""
    is_online: bool
    """True when a session is open now."""
    server: str | None
    """Where the player was last seen."""
    last_seen_at: datetime | None
    """When (now, if online)."""
    last_event_type: str | None
    """Type of the latest event naming the player (``leave``, ``chat``, ...)."""


# -- recent events, alert history ----------------------------------------------------------


class RecentEventsRequest(_Request):
    """The latest events, newest first, optionally filtered."""

    server: PgText | None = Field(default=None, min_length=1, max_length=64)
    """Server tag; None = every server."""
    types: tuple[PgText, ...] = Field(default=(), max_length=32)
    """Event types to include; empty = all."""
    player: PgText | None = Field(default=None, min_length=1, max_length=100)
    """Only events about this player (case-insensitive)."""
    before: AwareDatetime | None = None
    """Only events observed strictly before this time (for paging); None = now."""
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    """How many events."""


class EventRecord(WireModel):
    """A stored event as the query API returns it."""

    id: str
    """The event's stable source id."""
    server: str
    """Server tag."""
    type: str
    """Event type."""
    observed_at: datetime
    """When the pipeline read the line (UTC)."""
    ts: datetime | None
    """The game's own timestamp (local time, no zone), when the line had one."""
    player: str | None
    """Player the event is about."""
    message: str | None
    """Free text."""
    data: dict[str, Any]
    """Further captured fields."""
    flags: tuple[str, ...]
    """Markers such as ``reconciled``."""


class RecentEventsReply(_Reply):
    """Events, newest first."""

    events: tuple[EventRecord, ...]
    """At most ``limit`` events."""


class AlertHistoryRequest(_Range):
    """Alerts raised, newest first, optionally filtered."""

    server: PgText | None = Field(default=None, min_length=1, max_length=64)
    """Server tag; None = every server (including ``_system``)."""
    types: tuple[AlertType, ...] = Field(default=(), max_length=32)
    """Alert types to include; empty = all."""
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    """How many alerts."""


class AlertRecord(WireModel):
    """A stored alert."""

    id: str
    """The alert's stable id."""
    server: str
    """Server tag."""
    type: str
    """Alert type (a known :class:`AlertType` value, or a newer one)."""
    severity: Severity
    """How urgent."""
    raised_at: datetime
    """When it was raised (UTC)."""
    summary: str
    """One line for humans."""
    details: dict[str, Any]
    """Numbers behind the alert."""


class AlertHistoryReply(_Reply):
    """Alerts, newest first."""

    alerts: tuple[AlertRecord, ...]
    """At most ``limit`` alerts."""


# -- registry and codec ----------------------------------------------------------------------

QueryRequest = (
    MetricHistoryRequest
    | PlaytimeRequest
    | LeaderboardRequest
    | LastSeenRequest
    | RecentEventsRequest
    | AlertHistoryRequest
)
"""Any query request."""

QueryReply = (
    MetricHistoryReply
    | PlaytimeReply
    | LeaderboardReply
    | LastSeenReply
    | RecentEventsReply
    | AlertHistoryReply
)
"""Any successful query reply."""

QUERIES: dict[QueryName, tuple[type[QueryRequest], type[QueryReply]]] = {
    QueryName.METRIC_HISTORY: (MetricHistoryRequest, MetricHistoryReply),
    QueryName.PLAYTIME: (PlaytimeRequest, PlaytimeReply),
    QueryName.LEADERBOARD: (LeaderboardRequest, LeaderboardReply),
    QueryName.LAST_SEEN: (LastSeenRequest, LastSeenReply),
    QueryName.RECENT_EVENTS: (RecentEventsRequest, RecentEventsReply),
    QueryName.ALERT_HISTORY: (AlertHistoryRequest, AlertHistoryReply),
}
"""Request and reply model of every query."""

R = TypeVar("R", bound=QueryReply)


def decode_query_reply(
    data: bytes | str, reply_type: type[R], *, strict: bool = False
) -> R | QueryError:
    """Decode an answer: the reply model, or the :class:`QueryError` persistence sent instead.

    Raises:
        InvalidMessage: the answer is neither (a contract mismatch between the two sides).
    """
    try:
        return QueryError.model_validate_json(data, context={"strict": strict})
    except ValidationError:
        pass
    reply = decode_json(reply_type.model_validate_json, data, strict=strict)
    return cast("R", reply)
