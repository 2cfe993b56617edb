"""A burst of real-format console lines whose every line and every session is known in advance.

Fault tests count what reached Postgres against what the log said. For that each event line is
unique (player ``p<seq>`` joins, says ``seq <seq>`` and leaves, so a line lost or read twice
shows by its text alone) and each player's join and leave carry distinct log timestamps, so the
session's duration in the log is known to the second.

The line formats are Factorio's (``YYYY-MM-DD HH:MM:SS [JOIN] name joined the game``, see
libs/simulator's ``log_lines``); an engine line with an uptime prefix, which no pattern
publishes, sits between them as real logs have.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_START = datetime(2026, 11, 27, 12, 0, 0)  # noqa: DTZ001 - the log's date prefix has no zone
"""Log time of the first line of a burst (the game writes local time without a zone)."""

_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_KIND_ORDER = {"join": 0, "chat": 1, "leave": 2, "engine": 3}


@dataclass(frozen=True, slots=True)
class Burst:
    """The lines of a burst, in log order, and what they must become in the database."""

    lines: tuple[str, ...]
    """Every line, in the order written (log time never goes backwards)."""
    event_lines: tuple[str, ...]
    """The lines that are events (join, chat, leave), each unique."""
    session_seconds: dict[str, int]
    """Player name -> seconds between that player's join and leave in the log."""

    def split(self, *fractions: float) -> list[tuple[str, ...]]:
        """Cut :attr:`lines` into consecutive parts at the given fractions of its length."""
        cuts = [0, *(round(len(self.lines) * f) for f in fractions), len(self.lines)]
        return [self.lines[a:b] for a, b in itertools.pairwise(cuts)]

    def events_in(self, lines: tuple[str, ...]) -> int:
        """How many of ``lines`` are event lines (what they add to the ``events`` table)."""
        events = set(self.event_lines)
        return sum(line in events for line in lines)


def stay_seconds(seq: int) -> int:
    """How long player ``seq`` stays, in log seconds: 2 to 16, varied so players overlap."""
    return 2 + seq % 5 + seq % 11


def make_burst(players: int, *, start: datetime = DEFAULT_START, first_seq: int = 0) -> Burst:
    """Return a burst in which ``players`` players each join, chat once and leave.

    Player ``seq`` joins at ``start + seq`` seconds, chats a second later and leaves after
    :func:`stay_seconds`; an engine line follows every join. About four lines per player.
    """
    timed: list[tuple[int, int, int, str]] = []
    sessions: dict[str, int] = {}
    for seq in range(first_seq, first_seq + players):
        name = f"p{seq:06d}"
        joined, stay = seq - first_seq, stay_seconds(seq)
        sessions[name] = stay
        timed += [
            (joined, _KIND_ORDER["join"], seq, f"[JOIN] {name} joined the game"),
            (joined, _KIND_ORDER["engine"], seq, f"Verbose ServerMultiplayerManager.cpp: {seq}"),
            (joined + 1, _KIND_ORDER["chat"], seq, f"[CHAT] {name}: seq {seq} says hello"),
            (joined + stay, _KIND_ORDER["leave"], seq, f"[LEAVE] {name} left the game"),
        ]
    timed.sort()
    lines: list[str] = []
    events: list[str] = []
    for second, kind, _seq, text in timed:
        if kind == _KIND_ORDER["engine"]:
            lines.append(f"{second + 0.5:8.3f} {text}")
            continue
        line = f"{(start + timedelta(seconds=second)).strftime(_DATE_FORMAT)} {text}"
        lines.append(line)
        events.append(line)
    return Burst(tuple(lines), tuple(events), sessions)
