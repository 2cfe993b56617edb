"""Bounded memo tables for the writer's hot path (pure).

Parsed times, event types and encoded times repeat within a batch, so they are remembered; a
table that reaches its bound is simply cleared (the next batch refills it with what it uses),
which keeps the common hit a plain dict lookup with no bookkeeping.
"""

from __future__ import annotations

from typing import Final, TypeVar

K = TypeVar("K")
V = TypeVar("V")

REMEMBERED: Final = 4096
"""Entries a table holds before it is cleared."""


def remember(table: dict[K, V], key: K, value: V) -> V:
    """Store ``value`` under ``key`` (clearing ``table`` first when full); return ``value``."""
    if len(table) >= REMEMBERED:
        table.clear()
    table[key] = value
    return value
