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
from datetime import datetime
from typing import NamedTuple

_DATED = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ")
ENGINE_PREFIX = re.compile(r" {0,12}(\d+\.\d{3}) ")
"""Seconds since start, right-aligned, three decimals, then a space."""


class Shape(enum.StrEnum):
    """Which kind of line a pattern applies to."""

    DATED = "dated"
    ENGINE = "engine"
    BARE = "bare"


class SplitLine(NamedTuple):
    """A line's shape, its timestamp (dated lines) and its body (a NamedTuple: built per line)."""

    shape: Shape
    body: str
    ts: datetime | None = None
    uptime_s: float | None = None


_TS_CACHE: dict[str, datetime] = {}
_TS_CACHE_MAX = 4096


def timestamp(stamp: str) -> datetime | None:
    """The datetime of a ``YYYY-MM-DD HH:MM:SS`` stamp, or None; each stamp is parsed once."""
    ts = _TS_CACHE.get(stamp)
    if ts is None:
        if not (stamp[:4].isdigit() and _DATED.match(stamp + " ")):
            return None
        try:
            ts = datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if len(_TS_CACHE) >= _TS_CACHE_MAX:  # lines arrive in time order: old stamps are done
            _TS_CACHE.clear()
        _TS_CACHE[stamp] = ts
    return ts


def split_line(line: str) -> SplitLine:
    """Split ``line`` into shape, prefix value and body."""
    # Hot path (hundreds of thousands of lines a second): test the fixed positions of
    # "YYYY-MM-DD HH:MM:SS " before any regex, and parse each distinct stamp once.
    if len(line) > 19 and line[19] == " " and line[4] == "-" and line[13] == ":":
        ts = timestamp(line[:19])
        if ts is not None:
            return SplitLine(Shape.DATED, line[20:], ts=ts)
        return SplitLine(Shape.BARE, line)
    m = ENGINE_PREFIX.match(line)
    if m is not None:
        return SplitLine(Shape.ENGINE, line[m.end() :], uptime_s=float(m.group(1)))
    return SplitLine(Shape.BARE, line)
