"""Reading what crossed a JetStream stream, for assertions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from common.contracts import Alert, GameEvent, decode_events
from isr_testing.waiting import wait_for


async def read_subject(
    js: JetStreamContext, subject: str, *, count: int, timeout_s: float = 30.0
) -> list[Msg]:
    """Every message stored under ``subject``, waiting up to ``timeout_s`` for ``count``.

    Returns what arrived (assert on its length).

    A short grace period after reaching ``count`` catches any *extra* message (a duplicate),
    so a test can assert ``len(...) == count`` and mean "exactly".
    """
    received: list[Msg] = []
    enough = asyncio.Event()

    async def on_msg(msg: Msg) -> None:
        received.append(msg)
        if len(received) >= count:
            enough.set()

    await _read(js, subject, on_msg, enough, timeout_s)
    return received


async def read_events(
    js: JetStreamContext, subject: str, *, count: int, timeout_s: float = 30.0
) -> list[GameEvent | Alert]:
    """Every event and alert stored under ``subject`` (event batches opened), in stream order.

    Decoded strictly; waits up to ``timeout_s`` for ``count`` *events* (not messages), then a
    short grace period for extras, like :func:`read_subject`.
    """
    received: list[GameEvent | Alert] = []
    enough = asyncio.Event()

    async def on_msg(msg: Msg) -> None:
        received.extend(decode_events(msg.data, strict=True, subject=msg.subject))
        if len(received) >= count:
            enough.set()

    await _read(js, subject, on_msg, enough, timeout_s)
    return received


async def _read(
    js: JetStreamContext,
    subject: str,
    on_msg: Callable[[Msg], Awaitable[None]],
    enough: asyncio.Event,
    timeout_s: float,
) -> None:
    async def subscribe() -> object:
        try:
            return await js.subscribe(
                subject,
                cb=on_msg,
                ordered_consumer=True,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
        except NotFoundError:  # the services have not declared the stream yet
            return None

    sub = await wait_for(subscribe, timeout_s=timeout_s, what=f"a stream for {subject}")
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), timeout_s)
        # Anything beyond `count` would be a duplicate; give it a moment to show up.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), 0.3)
    finally:
        await sub.unsubscribe()  # type: ignore[attr-defined]
