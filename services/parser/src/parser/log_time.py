"""Reading the log's zone-less dates as instants (pure).

Factorio writes ``YYYY-MM-DD HH:MM:SS`` in the game host's local time, without a zone
(shared/research/factorio-facts.md §3.2). Each server's ``log_timezone`` in servers.yml says
which zone that is (UTC by default); :class:`LogClock` turns the parsed local time into an aware
UTC datetime, so every consumer (the bot's embeds, sessions in Postgres) gets an instant.

Daylight saving time makes two kinds of local time special, and both map deterministically:

- **ambiguous** (the hour that repeats when clocks go back): ``fold=0``, the *first* of the two
  instants. A line in the repeated hour cannot say which pass it belongs to; the log's order,
  not its time, orders events (persistence sorts sessions by log position);
- **non-existent** (the hour skipped when clocks go forward): read with the offset in force
  *before* the change (``fold=0``), so ``02:30`` on a night that jumps from 02:00 to 03:00 is
  the instant ``01:30`` standard time + 1 h, i.e. the same as ``03:30`` summer time. A real
  Factorio clock never writes such a time; it means the configured zone is not the log's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_CACHE_MAX = 4096
"""Distinct local times remembered per zone (lines arrive in time order: old ones are done)."""


class LogClock:
    """Turns one zone's naive log times into aware UTC datetimes, each distinct time once."""

    __slots__ = ("_cache", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._cache: dict[datetime, datetime] = {}

    def to_utc(self, local: datetime) -> datetime:
        """The UTC instant of the log's local time ``local`` (naive; ``fold`` is ignored)."""
        instant = self._cache.get(local)
        if instant is None:
            instant = local_to_utc(local, self.zone)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[local] = instant
        return instant


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """``local`` (naive, a wall-clock time in ``zone``) as an aware UTC datetime (fold 0)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


@lru_cache(maxsize=256)
def clock_for(zone_name: str) -> LogClock:
    """The shared clock of the zone named ``zone_name`` (validated by the config loader)."""
    return LogClock(ZoneInfo(zone_name))


UTC_CLOCK = clock_for("UTC")
"""The clock of a server servers.yml does not name (and the default zone)."""


class ServerClocks:
    """The clock of each server's log, by tag, replaced whole when servers.yml changes."""

    __slots__ = ("_clocks",)

    def __init__(self, zones: Mapping[str, str] | None = None) -> None:
        self._clocks: dict[str, LogClock] = {}
        self.update(zones or {})

    def update(self, zones: Mapping[str, str]) -> None:
        """Use ``{server tag: IANA zone name}`` from now on."""
        self._clocks = {server: clock_for(zone) for server, zone in zones.items()}

    def for_server(self, server: str) -> LogClock:
        """The clock of ``server``; UTC for a server servers.yml does not name."""
        return self._clocks.get(server, UTC_CLOCK)
