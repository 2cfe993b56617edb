"""Discord → game chat: messages in a server's bridge channel are said in game over RCON.

The line sent is ``<marker> <author>: <text>`` as plain console text (the ``chat`` operation,
no Lua, so achievements stay enabled). Factorio logs it as ``[CHAT] <server>: [Discord] ...``;
the parser flags such lines ``bridged`` and the relay never posts them back. Text is made
single-line, stripped of control, bidi and zero-width characters by the same
:func:`common.invisible.strip_invisible` the relay uses, and mentions are shown by name, cut to
``bridge.max_length`` and limited to ``bridge.rate`` messages per ``bridge.per_s`` per server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import hikari
import structlog
from nats.aio.client import Client as NatsClient

from bot.ratelimit import SlidingWindowLog
from bot.safety import truncate
from common import tracing
from common.config import IsrConfig, ServerConfig
from common.contracts import rcon
from common.invisible import strip_invisible
from common.topology import Topology
from common.vocabulary import Caller

log = structlog.get_logger()

_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
_CUSTOM_EMOJI = re.compile(r"<a?:(\w+):\d+>")


def server_for_channel(config: IsrConfig, channel_id: int) -> tuple[str, ServerConfig] | None:
    """The server whose enabled bridge is this channel."""
    for tag, server in config.servers.items():
        if server.bridge.enabled and server.bridge.channel_id == channel_id and server.rcon:
            return tag, server
    return None


def game_line(marker: str, author: str, content: str, *, max_length: int) -> str | None:
    """The chat line for the game, or None when nothing printable is left.

    Mentions become ``@user``/``@role``/``#channel`` words, custom emoji their name; control,
    bidi and zero-width characters go (:func:`strip_invisible`); newlines become spaces; a
    leading ``/`` can never occur (the marker comes first).
    """
    text = _CUSTOM_EMOJI.sub(r":\1:", strip_invisible(content))
    text = _MENTION.sub(
        lambda m: "#channel" if m[1] == "#" else "@role" if m[1] == "@&" else "@user", text
    )
    text = " ".join(text.split())
    name = " ".join(strip_invisible(author).split())
    if not text:
        return None
    return truncate(f"{marker} {truncate(name, 32)}: {text}", max_length)


@dataclass
class BridgeStats:
    """Counters for tests and logs."""

    sent: int = 0
    limited: int = 0
    failed: int = 0


class Bridge:
    """Listens to guild messages and forwards those in bridge channels."""

    def __init__(
        self,
        nc: NatsClient,
        topology: Topology,
        *,
        config: Callable[[], IsrConfig],
        marker: str,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nc = nc
        self._topology = topology
        self._config = config
        self._marker = marker
        self._timeout_s = timeout_s
        self._clock = clock
        self._window = SlidingWindowLog()
        self.stats = BridgeStats()

    async def on_message(self, event: hikari.GuildMessageCreateEvent) -> None:  # noqa: PLR0911
        """Hikari listener."""
        if event.is_bot or event.is_webhook or not event.content:
            return
        config = self._config()
        if event.guild_id not in config.discord.guild_ids:
            return
        found = server_for_channel(config, int(event.channel_id))
        if found is None:
            return
        tag, server = found
        bridge = server.bridge
        if self._window.try_acquire(tag, rate=bridge.rate, per_s=bridge.per_s, now=self._clock()):
            self.stats.limited += 1
            log.info("bridge_rate_limited", server=tag)
            return
        author = event.member.display_name if event.member else event.author.username
        line = game_line(self._marker, author, event.content, max_length=bridge.max_length)
        if line is None:
            return
        try:
            request = rcon.ChatRequest(text=line, requested_by=f"discord:{event.author_id}")
            answer = await tracing.request(
                self._nc,
                self._topology.rcon_subject(tag, Caller.BOT),
                rcon.encode_rcon_request(request),
                timeout=self._timeout_s,
            )
            reply = rcon.RconReply.from_json(answer.data)
        except Exception as exc:
            self.stats.failed += 1
            log.warning("bridge_failed", server=tag, error=repr(exc))
            return
        if not reply.ok:
            self.stats.failed += 1
            log.warning(
                "bridge_refused", server=tag, error=reply.error.message if reply.error else ""
            )
            return
        self.stats.sent += 1
