"""Confirmed, de-duplicated publishing to JetStream.

:func:`publish_confirmed` sends a group of messages and returns only when JetStream has
acknowledged every one of them. Each carries ``Nats-Msg-Id`` (the stable id of what it holds), so
a retry within the stream's duplicate window is dropped by the server. A message whose
acknowledgement does not arrive in time (server restarting, connection lost) or is an error is
sent again with the same id, after a backoff, until it is acknowledged or the caller is
cancelled: nothing is dropped and nothing doubles.

Why not ``js.publish_async``: it creates a future, a semaphore slot and (with our timeout) a task
per message, which capped a parser at about 6,000 events/s. Here every publish of a connection
shares one reply subscription and a group waits on a single event, which is several times faster
(see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from common.backoff import Backoff
from common.errors import PipelineError

log = structlog.get_logger()

_MAX_BACKOFF_S = 5.0
_REFUSED_MAX_BACKOFF_S = 1.0
"""Longest pause before re-sending messages that were all refused at once (no timeout)."""
WINDOW = 4096
"""Messages sent before waiting for their acknowledgements (bounds memory and buffers)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish."""

    subject: str
    payload: bytes
    msg_id: str
    """Value of ``Nats-Msg-Id``: the stable id of what the message carries."""
    headers: Mapping[str, str] | None = None
    """Further headers (the trace context, :func:`common.tracing.inject`); None: only the id."""


_HEADER_OVERHEAD = 64
"""Bytes of ``NATS/1.0`` and the ``Nats-Msg-Id`` header line around the id itself."""


class PayloadTooLarge(PipelineError):
    """A message is larger than the server accepts (``max_payload``); it is never retried."""

    def __init__(self, subject: str, size: int, max_payload: int) -> None:
        self.subject = subject
        self.size = size
        self.max_payload = max_payload
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"message for {self.subject} is {self.size} bytes, more than the server's "
            f"max_payload of {self.max_payload}"
        )


def wire_size(message: Outgoing) -> int:
    """Bytes the server counts against ``max_payload``: payload plus headers."""
    size = len(message.payload) + len(message.msg_id) + _HEADER_OVERHEAD
    if message.headers:
        # "<name>: <value>\r\n" per extra header line.
        size += sum(len(k) + len(v) + 4 for k, v in message.headers.items())
    return size


def max_payload(js: JetStreamContext) -> int:
    """The most bytes (payload and headers) of one message the connected server accepts."""
    return int(js._nc.max_payload)  # noqa: SLF001


@dataclass(slots=True)
class _Group:
    """Acknowledgements still expected for one window."""

    waiting: set[int]
    failed: list[int] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ConfirmedPublisher:
    """Publishes over one connection with a shared acknowledgement subscription."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._next = count()
        self._groups: dict[int, _Group] = {}  # token -> its group
        self._lock = asyncio.Lock()

    async def _ensure_subscription(self) -> None:
        if self._sub is None:
            async with self._lock:
                if self._sub is None:
                    self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)

    async def _on_ack(self, msg: Msg) -> None:
        token = int(msg.subject.rsplit(".", 1)[1])
        group = self._groups.pop(token, None)
        if group is None:
            return  # a late acknowledgement of a message already retried
        group.waiting.discard(token)
        # A PubAck is {"stream":..,"seq":..[,"duplicate":true]}; anything with "error" failed,
        # and an empty body is a status message (503: no stream listens on that subject).
        if not msg.data or b'"error"' in msg.data:
            group.failed.append(token)
            log.warning("publish_rejected", reply=msg.data[:200].decode("utf-8", "replace"))
        if not group.waiting:
            group.done.set()

    async def publish(self, messages: Sequence[Outgoing], *, ack_timeout_s: float = 5.0) -> None:
        """Publish every message; return once all are acknowledged (retrying as needed).

        Raises:
            PayloadTooLarge: a message exceeds the server's ``max_payload`` (checked before
                anything is sent: a retry could never succeed, so the caller must split it).
        """
        limit = self._nc.max_payload
        for message in messages:
            if wire_size(message) > limit:
                raise PayloadTooLarge(message.subject, wire_size(message), limit)
        await self._ensure_subscription()
        for start in range(0, len(messages), WINDOW):
            await self._publish_window(messages[start : start + WINDOW], ack_timeout_s)

    async def _publish_window(self, messages: Sequence[Outgoing], ack_timeout_s: float) -> None:
        pending = list(messages)
        backoff = Backoff(initial_s=0.1, max_s=_MAX_BACKOFF_S)
        while pending:
            tokens = {next(self._next): message for message in pending}
            group = _Group(waiting=set(tokens))
            for token in tokens:
                self._groups[token] = group
            try:
                for token, message in tokens.items():
                    await self._nc.publish(
                        message.subject,
                        message.payload,
                        reply=f"{self._inbox}.{token}",
                        headers=(
                            {"Nats-Msg-Id": message.msg_id}
                            if message.headers is None
                            else {**message.headers, "Nats-Msg-Id": message.msg_id}
                        ),
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(group.done.wait(), ack_timeout_s)
            except Exception as exc:  # disconnected while sending: retry what is unconfirmed
                log.warning("publish_failed", error=repr(exc))
            finally:
                for token in tokens:
                    self._groups.pop(token, None)
            unconfirmed = group.waiting | set(group.failed)
            pending = [tokens[t] for t in sorted(unconfirmed)]
            if pending:
                delay_s = backoff.next_delay_s()
                if not group.waiting:
                    # All refused at once, none timed out: typically a 503 while a JetStream
                    # cluster elects the stream's new leader (seconds). Asking again within a
                    # second costs nothing and ends the pause soon after the election.
                    delay_s = min(delay_s, _REFUSED_MAX_BACKOFF_S)
                log.warning("publish_retry", count=len(pending), backoff_s=round(delay_s, 3))
                await asyncio.sleep(delay_s)  # backoff between retries, not synchronisation


_publishers: weakref.WeakKeyDictionary[NatsClient, ConfirmedPublisher] = weakref.WeakKeyDictionary()


def publisher_for(nc: NatsClient) -> ConfirmedPublisher:
    """The connection's shared publisher (created on first use)."""
    publisher = _publishers.get(nc)
    if publisher is None:
        publisher = _publishers[nc] = ConfirmedPublisher(nc)
    return publisher


async def publish_confirmed(
    js: JetStreamContext,
    messages: Sequence[Outgoing],
    *,
    ack_timeout_s: float = 5.0,
) -> None:
    """Publish every message and return once JetStream has acknowledged all of them."""
    if messages:
        await publisher_for(js._nc).publish(messages, ack_timeout_s=ack_timeout_s)  # noqa: SLF001
