"""Mapping wire events to table rows (pure)."""

from __future__ import annotations

import json
from typing import Any

from common.contracts import GameEvent

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
        json.dumps(event.data, ensure_ascii=False),
        event.raw,
        src.file_id if src else None,
        src.generation if src else None,
        src.offset if src else None,
        event.pattern,
        list(event.flags),
    )
