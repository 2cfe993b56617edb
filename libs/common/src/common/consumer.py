"""The one pull-consumer loop every service uses.

``BatchConsumer`` fetches up to ``batch_size`` messages from a durable JetStream consumer that
all replicas of a service share (so adding replicas adds throughput), decodes each one, hands
the decoded batch to the service's handler and then carries out :func:`common.errors.decide`
for every message:

- acked only **after** the handler returned, i.e. after its effect is durable (the downstream
  publish was acknowledged, the rows committed); a crash before that means redelivery, never loss;
- a message that does not decode is terminated and logged with its subject — never retried,
  never a crash loop — and the rest of the batch goes on;
- if the handler raises, every message of the batch is negatively acked with a delay (or
  terminated, for :class:`~common.errors.InvalidMessage`), so nothing is lost and nothing spins.

Fetching stops as soon as ``stop`` is set; the batch in hand is finished and acked first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from common.errors import AckAction, InvalidMessage, decide
from common.internal_errors import report_internal_error
from common.metric_names import Metric
from common.telemetry import get_meter

T = TypeVar("T")

log = structlog.get_logger()
_terminated = get_meter(__name__).create_counter(
    Metric.MESSAGES_TERMINATED, description="messages terminated as invalid"
)


_TOP_UP_TIMEOUT_S = 0.01


@dataclass(frozen=True, slots=True)
class Delivery(Generic[T]):
    """A received message and its decoded payload."""

    msg: Msg
    value: T


Decoder = Callable[[bytes, str], T]
"""Decodes a payload (given its subject); raises InvalidMessage when it does not fit."""

Handler = Callable[[Sequence[Delivery[T]]], Awaitable[Mapping[int, BaseException] | None]]
"""Processes a batch; may return per-index failures, which are decided one by one."""


class BatchConsumer(Generic[T]):
    """Pulls, decodes, dispatches and acks batches from one durable consumer."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        durable: str,
        decode: Decoder[T],
        handler: Handler[T],
        service: str,
        batch_size: int = 500,
        fetch_timeout_s: float = 1.0,
    ) -> None:
        self._js = js
        self._stream = stream
        self._durable = durable
        self._decode = decode
        self._handler = handler
        self._service = service
        self._batch_size = batch_size
        self._fetch_timeout_s = fetch_timeout_s

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is always finished first."""
        sub = await self._js.pull_subscribe_bind(self._durable, self._stream)
        try:
            backoff_s = 0.1
            while not stop.is_set():
                try:
                    msgs = await self._fetch(sub)
                except (nats.errors.TimeoutError, TimeoutError):
                    # Nothing to fetch (nats-py raises either kind depending on the path).
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.NoRespondersError) as exc:
                    log.warning("fetch_failed", error=type(exc).__name__)
                    await _wait_or_stop(stop, backoff_s)
                    backoff_s = min(backoff_s * 2, 5.0)
                    continue
                except Exception as exc:
                    report_internal_error(exc, f"{self._service}.fetch")
                    await _wait_or_stop(stop, backoff_s)
                    backoff_s = min(backoff_s * 2, 5.0)
                    continue
                backoff_s = 0.1
                await self.process(msgs)
        finally:
            await sub.unsubscribe()

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait for the first message, then take whatever else is already there.

        nats-py's ``fetch(n)`` holds its pull request open until ``n`` messages arrived or the
        timeout passed, so a trickle (the usual Factorio log) would wait up to the timeout
        before anything is handled. One message is waited for; the rest of the batch is only
        what the server has right now (a 10 ms bound when it has nothing more).
        """
        msgs = await sub.fetch(1, timeout=self._fetch_timeout_s)
        if self._batch_size > 1:
            with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                msgs += await sub.fetch(self._batch_size - 1, timeout=_TOP_UP_TIMEOUT_S)
        return msgs

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Decode, handle and settle one fetched batch."""
        deliveries: list[Delivery[T]] = []
        for msg in msgs:
            try:
                deliveries.append(Delivery(msg, self._decode(msg.data, msg.subject)))
            except InvalidMessage as exc:
                await self._terminate(msg, exc)
        if not deliveries:
            return
        try:
            failures = await self._handler(deliveries) or {}
        except Exception as exc:
            if not isinstance(exc, InvalidMessage):
                log.warning("batch_failed", error=str(exc), size=len(deliveries))
            failures = dict.fromkeys(range(len(deliveries)), exc)
        for index, delivery in enumerate(deliveries):
            await self._settle(delivery.msg, failures.get(index))

    async def _settle(self, msg: Msg, exc: BaseException | None) -> None:
        decision = decide(exc)
        try:
            if decision.action is AckAction.ACK:
                await msg.ack()
            elif decision.action is AckAction.TERM:
                assert isinstance(exc, BaseException)
                await self._terminate(msg, exc)
            else:
                await msg.nak(delay=decision.delay_s)
        except Exception as ack_exc:
            # The ack could not be sent (connection lost): JetStream redelivers after ack_wait,
            # and every effect downstream is idempotent, so this costs time, not correctness.
            log.warning("settle_failed", action=decision.action.value, error=repr(ack_exc))

    async def _terminate(self, msg: Msg, exc: BaseException) -> None:
        _terminated.add(1, {"service": self._service})
        log.error(
            "message_terminated",
            subject=msg.subject,
            reason=str(exc),
            payload=getattr(exc, "payload", None) or msg.data[:200].decode("utf-8", "replace"),
        )
        await msg.term()


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
