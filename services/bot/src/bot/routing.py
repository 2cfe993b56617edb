"""Which Discord channel each event, alert and stats post goes to (pure)."""

from __future__ import annotations

from collections import Counter

from bot.render import ADMIN_ENGINE_KINDS, PRIVATE_KINDS
from common.config import IsrConfig, ServerConfig
from common.contracts import Alert, GameEvent
from common.vocabulary import SYSTEM_SERVER


def event_channel(server: ServerConfig, event: GameEvent) -> int | None:
    """The pattern's ``channel`` if configured, else the kind's channel, else ``default``.

    Private kinds (whispers, console commands) and the admin engine kinds (hosting, RCON start,
    saves, engine errors) go only to a channel configured for them.
    """
    if event.channel and event.channel in server.channels:
        return server.channels[event.channel]
    if event.type in PRIVATE_KINDS or event.type in ADMIN_ENGINE_KINDS:
        return server.channels.get(event.type)
    return server.channel_for(event.type)


def alert_channels(config: IsrConfig, alert: Alert) -> list[int]:
    """The server's ``alert`` channel; a pipeline-wide alert goes to every server's, once each."""
    if alert.server == SYSTEM_SERVER:
        found = (s.channel_for("alert") for s in config.servers.values())
        return list(dict.fromkeys(c for c in found if c is not None))
    server = config.servers.get(alert.server)
    channel = server.channel_for("alert") if server else None
    return [channel] if channel is not None else []


def shared_channels(config: IsrConfig) -> frozenset[int]:
    """Channels that receive events of more than one server (their lines name the server)."""
    counts = Counter(c for s in config.servers.values() for c in set(s.channels.values()))
    return frozenset(c for c, n in counts.items() if n > 1)
