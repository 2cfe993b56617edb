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


class Caller(enum.StrEnum):
    """The services that may request RCON operations and history queries.

    Each is a NATS identity (the user or credentials a service connects with) and the last
    token of the subjects it requests on: ``<prefix>.rcon.<server>.<caller>`` and
    ``<prefix>.query.<name>.<caller>``. The shipped authorisation config lets identity X publish
    only on ``...rcon.*.X`` and ``...query.*.X``, so the token is the caller as the NATS server
    saw it, not as the caller wrote it. The rcon-poller and persistence answer these callers
    only; a new one (``secmon``) is added here and in the authorisation config.
    """

    BOT = "bot"
    """The Discord bot (``isr bot``): slash commands and the chat bridge."""
    WEB = "web"
    """The web service (``services/web``)."""


KNOWN_CALLERS = frozenset(Caller)
"""Every caller the rcon-poller and persistence answer."""
CALLER_NAMES = ", ".join(caller.value for caller in Caller)
"""The known callers, for error messages."""
