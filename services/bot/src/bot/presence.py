"""Presence text and which servers count as online (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from common.config import IsrConfig
from common.contracts import MetricSample

MIN_FRESH_S = 30.0
"""A sample younger than this (or three metric intervals) keeps a server online."""


def is_online(sample: MetricSample | None, *, interval_s: float, now: datetime) -> bool:
    """True when the latest sample reached RCON and is fresh."""
    if sample is None or not sample.rcon_up:
        return False
    return (now - sample.sampled_at).total_seconds() <= max(MIN_FRESH_S, 3 * interval_s)


def presence_text(
    config: IsrConfig, latest: Mapping[str, MetricSample], *, now: datetime
) -> str | None:
    """``N/M servers online`` over the servers with RCON; None when presence is off."""
    if not config.discord.presence:
        return None
    watched = {tag: s for tag, s in config.servers.items() if s.rcon is not None}
    online = sum(
        is_online(latest.get(tag), interval_s=s.metrics.interval_s, now=now)
        for tag, s in watched.items()
    )
    return f"{online}/{len(watched)} servers online"


class PresenceTracker:
    """Says when the presence must change: only when the text differs from the last one sent."""

    def __init__(self) -> None:
        self._sent: str | None = None

    def update(self, text: str | None) -> str | None:
        """The text to send now, or None when nothing changed."""
        if text is None or text == self._sent:
            return None
        self._sent = text
        return text
