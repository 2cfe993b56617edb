"""Fetching batches from a durable consumer quickly, pausing while the database is down.

:class:`PullLoop` asks JetStream for up to ``batch_size`` messages (and at most ``max_bytes``
of them, since one message may carry hundreds of events) with one raw pull request
(``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>``) into an inbox subscription that collects them
in a list, then hands the batch to :meth:`common.consumer.BatchConsumer.process`, which decodes,
calls the writer and acks each message only after the writer's transaction committed.

Why not ``BatchConsumer.run``: nats-py's ``fetch`` waits for each message of a batch with its
own ``asyncio.wait_for``, which caps one process at about 17,000 messages/s here; collecting in a
callback reaches several times that (docs/performance.md). Acking, termination and error handling
are unchanged because they stay in ``BatchConsumer.process``.

Several loops may run on the same durable (in one process or many): while one waits for its
commit, another fetches. Before each fetch a loop waits on the :class:`DatabaseGate`, so while
Postgres is down nothing is fetched and the stream keeps the messages.

:func:`tune_gc` makes the collector run less often: every message allocates a dozen objects
that live until their batch is committed, so with the default thresholds the cyclic collector
ran all the time and cost about 15 % of the process's CPU per event (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

import nats.errors
import orjson
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from common.consumer import BatchConsumer
from common.internal_errors import report_internal_error
from persistence.gate import DatabaseGate

log = structlog.get_logger()

GC_THRESHOLDS = (20_000, 10, 10)
"""Generation thresholds for :func:`tune_gc` (the interpreter's defaults are 700, 10, 10)."""

_STATUS = "Status"
_HEARTBEAT = "100"
_API_PREFIX = "$JS.API"


class PullLoop:
    """One fetch-process-settle loop on a durable pull consumer."""

    def __init__(
        self,
        nc: NatsClient,
        consumer: BatchConsumer[object],
        *,
        stream: str,
        durable: str,
        gate: DatabaseGate,
        batch_size: int,
        max_bytes: int | None = None,
        expires_s: float = 1.0,
        linger_s: float = 0.02,
    ) -> None:
        self._nc = nc
        self._consumer = consumer
        self._next_subject = f"{_API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._gate = gate
        self._batch_size = batch_size
        self._max_bytes = max_bytes
        self._expires_s = expires_s
        self._linger_s = linger_s
        self._box: list[Msg] = []
        self._wanted = 0
        self._wake = asyncio.Event()
        self._arrived = asyncio.Event()

    async def _collect(self, msg: Msg) -> None:
        status = msg.headers.get(_STATUS) if msg.headers else None
        if status is not None:
            if status != _HEARTBEAT:  # 404 no messages, 408 expired, 409: this request is over
                self._wake.set()
            return
        self._box.append(msg)
        self._arrived.set()
        if len(self._box) >= self._wanted:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and process batches until ``stop`` is set; the batch in hand is finished first."""
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(
            inbox,
            cb=self._collect,
            pending_msgs_limit=4 * self._batch_size + 1000,
            pending_bytes_limit=512 * 1024 * 1024,
        )
        pull: dict[str, int] = {"batch": self._batch_size, "expires": int(self._expires_s * 1e9)}
        if self._max_bytes is not None:
            # Never below max_payload: a message larger than the request's bytes would end
            # every request with 409 and stall the consumer on it.
            pull["max_bytes"] = max(self._max_bytes, self._nc.max_payload)
        request = orjson.dumps(pull)
        try:
            while not stop.is_set():
                await self._gate.wait_until_up(stop)
                if stop.is_set():
                    break
                if not self._box:
                    self._wake.clear()
                    self._arrived.clear()
                    self._wanted = self._batch_size
                    try:
                        await self._nc.publish(self._next_subject, request, reply=inbox)
                    except (
                        nats.errors.ConnectionClosedError,
                        nats.errors.OutboundBufferLimitError,
                    ):
                        await _wait_or_stop(stop, 0.5)
                        continue
                    await self._wait_for_batch()
                batch, self._box = self._box, []
                if not batch:
                    continue
                try:
                    await self._consumer.process(batch)
                except Exception as exc:  # settle failures are logged inside; this is a bug
                    report_internal_error(exc, "persistence.intake")
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _wait_for_batch(self) -> None:
        """Until the batch is full, the request ended, or a first message lingered briefly."""
        arrived = asyncio.ensure_future(self._arrived.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            # The server ends the request itself after expires_s; the margin covers a request
            # lost while NATS reconnects, after which we simply ask again.
            await asyncio.wait(
                {arrived, woken},
                timeout=self._expires_s + 2.0,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if arrived.done() and not woken.done():
                # A trickle: take what came within the linger instead of waiting for expiry;
                # the rest of this request's messages land in the next batch.
                await asyncio.wait({woken}, timeout=self._linger_s)
        finally:
            arrived.cancel()
            woken.cancel()


def tune_gc() -> None:
    """Freeze what start-up allocated and collect garbage every 20,000 allocations, not 700.

    Almost everything a batch allocates is freed by reference counting when the batch is
    settled; the cyclic collector only finds the odd cycle (exceptions, cancelled futures), so
    running it less often costs little memory. Frozen objects (modules, models, the pool) are
    never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
