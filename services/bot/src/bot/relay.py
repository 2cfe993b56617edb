"""The event relay: events stream → reorder window → one lane per (server, channel) → Discord.

Guarantees, in arroyo's words-first style:

- **Acked after Discord accepted.** A message is acked only when the post that carries it
  returned; a crash before that means redelivery, never loss.
- **Never twice.** Each post has a nonce (``enforce_nonce``), so hikari's own retries never
  double a message. Before a post of events the lane writes an intent (first and last source
  position, count, nonce) to the ``relay`` KV bucket; after a restart the redelivered events
  of that interrupted post are posted again *as the same group with the same nonce*, so Discord
  returns the message that already exists instead of creating a second one.
- **In order.** Per server by source position (the reorder window), then per lane in that order;
  a lane posts one message at a time.
- **Bursts are coalesced, never dropped**: whatever queued while a post was in flight (or while
  hikari waited out a 429) goes into the next message (:func:`bot.coalesce.take_post`).
- **Outages wait.** A post that fails for a transient reason (5xx, connection) is retried with
  backoff forever; the intake (:meth:`common.intake.Intake.run_held`) keeps held messages
  alive with in-progress acks and naks them on stop; once ``max_buffered`` events are held
  (counting every event of an event batch) nothing more is fetched, the rest wait in the
  stream. A post Discord rejects (4xx other than 429: unknown channel, missing access) is
  logged as an error and its messages are dead-lettered to ``<prefix>.dlq.bot`` (replayable
  once the channel is fixed), so one misconfigured channel cannot stall the others.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from nats.aio.client import Client as NatsClient
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from opentelemetry.trace import SpanKind

from bot.coalesce import take_post
from bot.mentions import MentionResolver
from bot.render import Item, Post, render_alert, render_event
from bot.reorder import ReorderWindow, SortKey
from bot.routing import alert_channels, event_channel, shared_channels
from common.backoff import Backoff, sleep_until_stop
from common.config import IsrConfig
from common.contracts import Alert, EventBatch, GameEvent, decode_events_payload, events_in
from common.dead_letters import DeadLetters
from common.errors import InvalidMessage
from common.intake import Held, Intake, PullOptions
from common.internal_errors import report_internal_error
from common.metric_names import Span
from common.topology import ConsumerPolicy
from common.tracing import span
from common.vocabulary import EventFlag

log = structlog.get_logger()

BRIDGED_FLAG = EventFlag.BRIDGED
"""Flag the parser sets on chat our own bridge put in the game; never relayed back."""
TRUNCATED_FLAG = EventFlag.TRUNCATED
"""Flag on an event whose line the tailer cut: its length says nothing about the next line."""
NONCE_CHARS = 25
"""Discord accepts nonces of at most 25 characters."""


class PostRejected(Exception):
    """Discord refused a post for good (4xx other than 429); retrying cannot help."""

    def __init__(self, channel_id: int, status: int, reason: str) -> None:
        self.channel_id = channel_id
        self.status = status
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"Discord refused a post to channel {self.channel_id}: {self.status} {self.reason}"


class Poster(Protocol):
    """Posts one message; raises :class:`PostRejected` for a permanent refusal."""

    def __call__(self, channel_id: int, post: Post, nonce: str | None) -> Awaitable[object]: ...


def make_nonce(*parts: object) -> str:
    """A deterministic nonce of 25 characters for the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:NONCE_CHARS]


Payload = GameEvent | EventBatch | Alert
"""What the events stream carries."""


def _decode(data: bytes, subject: str) -> Payload:
    return decode_events_payload(data, subject=subject)


class AckHandle:
    """One stream message that may feed several posts (an alert to several channels)."""

    def __init__(
        self, held: Held[Payload], parts: int, on_settled: Callable[[AckHandle], None], key: str
    ) -> None:
        self.key = key
        """The event, batch or alert id (the relay's index of held messages)."""
        self.held = held
        self.parts = parts
        self.left = parts
        self._on_settled = on_settled

    async def done(self) -> None:
        """One part posted; ack when all are."""
        self.left -= 1
        if self.left == 0:
            self._on_settled(self)
            await self.held.done()

    async def reject(self, reason: str) -> None:
        """Discord refused it for good: dead-letter it (replayable once the channel is fixed)."""
        if self.left > 0:
            self.left = 0
            self._on_settled(self)
            await self.held.fail(InvalidMessage(subject=self.held.msg.subject, reason=reason))


@dataclass
class _Routed:
    handle: AckHandle
    server: str
    channel_id: int
    key: SortKey | None
    event_id: str
    payload: GameEvent | Alert


@dataclass
class _Pending:
    handle: AckHandle
    event_id: str
    key: SortKey | None
    item: Item


@dataclass
class _Intent:
    first: SortKey
    last: SortKey
    count: int
    nonce: str


@dataclass
class _LaneState:
    skip_through: SortKey | None = None
    """Events up to here were posted before the last restart (from the KV)."""
    done: SortKey | None = None
    intent: _Intent | None = None
    recovery_deadline: float | None = None
    loaded: bool = False


@dataclass
class Lane:
    """Posts of one server to one channel, one at a time, in order."""

    server: str
    channel_id: int
    queue: deque[_Pending] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    state: _LaneState = field(default_factory=_LaneState)

    @property
    def key(self) -> str:
        """KV key of the lane's intent."""
        return f"{self.server}.{self.channel_id}"


class Relay:
    """Consumes the events stream and relays events and alerts to Discord (see module doc)."""

    def __init__(
        self,
        nc: NatsClient,
        dead_letters: DeadLetters,
        *,
        stream: str,
        durable: str,
        consumer: ConsumerPolicy,
        poster: Poster,
        kv: KeyValue,
        config: Callable[[], IsrConfig],
        mentions: Callable[[], MentionResolver],
        embed_kinds: frozenset[str],
        reorder_window_s: float,
        batch_size: int = 500,
        max_buffered: int = 2000,
        recovery_wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._intake: Intake[Payload] = Intake(
            nc,
            dead_letters,
            stream=stream,
            durable=durable,
            decode=_decode,
            consumer=consumer,
            pull=PullOptions(batch_size=batch_size),
            ready=self._has_room,
        )
        self._poster = poster
        self._kv = kv
        self._config = config
        self._mentions = mentions
        self._embed_kinds = embed_kinds
        self._window: ReorderWindow[_Routed] = ReorderWindow(reorder_window_s)
        self._batch_size = batch_size
        self._max_buffered = max_buffered
        self._recovery_wait_s = recovery_wait_s
        self._clock = clock
        self._lanes: dict[tuple[str, int], Lane] = {}
        self._held: dict[str, AckHandle] = {}
        self._held_parts = 0
        """Events (and alert copies) held: what ``max_buffered`` bounds."""
        self._space = asyncio.Event()
        self._wake_release = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._stop = asyncio.Event()
        self.posts = 0
        """Messages posted (for tests and the benchmark)."""

    # -- lifecycle --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; posts in flight finish, held events are nak'ed."""
        self._stop = stop
        lanes_done = asyncio.Event()
        async with asyncio.TaskGroup() as outer:
            outer.create_task(self._intake.run_held(self._take, stop, until=lanes_done))
            try:
                async with asyncio.TaskGroup() as tasks:
                    self._tasks = tasks
                    tasks.create_task(self._release_loop())
            finally:
                self._tasks = None
                lanes_done.set()
        self._held.clear()
        self._held_parts = 0

    async def _wait(self, event: asyncio.Event, timeout_s: float | None) -> None:
        stop_wait = asyncio.ensure_future(self._stop.wait())
        event_wait = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait(
                {stop_wait, event_wait}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop_wait.cancel()
            event_wait.cancel()

    # -- intake -----------------------------------------------------------------------------
    async def _has_room(self, stop: asyncio.Event) -> int | None:
        """The intake's ready hook: wait while ``max_buffered`` events are held."""
        while not stop.is_set():
            room = self._max_buffered - self._held_parts
            if room > 0:
                return min(self._batch_size, room)
            self._space.clear()
            await self._wait(self._space, 1.0)
        return None

    async def _take(self, batch: Sequence[Held[Payload]]) -> None:
        now = self._clock()
        for held in batch:
            await self._accept(held, now)
        self._wake_release.set()

    def _settled(self, handle: AckHandle) -> None:
        if self._held.get(handle.key) is handle:
            del self._held[handle.key]
            self._held_parts -= handle.parts
        self._space.set()

    async def _accept(self, held: Held[Payload], now: float) -> None:
        payload = held.value
        if payload.id in self._held:
            held.forget()  # a redelivery of what we still hold; the first copy will be acked
            return
        config = self._config()
        if isinstance(payload, GameEvent | EventBatch):
            routes = [(event, self._event_channel(config, event)) for event in events_in(payload)]
            wanted = [(event, channel) for event, channel in routes if channel is not None]
            if not wanted:
                await held.done()
                return
            # One handle for the message: it is acked once every event it carries was posted.
            handle = AckHandle(held, len(wanted), self._settled, payload.id)
            self._hold(handle)
            for event, channel in wanted:
                key = event.source.sort_key() if event.source else None
                end = None
                if event.source is not None and event.raw and TRUNCATED_FLAG not in event.flags:
                    end = event.source.offset + len(event.raw.encode())
                routed = _Routed(handle, event.server, channel, key, event.id, event)
                self._window.add(event.server, key, routed, now=now, end=end)
            return
        channels = alert_channels(config, payload)
        if not channels:
            await held.done()
            return
        handle = AckHandle(held, len(channels), self._settled, payload.id)
        self._hold(handle)
        for channel in channels:
            routed = _Routed(handle, payload.server, channel, None, payload.id, payload)
            self._window.add(payload.server, None, routed, now=now)

    def _hold(self, handle: AckHandle) -> None:
        self._held[handle.key] = handle
        self._held_parts += handle.parts

    @staticmethod
    def _event_channel(config: IsrConfig, event: GameEvent) -> int | None:
        """The channel an event goes to; None when it is not relayed (bridged, unrouted)."""
        server = config.servers.get(event.server)
        if server is None or BRIDGED_FLAG in event.flags:
            return None
        return event_channel(server, event)

    async def _release_loop(self) -> None:
        while not self._stop.is_set():
            due = self._window.next_due()
            timeout = None if due is None else max(0.0, due - self._clock())
            if timeout is None or timeout > 0:
                self._wake_release.clear()
                await self._wait(self._wake_release, timeout)
            for routed in self._window.release(now=self._clock()):
                self._route(routed)

    def _route(self, routed: _Routed) -> None:
        config = self._config()
        server = config.servers.get(routed.server)
        name = server.name if server is not None else routed.server
        if isinstance(routed.payload, Alert):
            item = render_alert(routed.payload, server_name=name)
        else:
            item = render_event(
                routed.payload,
                server_name=name,
                show_server=routed.channel_id in shared_channels(config),
                as_embed=routed.payload.type in self._embed_kinds,
                mentions=self._mentions(),
            )
        lane = self._lanes.get((routed.server, routed.channel_id))
        if lane is None:
            lane = Lane(routed.server, routed.channel_id)
            self._lanes[(routed.server, routed.channel_id)] = lane
            assert self._tasks is not None
            self._tasks.create_task(self._lane_loop(lane))
        lane.queue.append(_Pending(routed.handle, routed.event_id, routed.key, item))
        lane.wake.set()

    # -- lanes ------------------------------------------------------------------------------
    async def _lane_loop(self, lane: Lane) -> None:
        try:
            while not self._stop.is_set():
                if not lane.queue:
                    lane.wake.clear()
                    await self._wait(lane.wake, None)
                    continue
                if not lane.state.loaded:
                    await self._load_state(lane)
                group = await self._next_group(lane)
                if group is None:
                    deadline = lane.state.recovery_deadline or self._clock()
                    lane.wake.clear()
                    await self._wait(lane.wake, max(0.0, deadline - self._clock()))
                    continue
                await self._deliver(lane, *group)
        except Exception as exc:
            report_internal_error(exc, f"relay.lane.{lane.key}")
            raise

    async def _load_state(self, lane: Lane) -> None:
        try:
            entry = await self._kv.get(lane.key)
        except KeyNotFoundError:
            entry = None
        if entry is not None and entry.value:
            data = json.loads(entry.value)
            done = data.get("done")
            lane.state.skip_through = (done[0], done[1]) if done else None
            lane.state.done = lane.state.skip_through
            lane.state.intent = _Intent(
                (data["first"][0], data["first"][1]),
                (data["last"][0], data["last"][1]),
                data["count"],
                data["nonce"],
            )
            lane.state.recovery_deadline = self._clock() + self._recovery_wait_s
        lane.state.loaded = True

    async def _next_group(self, lane: Lane) -> tuple[list[_Pending], Post, str, bool] | None:
        """The next post of the lane: (members, post, nonce, is_keyed); None = wait for more."""
        state = lane.state
        while lane.queue:
            head = lane.queue[0]
            if (
                head.key is not None
                and state.skip_through is not None
                and head.key <= state.skip_through
            ):
                lane.queue.popleft()
                await head.handle.done()
                continue
            break
        if not lane.queue:
            return None
        head = lane.queue[0]
        intent = state.intent
        if intent is not None and head.key is not None and head.key <= intent.last:
            members = []
            for pending in lane.queue:
                if pending.key is None or not intent.first <= pending.key <= intent.last:
                    break
                members.append(pending)
            deadline = state.recovery_deadline or 0.0
            if len(members) < intent.count and self._clock() < deadline:
                return None
            post, used = take_post([m.item for m in members], max_items=len(members))
            state.intent = None
            return members[:used], post, intent.nonce, True
        if head.key is None:
            post, _used = take_post([head.item], max_items=1)
            return [head], post, make_nonce(lane.key, head.event_id), False
        keyed: list[_Pending] = []
        for pending in lane.queue:
            if pending.key is None:
                break
            keyed.append(pending)
        post, used = take_post([p.item for p in keyed])
        members = keyed[:used]
        nonce = make_nonce(lane.key, members[0].event_id, members[-1].event_id, used)
        intent = _Intent(members[0].key, members[-1].key, used, nonce)  # type: ignore[arg-type]
        await self._write_intent(lane, intent)
        state.intent = None
        return members, post, nonce, True

    def _recovered(self, lane: Lane) -> bool:
        return lane.state.recovery_deadline is None or self._clock() >= lane.state.recovery_deadline

    async def _write_intent(self, lane: Lane, intent: _Intent) -> None:
        value = {
            "first": intent.first,
            "last": intent.last,
            "count": intent.count,
            "nonce": intent.nonce,
            "done": lane.state.done,
        }
        backoff = Backoff(initial_s=0.1, max_s=5.0)
        while True:
            try:
                await self._kv.put(lane.key, json.dumps(value).encode())
            except Exception as exc:  # NATS reconnecting: the post must not go out unrecorded
                log.warning("relay_intent_failed", lane=lane.key, error=repr(exc))
                await asyncio.sleep(backoff.next_delay_s())  # a retry delay, not synchronisation
            else:
                return

    async def _deliver(
        self, lane: Lane, members: list[_Pending], post: Post, nonce: str, is_keyed: bool
    ) -> None:
        backoff = Backoff(initial_s=0.5, max_s=30.0)
        contexts = [m.handle.held.trace for m in members if m.handle.held.trace is not None]
        while True:
            try:
                if contexts:
                    # The end of the line's trace: child of the first event's, links the
                    # coalesced others; one span per attempt, ended when Discord answered.
                    with span(
                        Span.DISCORD_POST,
                        kind=SpanKind.CLIENT,
                        parent=contexts[0],
                        links=contexts[1:],
                        attributes={"server": lane.server, "isr.events": len(members)},
                    ):
                        await self._poster(lane.channel_id, post, nonce)
                else:
                    await self._poster(lane.channel_id, post, nonce)
                break
            except PostRejected as exc:
                log.error("relay_post_rejected", lane=lane.key, error=str(exc), events=len(members))
                for member in members:
                    lane.queue.popleft()
                    await member.handle.reject(str(exc))
                self._advance(lane, members, is_keyed)
                return
            except Exception as exc:
                delay_s = backoff.next_delay_s()
                log.warning(
                    "relay_post_failed",
                    lane=lane.key,
                    error=repr(exc),
                    retry_in_s=round(delay_s, 2),
                )
                if await sleep_until_stop(self._stop, delay_s):
                    return  # not acked: redelivered to the next instance, same nonce
        self.posts += 1
        for member in members:
            lane.queue.popleft()
            await member.handle.done()
        self._advance(lane, members, is_keyed)

    @staticmethod
    def _advance(lane: Lane, members: list[_Pending], is_keyed: bool) -> None:
        keys = [m.key for m in members if m.key is not None]
        if is_keyed and keys:
            last = max(keys)
            lane.state.done = last if lane.state.done is None else max(lane.state.done, last)
