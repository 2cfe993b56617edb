"""Mapping wire payloads to table rows (pure).

Each ``*_row`` function returns a tuple in the order of its ``*_COLUMNS`` constant, ready for
``copy_records_to_table``. JSON columns are passed as text (the staging tables cast them).
"""

from __future__ import annotations

from typing import Any

import orjson

from common.contracts import Alert, AuditRecord, GameEvent, MetricSample
from persistence.sessions import Session


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


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
    return (
        event.id,
        event.server,
        event.type,
        event.ts.replace(tzinfo=None) if event.ts is not None else None,
        event.observed_at,
        event.player,
        event.message,
        _json(event.data),
        event.raw,
        src.file_id if src else None,
        src.generation if src else None,
        src.offset if src else None,
        event.pattern,
        list(event.flags),
    )


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
