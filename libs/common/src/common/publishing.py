"""Confirmed, de-duplicated publishing to JetStream.

:func:`publish_confirmed` sends a group of messages with ``publish_async`` (tens of thousands per
second instead of a few thousand with one round trip each), sets ``Nats-Msg-Id`` on each so a
retry within the stream's duplicate window is dropped by the server, and returns only when every
message is acknowledged. A message whose acknowledgement does not arrive in time (server
restarting, connection lost) is sent again with the same id, after a backoff, until it is
acknowledged or the caller is cancelled: nothing is dropped and nothing doubles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from nats.js import JetStreamContext

log = structlog.get_logger()

_MAX_BACKOFF_S = 5.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish."""

    subject: str
    payload: bytes
    msg_id: str
    """Value of ``Nats-Msg-Id``: the stable id of what the message carries."""


async def publish_confirmed(
    js: JetStreamContext,
    messages: Sequence[Outgoing],
    *,
    ack_timeout_s: float = 5.0,
) -> None:
    """Publish every message and return once JetStream has acknowledged all of them."""
    pending = list(messages)
    backoff_s = 0.1
    while pending:
        futures: list[asyncio.Future[Any]] = []
        failed: list[Outgoing] = []
        for index, message in enumerate(pending):
            try:
                future = await js.publish_async(
                    message.subject,
                    message.payload,
                    headers={"Nats-Msg-Id": message.msg_id},
                    wait_stall=ack_timeout_s,
                )
            except Exception as exc:  # disconnected, or too many in flight
                log.warning("publish_failed", subject=message.subject, error=repr(exc))
                failed.extend(pending[index:])
                break
            futures.append(future)
        results = await asyncio.gather(
            *(asyncio.wait_for(f, ack_timeout_s) for f in futures), return_exceptions=True
        )
        for message, result in zip(pending, results, strict=False):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                failed.append(message)
        if failed:
            log.warning("publish_retry", count=len(failed), backoff_s=backoff_s)
            await asyncio.sleep(backoff_s)  # backoff between retries, not synchronisation
            backoff_s = min(backoff_s * 2, _MAX_BACKOFF_S)
        pending = failed
