"""Counting in SQL what a burst became: missing, duplicated and wrong rows, and session faults.

:func:`tally` is pure (rows in, :class:`Tally` out) so the counting itself is tested directly;
:func:`read_tally` reads the rows from a persistence database. A fault test asserts
``tally.problems() == {}`` so a failure prints every count at once, not only the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from isr_testing.burst import Burst

DURATION_TOLERANCE_S = 1.0
"""The log's timestamps have one-second resolution; a duration may differ by that much."""

EXAMPLES = 5
"""How many examples of each kind of fault a tally keeps for the failure message."""


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One ``player_sessions`` row, as far as the ledger cares."""

    player: str
    closed: bool
    duration_s: float | None


@dataclass(frozen=True)
class Tally:
    """What a burst's rows look like against the burst; every count should be zero."""

    expected_events: int
    stored_events: int
    missing: int
    duplicated_ids: int
    duplicated_lines: int
    unexpected: int
    sessions_missing: int
    sessions_duplicated: int
    sessions_open: int
    sessions_wrong_duration: int
    examples: dict[str, list[str]] = field(default_factory=dict)

    def problems(self) -> dict[str, object]:
        """Every non-zero fault count, with examples (an empty dict means all is well)."""
        counts = {
            "missing": self.missing,
            "duplicated_ids": self.duplicated_ids,
            "duplicated_lines": self.duplicated_lines,
            "unexpected": self.unexpected,
            "sessions_missing": self.sessions_missing,
            "sessions_duplicated": self.sessions_duplicated,
            "sessions_open": self.sessions_open,
            "sessions_wrong_duration": self.sessions_wrong_duration,
        }
        found: dict[str, object] = {k: v for k, v in counts.items() if v}
        if found:
            found["expected_events"] = self.expected_events
            found["stored_events"] = self.stored_events
            found["examples"] = {k: v for k, v in self.examples.items() if v}
        return found


def tally(
    burst: Burst, event_rows: Iterable[tuple[str, str]], session_rows: Iterable[SessionRow]
) -> Tally:
    """Compare stored ``(id, raw line)`` event rows and session rows with ``burst``."""
    events = list(event_rows)
    ids = Counter(event_id for event_id, _ in events)
    lines = Counter(raw for _, raw in events)
    expected = set(burst.event_lines)
    missing = [line for line in burst.event_lines if line not in lines]
    doubled = [line for line, n in lines.items() if n > 1 and line in expected]
    unexpected = [line for line in lines if line not in expected]
    sessions = list(session_rows)
    per_player = Counter(s.player for s in sessions)
    wanted = burst.session_seconds
    open_ = [s.player for s in sessions if not s.closed]
    wrong = [
        f"{s.player}: {s.duration_s} s, log says {wanted[s.player]} s"
        for s in sessions
        if s.closed
        and s.player in wanted
        and (s.duration_s is None or abs(s.duration_s - wanted[s.player]) > DURATION_TOLERANCE_S)
    ]
    sessions_missing = [p for p in wanted if p not in per_player]
    return Tally(
        expected_events=len(burst.event_lines),
        stored_events=len(events),
        missing=len(missing),
        duplicated_ids=sum(n - 1 for n in ids.values()),
        duplicated_lines=sum(lines[line] - 1 for line in doubled),
        unexpected=len(unexpected),
        sessions_missing=len(sessions_missing),
        sessions_duplicated=sum(n - 1 for n in per_player.values() if n > 1),
        sessions_open=len(open_),
        sessions_wrong_duration=len(wrong),
        examples={
            "missing": missing[:EXAMPLES],
            "duplicated_lines": doubled[:EXAMPLES],
            "unexpected": unexpected[:EXAMPLES],
            "sessions_missing": sessions_missing[:EXAMPLES],
            "sessions_open": open_[:EXAMPLES],
            "sessions_wrong_duration": wrong[:EXAMPLES],
        },
    )


async def stored_event_count(database_url: str) -> int:
    """Rows in ``events`` (0 before persistence created the table)."""
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return 0
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def read_tally(database_url: str, burst: Burst) -> Tally:
    """Read the events and sessions persistence stored and :func:`tally` them against ``burst``."""
    conn = await asyncpg.connect(database_url)
    try:
        events = await conn.fetch("SELECT id, raw FROM events")
        sessions = await conn.fetch(
            "SELECT player, left_at IS NOT NULL AS closed, duration_s FROM player_sessions"
        )
    finally:
        await conn.close()
    return tally(
        burst,
        ((r["id"], r["raw"]) for r in events),
        (SessionRow(r["player"], r["closed"], r["duration_s"]) for r in sessions),
    )
