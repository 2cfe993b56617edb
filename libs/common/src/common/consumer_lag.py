"""Consumer lag as gauges: pending and ack-pending messages of one durable, from JetStream.

Every intake keeps a :class:`LagWatch` on its durable: a background loop asks JetStream for
the consumer's info (``$JS.API.CONSUMER.INFO.<stream>.<durable>``, which every identity may
ask for its own durables) every few seconds and keeps the last answer; the gauges
``isr.consumer.pending`` (``num_pending``: not yet delivered, the lag to scale on) and
``isr.consumer.ack_pending`` read it at collection, without I/O. Several replicas of one
service report the same numbers for the same durable: dashboards and alerts take ``max by
(stream, durable)``. A failed lookup (NATS away, the consumer being recreated) keeps the last
value and is retried at the next interval; it is logged at debug only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from nats.aio.client import Client as NatsClient

from common.backoff import sleep_until_stop
from common.metric_names import Metric
from common.telemetry import observe_gauge

log = structlog.get_logger()

LAG_INTERVAL_S = 5.0
"""How often the consumer info is asked for (one small request per durable and process)."""


class LagWatch:
    """The last known pending / ack-pending counts of one durable, and the loop that reads them."""

    def __init__(self, nc: NatsClient, stream: str, durable: str) -> None:
        self._nc = nc
        self._stream = stream
        self._durable = durable
        self._attributes = {"stream": stream, "durable": durable}
        self.pending: int | None = None
        """``num_pending`` at the last lookup (None before the first)."""
        self.ack_pending: int | None = None
        """``num_ack_pending`` at the last lookup."""

    def _pending(self) -> list[tuple[float, dict[str, str]]]:
        return [] if self.pending is None else [(float(self.pending), self._attributes)]

    def _ack_pending(self) -> list[tuple[float, dict[str, str]]]:
        return [] if self.ack_pending is None else [(float(self.ack_pending), self._attributes)]

    async def refresh(self) -> None:
        """Ask JetStream once; keep the answer (or the last one, when the lookup fails)."""
        try:
            info = await self._nc.jetstream().consumer_info(self._stream, self._durable)
        except Exception as exc:  # NATS away or consumer missing: keep the last value
            log.debug("consumer_info_failed", durable=self._durable, error=repr(exc))
            return
        self.pending = int(info.num_pending or 0)
        self.ack_pending = int(info.num_ack_pending or 0)

    async def run(self, stop: asyncio.Event, interval_s: float = LAG_INTERVAL_S) -> None:
        """Report the gauges and refresh them every ``interval_s`` until ``stop`` is set."""
        undo: list[Callable[[], None]] = [
            observe_gauge(Metric.CONSUMER_PENDING, self._pending),
            observe_gauge(Metric.CONSUMER_ACK_PENDING, self._ack_pending),
        ]
        try:
            while True:
                await self.refresh()
                if await sleep_until_stop(stop, interval_s):
                    return
        finally:
            for step in undo:
                step()
