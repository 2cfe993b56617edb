"""Reading what crossed a JetStream stream, for assertions."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

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
    return received
