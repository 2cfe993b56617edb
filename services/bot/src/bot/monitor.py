"""Metric samples in, periodic stats posts and presence out (the async shell)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from bot.presence import PresenceTracker, presence_text
from bot.relay import Poster, make_nonce
from bot.render import Post, render_stats, utc_now
from common.backoff import sleep_until_stop
from common.config import IsrConfig
from common.contracts import MetricSample
from common.errors import InvalidMessage
from common.topology import Topology

log = structlog.get_logger()


class MetricsWatch:
    """Keeps the latest metric sample of every configured server (last-per-subject replay)."""

    def __init__(self) -> None:
        self.latest: dict[str, MetricSample] = {}
        self._subs: dict[str, object] = {}

    async def follow(self, js: JetStreamContext, topology: Topology, servers: list[str]) -> None:
        """Subscribe to the servers not followed yet (called again after a config reload)."""
        for tag in servers:
            if tag in self._subs:
                continue

            async def on_sample(msg: Msg) -> None:
                try:
                    sample = MetricSample.from_json(msg.data, subject=msg.subject)
                except InvalidMessage as exc:
                    log.warning("metric_sample_invalid", error=str(exc))
                    return
                current = self.latest.get(sample.server)
                if current is None or sample.sampled_at >= current.sampled_at:
                    self.latest[sample.server] = sample

            self._subs[tag] = await js.subscribe(
                topology.metrics_subject(tag),
                cb=on_sample,
                ordered_consumer=True,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST),
            )

    async def close(self) -> None:
        """Unsubscribe everything."""
        for sub in self._subs.values():
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]
        self._subs.clear()


async def stats_loop(
    config: Callable[[], IsrConfig],
    watch: MetricsWatch,
    poster: Poster,
    stop: asyncio.Event,
    *,
    wall_clock: Callable[[], float] = time.time,
) -> None:
    """Post each server's stats embed on its own interval (slots aligned to the epoch).

    The nonce is derived from the server and the slot, so a restart inside a slot never
    posts that slot twice.
    """
    posted: dict[str, int] = {}
    while not stop.is_set():
        now = wall_clock()
        next_at = math.inf
        for tag, server in config().servers.items():
            channel = server.channel_for("stats")
            if not server.stats.enabled or server.rcon is None or channel is None:
                continue
            interval = server.stats.interval_s
            slot = int(now // interval)
            if tag in posted and posted[tag] < slot:
                embed = render_stats(
                    watch.latest.get(tag),
                    server_name=server.name,
                    now=utc_now(),
                    stale_after_s=max(30.0, 3 * server.metrics.interval_s),
                )
                try:
                    await poster(channel, Post(embeds=(embed,)), make_nonce("stats", tag, slot))
                except Exception as exc:
                    log.warning("stats_post_failed", server=tag, error=repr(exc))
                    continue
            posted[tag] = slot
            next_at = min(next_at, (slot + 1) * interval)
        delay = 5.0 if next_at == math.inf else max(0.05, next_at - wall_clock())
        await sleep_until_stop(stop, delay)


async def presence_loop(
    config: Callable[[], IsrConfig],
    watch: MetricsWatch,
    update: Callable[[str], Awaitable[None]],
    stop: asyncio.Event,
    *,
    interval_s: float = 1.0,
) -> None:
    """Set "Watching N/M servers online" whenever the count changes (and only then)."""
    tracker = PresenceTracker()
    while not stop.is_set():
        text = tracker.update(presence_text(config(), watch.latest, now=utc_now()))
        if text is not None:
            try:
                await update(text)
            except Exception as exc:
                log.warning("presence_failed", error=repr(exc))
                tracker = PresenceTracker()
        await sleep_until_stop(stop, interval_s)
