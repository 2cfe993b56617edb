"""The poller's samples as OpenTelemetry gauges: UPS, players, evolution, RCON up, per server.

Each :class:`~common.contracts.MetricSample` the poller publishes is also kept as the latest
of its server; the observable gauges of :mod:`common.metric_names` read those at every
collection (an OTLP export or a ``/metrics`` scrape), so the numbers an admin alerts on exist
in Prometheus and not only as Postgres rows. A sample taken while RCON was down reports only
``isr.rcon.up`` = 0 and the target UPS: the game values it could not read are left out rather
than repeated stale.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from common.contracts import MetricSample
from common.metric_names import Metric
from common.telemetry import observe_gauge

Reading = list[tuple[float, dict[str, str]]]

GAME_METRICS = (
    Metric.RCON_UP,
    Metric.GAME_UPS,
    Metric.GAME_TARGET_UPS,
    Metric.GAME_PLAYERS_ONLINE,
    Metric.GAME_TIME,
    Metric.GAME_EVOLUTION,
    Metric.GAME_PAUSED,
)


def gauge_values(sample: MetricSample) -> dict[Metric, Reading]:
    """What one sample says for each game gauge (pure)."""
    server = {"server": sample.server}
    values: dict[Metric, Reading] = {
        Metric.RCON_UP: [(1.0 if sample.rcon_up else 0.0, server)],
        Metric.GAME_TARGET_UPS: [(sample.ups_target, server)],
    }
    if not sample.rcon_up:
        return values
    values[Metric.GAME_PLAYERS_ONLINE] = [(float(sample.player_count), server)]
    values[Metric.GAME_PAUSED] = [(1.0 if sample.is_paused else 0.0, server)]
    if sample.ups is not None:
        values[Metric.GAME_UPS] = [(sample.ups, server)]
    if sample.game_time_s is not None:
        values[Metric.GAME_TIME] = [(sample.game_time_s, server)]
    if sample.evolution:
        values[Metric.GAME_EVOLUTION] = [
            (factor, {"server": sample.server, "surface": surface})
            for surface, factor in sorted(sample.evolution.items())
        ]
    return values


class GameGauges:
    """The latest sample of each server, read by the game gauges at collection."""

    def __init__(self) -> None:
        self._latest: dict[str, dict[Metric, Reading]] = {}
        self._undo: list[Callable[[], None]] = [
            observe_gauge(metric, partial(self._read, metric)) for metric in GAME_METRICS
        ]

    def record(self, sample: MetricSample) -> None:
        """Keep ``sample`` as its server's latest."""
        # One assignment: a collection running in the exporter's thread sees old or new.
        self._latest[sample.server] = gauge_values(sample)

    def forget(self, server: str) -> None:
        """The poller no longer works ``server`` (removed, or another instance took it)."""
        self._latest.pop(server, None)

    def close(self) -> None:
        """Stop reporting."""
        for undo in self._undo:
            undo()
        self._latest.clear()

    def _read(self, metric: Metric) -> Reading:
        return [point for values in list(self._latest.values()) for point in values.get(metric, [])]
