"""Words that cross the wire between services and must be spelled the same everywhere.

Event flags, the tag of events that belong to no game server, and the marker the Discord chat
bridge puts in front of chat it writes into the game. Producers and consumers import these;
nothing spells them as literals.
"""

from __future__ import annotations

import enum


class EventFlag(enum.StrEnum):
    """Flags carried in an event's ``flags`` tuple."""

    BRIDGED = "bridged"
    """Chat our own Discord bridge put into the game; never relayed back to Discord."""
    TRUNCATED = "truncated"
    """The tailer cut the line at its length limit; its length says nothing about the next."""
    RECONCILED = "reconciled"
    """Made by the RCON poller for a join or leave the log never showed (players list)."""


SYSTEM_SERVER = "_system"
"""Server tag of events about the pipeline itself (e.g. ``patterns_invalid``), not a game."""

DEFAULT_BRIDGE_MARKER = "[Discord]"
"""Default prefix of bridged chat in game (the shared ``ISR_BRIDGE_MARKER`` setting)."""
