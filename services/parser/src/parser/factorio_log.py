"""Turning one console-log line into an event (pure: no I/O, no clock, no logger).

This is the foundation's built-in line set (JOIN, LEAVE, CHAT); the pattern files replace it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_DATE_PREFIX = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ")
_BUILTIN: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("join", "player_join", re.compile(r"\[JOIN\] (?P<player>.+) joined the game$")),
    ("leave", "player_leave", re.compile(r"\[LEAVE\] (?P<player>.+) left the game$")),
    ("chat", "chat", re.compile(r"\[CHAT\] (?P<player>[^:]+|<server>): (?P<message>.*)$")),
)


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """What a line says, before it is wrapped into a wire event."""

    type: str
    pattern: str
    ts: datetime | None
    player: str | None = None
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def split_date(line: str) -> tuple[datetime | None, str]:
    """Split the ``YYYY-MM-DD HH:MM:SS`` prefix (game-local time, no zone) from a line."""
    m = _DATE_PREFIX.match(line)
    if m is None:
        return None, line
    try:
        ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - the log has no zone
    except ValueError:
        return None, line
    return ts, line[m.end() :]


def parse_line(line: str) -> ParsedLine | None:
    """Parse a console-log line; None when it is not an event."""
    ts, rest = split_date(line)
    if ts is None:
        return None
    for event_type, name, regex in _BUILTIN:
        m = regex.match(rest)
        if m is not None:
            groups = m.groupdict()
            return ParsedLine(
                type=event_type,
                pattern=name,
                ts=ts,
                player=groups.get("player"),
                message=groups.get("message"),
            )
    return None
