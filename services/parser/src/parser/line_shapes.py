"""Classifying a console-log line by shape and splitting off its prefix (pure).

Factorio writes four shapes of line (shared/research/factorio-facts.md §3.2):

- ``dated``:  ``2019-01-20 10:30:04 [JOIN] User joined the game`` — game events;
- ``engine``: ``   1.306 Info RemoteCommandProcessor.cpp:131: Starting RCON interface …`` and
  ``4802.763 Goodbye`` — seconds since start, then the engine's message;
- ``bare``:   anything else, e.g. a reply echoed to stdin (``Players (0):``).

Patterns are matched against the *body* (the line without its date or seconds prefix), and each
pattern names the shape it applies to, so a pattern never has to spell out the prefix. These two
prefix regexes are fixed and ours (not user input), so stdlib ``re`` is safe for them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

_DATED = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ")
_ENGINE = re.compile(r" {0,12}(\d+\.\d{3}) ")


class Shape(enum.StrEnum):
    """Which kind of line a pattern applies to."""

    DATED = "dated"
    ENGINE = "engine"
    BARE = "bare"


@dataclass(frozen=True, slots=True)
class SplitLine:
    """A line's shape, its timestamp (dated lines) and its body."""

    shape: Shape
    body: str
    ts: datetime | None = None
    uptime_s: float | None = None


def split_line(line: str) -> SplitLine:
    """Split ``line`` into shape, prefix value and body."""
    m = _DATED.match(line)
    if m is not None:
        try:
            ts = datetime(*(int(g) for g in m.groups()))  # noqa: DTZ001 - the log has no zone
        except ValueError:
            return SplitLine(Shape.BARE, line)
        return SplitLine(Shape.DATED, line[m.end() :], ts=ts)
    m = _ENGINE.match(line)
    if m is not None:
        return SplitLine(Shape.ENGINE, line[m.end() :], uptime_s=float(m.group(1)))
    return SplitLine(Shape.BARE, line)
