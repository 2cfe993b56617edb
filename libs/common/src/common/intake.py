"""The one intake: the only code that pulls from a durable JetStream consumer.

Every service hands the intake a decoder and a handler; the intake pulls, decodes, calls the
handler and settles each message with what :func:`common.errors.decide` says (ack, nak with a
delay that grows with the delivery count, or dead-letter then terminate). Services hold
handlers, not loops, and never ack, nak or terminate themselves.

**Pulling.** One raw pull request (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`` with
``batch``, ``max_bytes`` and ``expires``) into an inbox subscription whose callback collects
the messages in a list. nats-py's ``fetch`` waits for each message with its own
``asyncio.wait_for``, which capped one process at about 17,000 messages/s; collecting in a
callback is several times faster (docs/performance.md). When the first message of a request
arrives and the rest do not come at once (a trickle), the batch is taken after ``linger_s``
instead of waiting for the request to expire. Several loops may pull the same durable (in one
process or many): while one waits for its handler, another fetches. An optional ``ready``
hook runs before each pull: persistence waits there while Postgres is down (nothing is
fetched, the stream keeps the messages), the bot while it holds as many events as it may.

**Two ways to settle.**

- :meth:`Intake.run`: settle when the handler returns (parser, persistence). The handler gets
  the decoded batch and may return failures by index; anything it raises applies to the whole
  batch. A poison or unexpected failure of a batch of several is isolated by bisecting (the
  halves are handled again, which handlers tolerate because every effect is idempotent), so
  the good neighbours of one bad message are processed now and only the culprit is retried
  or dead-lettered. A :class:`~common.errors.TransientError` applies to the whole batch.
- :meth:`Intake.run_held`: the handler gets a :class:`Held` per message and settles it
  itself, possibly much later (the bot acks after Discord accepted the post).

**Kept alive.** Every message received and not yet settled (being handled, held, or waiting
in the inbox list) gets an in-progress ack every third of the consumer's ack wait, so the
ack wait can be a few seconds: only a crashed worker's messages wait it out. On stop, the
batch in hand is finished and held or not-yet-handled messages are nak'd for prompt
redelivery.

**Poison never stalls.** A message that does not decode, or that its handler rejects as
:class:`~common.errors.InvalidMessage`, is published to ``<prefix>.dlq.<service>``
(:mod:`common.dead_letters`) and then terminated. A message still failing on its consumer's
last allowed delivery (``max_deliver``) is dead-lettered too, never dropped silently.

**One place to observe.** :meth:`_Observer.received` sees every fetched batch and
:meth:`_Settler.settle` every outcome: message metrics are counted there, and that is where
trace context from headers is read (``process`` spans per distinct sampled parent, exposed as
``Delivery.trace`` / ``Held.trace``; nothing per message when tracing is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

import nats.errors
import orjson
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from opentelemetry.context import Context
from opentelemetry.trace import Span

from common.backoff import Backoff, sleep_until_stop
from common.consumer_lag import LagWatch
from common.dead_letters import DeadLetters
from common.errors import AckAction, RedeliveryPolicy, TransientError, decide, is_poison
from common.internal_errors import report_internal_error
from common.metric_names import Metric
from common.telemetry import counter, histogram, tracing_enabled
from common.topology import ConsumerPolicy
from common.tracing import TRACEPARENT, context_of, extract, is_sampled, start_messaging_span

T = TypeVar("T")

log = structlog.get_logger()
_batch_size = histogram(Metric.INTAKE_BATCH_SIZE)
_redelivered = counter(Metric.MESSAGES_REDELIVERED)
_naks = counter(Metric.MESSAGES_NAKED)
_dead_lettered = counter(Metric.MESSAGES_DEAD_LETTERED)
_terminated = counter(Metric.MESSAGES_TERMINATED)

_STATUS = "Status"
_HEARTBEAT = "100"
_NO_RESPONDERS = "503"
_API_PREFIX = "$JS.API"
_LOST_REQUEST_MARGIN_S = 2.0


@dataclass(frozen=True, slots=True)
class Delivery(Generic[T]):
    """A received message and its decoded payload."""

    msg: Msg
    value: T
    trace: Context | None = None
    """The context of the intake's ``process`` span for this message (publish downstream
    under it); None when tracing is off or the message carried no sampled context."""


Decoder = Callable[[bytes, str], T]
"""Decodes a payload (given its subject); raises InvalidMessage when it does not fit."""

BatchHandler = Callable[[Sequence[Delivery[T]]], Awaitable[Mapping[int, BaseException] | None]]
"""Processes a batch; may return per-index failures, which are decided one by one."""

Ready = Callable[[asyncio.Event], Awaitable[int | None]]
"""Waits until the service can take more (or stop is set); returns the most messages it may
take now, or None for the configured batch size."""


@dataclass(frozen=True, slots=True)
class PullOptions:
    """How one intake pulls."""

    batch_size: int = 500
    """Most messages per pull request (and per handler call)."""
    max_bytes: int | None = None
    """Most bytes per pull request; raised to the server's ``max_payload`` when lower, so the
    largest message still fits (a smaller request would end with 409 and stall on it)."""
    expires_s: float = 1.0
    """How long one pull request stays open on the server."""
    linger_s: float = 0.02
    """After a first message, how long to wait for more before handling what came."""
    loops: int = 1
    """Pull loops on the durable in this process (one fetches while another handles)."""


def delivery_count(msg: Msg) -> int:
    """How often JetStream has delivered ``msg`` (from its reply subject; 1 when unknown)."""
    reply = msg.reply
    if not reply:
        return 1
    tokens = reply.split(".")
    # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>, or the v2 form with
    # <domain>.<account hash> after $JS.ACK (12 or more tokens).
    index = 4 if len(tokens) == 9 else 6
    try:
        return int(tokens[index])
    except (IndexError, ValueError):
        return 1


class _Observer:
    """Counts what the intake receives (and later reads trace context) in one place."""

    def __init__(self, service: str, durable: str) -> None:
        self._attributes = {"service": service, "durable": durable}

    def received(self, msgs: Sequence[Msg]) -> None:
        _batch_size.record(len(msgs), self._attributes)
        again = sum(1 for msg in msgs if delivery_count(msg) > 1)
        if again:
            _redelivered.add(again, self._attributes)

    def settled(self, action: AckAction, count: int = 1) -> None:
        if action is AckAction.NAK:
            _naks.add(count, self._attributes)
        elif action is AckAction.DEAD_LETTER:
            _dead_lettered.add(count, self._attributes)
            _terminated.add(count, self._attributes)


class _Share:
    """One ``process`` span shared by the messages of a batch that carried the same parent."""

    __slots__ = ("left", "span")

    def __init__(self, span: Span, left: int) -> None:
        self.span = span
        self.left = left

    def release(self) -> None:
        """One message settled; the span ends with the last."""
        self.left -= 1
        if self.left == 0:
            self.span.end()


def _traced(
    msgs: Sequence[Msg], durable: str
) -> tuple[dict[int, tuple[Context, _Share]], list[_Share]]:
    """Start one ``process`` span per distinct sampled parent in ``msgs`` (by index).

    Many messages of one trace (the events of one raw batch) share a span, a child of the
    context they carried; messages without a sampled context cost no span.
    """
    groups: dict[str, list[int]] = {}
    for index, msg in enumerate(msgs):
        headers = msg.headers
        if headers and is_sampled(headers):
            groups.setdefault(headers[TRACEPARENT], []).append(index)
    by_index: dict[int, tuple[Context, _Share]] = {}
    shares: list[_Share] = []
    for indexes in groups.values():
        first = msgs[indexes[0]]
        parent = extract(first.headers)
        if parent is None:
            continue
        span = start_messaging_span(
            "process",
            first.subject,
            parent=parent,
            message_id=(first.headers or {}).get("Nats-Msg-Id"),
            batch_size=len(indexes),
            consumer_group=durable,
        )
        share = _Share(span, len(indexes))
        shares.append(share)
        context = context_of(span)
        for index in indexes:
            by_index[index] = (context, share)
    return by_index, shares


class _Settler:
    """Carries out :func:`common.errors.decide` for one message."""

    def __init__(
        self, dead_letters: DeadLetters, policy: RedeliveryPolicy, observer: _Observer
    ) -> None:
        self._dead_letters = dead_letters
        self._policy = policy
        self._observer = observer

    async def settle(self, msg: Msg, exc: BaseException | None) -> None:
        delivered = delivery_count(msg) if exc is not None else 1
        decision = decide(exc, delivered=delivered, policy=self._policy)
        try:
            if decision.action is AckAction.ACK:
                await msg.ack()
                return
            if decision.action is AckAction.DEAD_LETTER:
                await self._dead_letter(msg, decision.reason, delivered)
                return
            await msg.nak(delay=decision.delay_s)
            self._observer.settled(AckAction.NAK)
        except Exception as settle_exc:
            # The ack could not be sent (connection lost): JetStream redelivers after ack_wait,
            # and every effect downstream is idempotent, so this costs time, not correctness.
            log.warning("settle_failed", action=decision.action.value, error=repr(settle_exc))

    async def nak_now(self, msg: Msg) -> None:
        """Give a message back without delay (stop): the next instance gets it at once."""
        with contextlib.suppress(Exception):
            if not msg.is_acked:
                await msg.nak()
                self._observer.settled(AckAction.NAK)

    async def _dead_letter(self, msg: Msg, reason: str, delivered: int) -> None:
        try:
            await self._dead_letters.send(msg, reason)
        except TransientError as exc:
            # On the last delivery JetStream will not offer it again: say so loudly.
            report = log.error if self._policy.is_last(delivered) else log.warning
            report(
                "dead_letter_failed",
                subject=msg.subject,
                reason=reason,
                error=str(exc),
                last_delivery=self._policy.is_last(delivered),
            )
            await msg.nak(delay=exc.delay_s)
            return
        log.error(
            "message_dead_lettered",
            subject=msg.subject,
            reason=reason,
            delivered=delivered,
            dead_letter_subject=self._dead_letters.subject,
        )
        await msg.term()
        self._observer.settled(AckAction.DEAD_LETTER)


class _KeepAlive:
    """Sends in-progress acks for every received, unsettled message, in groups."""

    def __init__(self, ack_wait_s: float) -> None:
        self.interval_s = ack_wait_s / 3
        self._groups: dict[int, tuple[Sequence[Msg], list[float]]] = {}

    def track(self, msgs: Sequence[Msg]) -> int:
        """Keep ``msgs`` alive until :meth:`untrack`; returns the group's key."""
        key = id(msgs)
        self._groups[key] = (msgs, [time.monotonic()])
        return key

    def untrack(self, key: int) -> None:
        self._groups.pop(key, None)

    def unsettled(self) -> list[Msg]:
        return [m for msgs, _ in self._groups.values() for m in msgs if not m.is_acked]

    async def run(self, stop: asyncio.Event) -> None:
        while not await sleep_until_stop(stop, self.interval_s / 2):
            now = time.monotonic()
            for msgs, touched in list(self._groups.values()):
                if now - touched[0] < self.interval_s:
                    continue
                touched[0] = now
                for msg in msgs:
                    if not msg.is_acked:
                        with contextlib.suppress(Exception):
                            await msg.in_progress()


class _Puller:
    """One raw pull loop: asks for a batch, collects it in a callback, hands it over."""

    def __init__(self, nc: NatsClient, next_subject: str, options: PullOptions) -> None:
        self._nc = nc
        self._next_subject = next_subject
        self._options = options
        self.box: list[Msg] = []
        self._wanted = 0
        self._wake = asyncio.Event()
        self._arrived = asyncio.Event()
        self._sub: object = None
        self._inbox = ""
        self._backoff = Backoff(initial_s=0.1, max_s=5.0)
        # Short cap: the consumer usually has a leader again within seconds (an election).
        self._leaderless = Backoff(initial_s=0.05, max_s=1.0)
        self._ended_with: str | None = None

    async def _collect(self, msg: Msg) -> None:
        status = msg.headers.get(_STATUS) if msg.headers else None
        if status is not None:
            if status != _HEARTBEAT:  # 404 no messages, 408 expired, 409: this request is over
                self._ended_with = status
                self._wake.set()
            return
        self.box.append(msg)
        self._arrived.set()
        if len(self.box) >= self._wanted:
            self._wake.set()

    def _unserved(self) -> bool:
        """The last request ended with no responders (503): nobody serves the consumer."""
        return self._ended_with == _NO_RESPONDERS

    async def open(self) -> None:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(
            self._inbox,
            cb=self._collect,
            pending_msgs_limit=4 * self._options.batch_size + 1000,
            pending_bytes_limit=512 * 1024 * 1024,
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()  # type: ignore[attr-defined]

    def _request(self, batch: int) -> bytes:
        pull: dict[str, int] = {"batch": batch, "expires": int(self._options.expires_s * 1e9)}
        if self._options.max_bytes is not None:
            pull["max_bytes"] = max(self._options.max_bytes, self._nc.max_payload)
        return orjson.dumps(pull)

    async def next_batch(self, stop: asyncio.Event, room: int | None) -> list[Msg]:
        """The next batch (possibly empty: the request expired, or NATS is away)."""
        if not self.box:
            wanted = self._options.batch_size if room is None else max(1, room)
            wanted = min(wanted, self._options.batch_size)
            self._wake.clear()
            self._arrived.clear()
            self._wanted = wanted
            self._ended_with = None
            try:
                await self._nc.publish(self._next_subject, self._request(wanted), reply=self._inbox)
            except (
                nats.errors.ConnectionClosedError,
                nats.errors.ConnectionReconnectingError,
                nats.errors.OutboundBufferLimitError,
            ) as exc:
                log.warning("pull_failed", error=type(exc).__name__)
                await sleep_until_stop(stop, self._backoff.next_delay_s())
                return []
            self._backoff.reset()
            await self._wait_for_batch(stop)
            if not self.box and self._unserved():
                # Nobody serves the consumer right now: on a JetStream cluster its leader died
                # and a new one is being elected (seconds), or JetStream is restarting. The
                # 503 comes back at once, so asking again at once would spin at thousands of
                # requests a second per loop, taking CPU from the election and the services.
                await sleep_until_stop(stop, self._leaderless.next_delay_s())
                return []
            self._leaderless.reset()
        # The list object stays the same (the keep-alive tracks it); its contents move out.
        batch = self.box[:]
        self.box.clear()
        return batch

    async def _wait_for_batch(self, stop: asyncio.Event) -> None:
        """Until the batch is full, the request ended, or a first message lingered briefly.

        Also returns on stop; whatever arrives after that is nak'd.
        """
        arrived = asyncio.ensure_future(self._arrived.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            # The server ends the request itself after expires_s; the margin covers a request
            # lost while NATS reconnects, after which we simply ask again.
            await asyncio.wait(
                {arrived, woken, stopped},
                timeout=self._options.expires_s + _LOST_REQUEST_MARGIN_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if arrived.done() and not woken.done():
                # A trickle: take what came within the linger instead of waiting for expiry;
                # the rest of this request's messages land in the next batch.
                await asyncio.wait({woken}, timeout=self._options.linger_s)
        finally:
            arrived.cancel()
            woken.cancel()
            stopped.cancel()


class Held(Generic[T]):
    """A received message its handler settles itself, later (:meth:`Intake.run_held`).

    Until it is settled the intake keeps it alive with in-progress acks; on stop it is nak'd.
    The first settlement wins; later ones are ignored.
    """

    __slots__ = ("_intake", "_key", "_share", "msg", "trace", "value")

    def __init__(
        self,
        intake: Intake[T],
        msg: Msg,
        value: T,
        key: int,
        *,
        trace: Context | None = None,
        share: _Share | None = None,
    ) -> None:
        self._intake = intake
        self._key = key
        self._share = share
        self.msg = msg
        """The message (read its subject or headers; never settle it directly)."""
        self.value = value
        """The decoded payload."""
        self.trace = trace
        """The context of its ``process`` span (parent of the post), or None (see Delivery)."""

    @property
    def is_settled(self) -> bool:
        """True once done, failed or forgotten."""
        return self._key < 0

    async def done(self) -> None:
        """The effect is durable: acknowledge."""
        await self._settle(None)

    async def fail(self, exc: BaseException) -> None:
        """Handling failed with ``exc``: settled as :func:`common.errors.decide` says."""
        await self._settle(exc)

    def forget(self) -> None:
        """Stop keeping it alive without telling JetStream.

        For a redelivered copy of a message still held: the first copy's settlement covers it.
        """
        if not self.is_settled:
            self._intake._keepalive.untrack(self._key)  # noqa: SLF001
            self._key = -1
            if self._share is not None:
                self._share.release()

    async def _settle(self, exc: BaseException | None) -> None:
        if self.is_settled:
            return
        self.forget()
        await self._intake._settler.settle(self.msg, exc)  # noqa: SLF001
        self._intake._on_settled()  # noqa: SLF001


HeldHandler = Callable[[Sequence[Held[T]]], Awaitable[None]]
"""Takes a batch of held messages; settles each (now or later) through its :class:`Held`."""


class Intake(Generic[T]):
    """Pulls, decodes, dispatches and settles the messages of one durable consumer."""

    def __init__(
        self,
        nc: NatsClient,
        dead_letters: DeadLetters,
        *,
        stream: str,
        durable: str,
        decode: Decoder[T],
        consumer: ConsumerPolicy,
        pull: PullOptions | None = None,
        ready: Ready | None = None,
    ) -> None:
        self._nc = nc
        self._durable = durable
        self._next_subject = f"{_API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._decode = decode
        self._pull = pull or PullOptions()
        self._ready = ready
        self._observer = _Observer(dead_letters.service, durable)
        self._settler = _Settler(
            dead_letters, RedeliveryPolicy(max_deliver=consumer.max_deliver), self._observer
        )
        self._keepalive = _KeepAlive(consumer.ack_wait_s)
        self._lag = LagWatch(nc, stream, durable)
        """Consumer lag for the ``isr.consumer.*`` gauges (:mod:`common.consumer_lag`)."""
        self._settled_hook: Callable[[], None] = lambda: None

    def _on_settled(self) -> None:
        self._settled_hook()

    def on_settled(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` after each :class:`Held` is settled (the bot wakes its fetch there)."""
        self._settled_hook = hook

    async def run(self, handler: BatchHandler[T], stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, settling each batch when ``handler`` returns.

        The batches in hand are finished first; messages received but not handled are nak'd.
        """

        async def process(msgs: list[Msg]) -> None:
            key = self._keepalive.track(msgs)
            shares: list[_Share] = []
            try:
                deliveries, shares = await self._decoded(msgs)
                failures = await self._isolating(handler, deliveries) if deliveries else {}
                for position, delivery in enumerate(deliveries):
                    await self._settler.settle(delivery.msg, failures.get(position))
            finally:
                self._keepalive.untrack(key)
                for share in shares:  # the batch is settled: its spans end
                    share.span.end()

        async with self._kept_alive():
            await self._consume(process, stop)

    async def run_held(
        self, handler: HeldHandler[T], stop: asyncio.Event, *, until: asyncio.Event | None = None
    ) -> None:
        """Consume until ``stop`` is set; ``handler`` settles each message through its Held.

        After ``stop``, held messages are still kept alive until ``until`` is set (the service
        finishing what it has in flight); then every message still held is nak'd, so the next
        instance gets it at once.
        """

        async def process(msgs: list[Msg]) -> None:
            deliveries, shares = await self._decoded(msgs, held=True)
            held = [
                Held(
                    self,
                    d.msg,
                    d.value,
                    self._keepalive.track((d.msg,)),
                    trace=d.trace,
                    share=share,
                )
                for d, share in zip(deliveries, shares, strict=True)
            ]
            if not held:
                return
            try:
                await handler(held)
            except Exception as exc:  # a bug in the handler: settle what it left unsettled
                report_internal_error(exc, f"intake.{self._durable}.handler")
                for one in held:
                    await one.fail(exc)

        async with self._kept_alive():
            try:
                await self._consume(process, stop)
                if until is not None:
                    await until.wait()
            finally:
                for msg in self._keepalive.unsettled():
                    await self._settler.nak_now(msg)

    @contextlib.asynccontextmanager
    async def _kept_alive(self) -> AsyncIterator[None]:
        quit_ = asyncio.Event()
        task = asyncio.create_task(self._keepalive.run(quit_))
        lag = asyncio.create_task(self._lag.run(quit_))
        try:
            yield
        finally:
            quit_.set()
            await task
            # A lookup in flight (up to its timeout while NATS is away) must not delay the stop.
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag

    @overload
    async def _decoded(
        self, msgs: Sequence[Msg], *, held: Literal[False] = False
    ) -> tuple[list[Delivery[T]], list[_Share]]: ...
    @overload
    async def _decoded(
        self, msgs: Sequence[Msg], *, held: Literal[True]
    ) -> tuple[list[Delivery[T]], list[_Share | None]]: ...
    async def _decoded(
        self, msgs: Sequence[Msg], *, held: bool = False
    ) -> tuple[list[Delivery[T]], list[_Share]] | tuple[list[Delivery[T]], list[_Share | None]]:
        """Decode each message on its own; settle at once those that do not decode.

        Also the batch's ``process`` spans when tracing is on: all of them, or (``held``) the
        one of each delivery, which ends when the last held message sharing it is settled.
        """
        deliveries: list[Delivery[T]] = []
        decode = self._decode
        if not tracing_enabled():  # the hot path: no per-message trace work at all
            for msg in msgs:
                try:
                    deliveries.append(Delivery(msg, decode(msg.data, msg.subject)))
                except Exception as exc:  # InvalidMessage: dead-letter; a bug: retry later
                    await self._settler.settle(msg, exc)
            if held:
                untraced: list[_Share | None] = [None] * len(deliveries)
                return deliveries, untraced
            return deliveries, []
        traced, shares = _traced(msgs, self._durable)
        per_delivery: list[_Share | None] = []
        for index, msg in enumerate(msgs):
            context, share = traced.get(index, (None, None))
            try:
                deliveries.append(Delivery(msg, decode(msg.data, msg.subject), context))
            except Exception as exc:  # InvalidMessage: dead-letter; a bug: retry later
                await self._settler.settle(msg, exc)
                if held and share is not None:
                    share.release()
                continue
            per_delivery.append(share)
        return (deliveries, per_delivery) if held else (deliveries, shares)

    async def _isolating(
        self, handler: BatchHandler[T], deliveries: Sequence[Delivery[T]], *, depth: int = 0
    ) -> dict[int, BaseException]:
        """The handler's failures by index, bisecting a failed batch down to its culprits."""
        try:
            return dict(await handler(deliveries) or {})
        except Exception as exc:
            size = len(deliveries)
            if isinstance(exc, TransientError) or size == 1:
                if depth == 0 or not is_poison(exc):
                    log.warning("batch_failed", error=str(exc), size=size, depth=depth)
                return dict.fromkeys(range(size), exc)
            if depth == 0:
                log.warning("batch_isolating", error=str(exc), size=size)
            half = size // 2
            left = await self._isolating(handler, deliveries[:half], depth=depth + 1)
            right = await self._isolating(handler, deliveries[half:], depth=depth + 1)
            return left | {half + index: e for index, e in right.items()}

    async def _consume(
        self, process: Callable[[list[Msg]], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        async def loop(puller: _Puller) -> None:
            await puller.open()
            boxed = self._keepalive.track(puller.box)
            try:
                while not stop.is_set():
                    room = await self._ready(stop) if self._ready is not None else None
                    if stop.is_set():
                        break
                    msgs = await puller.next_batch(stop, room)
                    if not msgs:
                        continue
                    self._observer.received(msgs)
                    try:
                        await process(msgs)
                    except Exception as exc:  # settle failures are logged inside; this is a bug
                        report_internal_error(exc, f"intake.{self._durable}")
            finally:
                self._keepalive.untrack(boxed)
                await puller.close()
                for msg in puller.box:  # arrived after the last batch was taken
                    await self._settler.nak_now(msg)
                puller.box.clear()

        pullers = [
            _Puller(self._nc, self._next_subject, self._pull) for _ in range(self._pull.loops)
        ]
        await asyncio.gather(*(loop(p) for p in pullers))
