"""Reading Factorio's ``/time`` reply into seconds. Pure.

``/time`` prints the game time in words: ``7 seconds``, ``1 minute``,
``1 day, 11 hours, 1 minute and 26 seconds`` (facts §4.3; units with a zero count are left
out, singular and plural vary). The reading is whole seconds of game time (ticks / 60,
rounded down), which bounds the precision of a UPS estimate made from it (see
:mod:`rcon_poller.ups`).
"""

from __future__ import annotations

import re

_UNIT_S = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86_400,
    "week": 7 * 86_400,
    "year": 365 * 86_400,
}
_PART = re.compile(r"(\d+)\s+(second|minute|hour|day|week|year)s?")
_SEPARATORS = re.compile(r"\s*(?:,|\band\b)\s*")


class GameTimeError(ValueError):
    """The reply is not a ``/time`` answer."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        super().__init__(f"not a /time reply: {reply[:80]!r}")


def parse_game_time(reply: str) -> int:
    """Seconds of game time in a ``/time`` reply; raises :class:`GameTimeError` otherwise."""
    text = reply.strip()
    if not text:
        raise GameTimeError(reply)
    total = 0
    seen: set[str] = set()
    for part in _SEPARATORS.split(text):
        match = _PART.fullmatch(part)
        if match is None or match[2] in seen:
            raise GameTimeError(reply)
        seen.add(match[2])
        total += int(match[1]) * _UNIT_S[match[2]]
    return total
