"""Parking messages that can never be written on the dead-letter subject.

The original payload is published unchanged to ``<prefix>.dlq.persistence`` (stream
``<PREFIX>_DLQ``) with headers saying why and where it came from, so it can be inspected and,
once the cause is fixed, re-published to its original subject:

- ``Isr-Dead-Letter-Reason``: why it could not be written (decode error or Postgres error);
- ``Isr-Original-Subject``, ``Isr-Original-Stream``, ``Isr-Original-Sequence``;
- ``Isr-Service``: ``persistence``;
- ``Nats-Msg-Id``: ``persistence:<stream>:<sequence>``, so a retry does not park it twice.

The message is terminated on its own stream only after JetStream acknowledged the dead letter.
"""

from __future__ import annotations

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from common.errors import TransientError
from common.topology import Topology

SERVICE = "persistence"
_MAX_REASON = 1000


def dead_letter_headers(
    msg_subject: str, stream: str, sequence: int, reason: str
) -> dict[str, str]:
    """The headers of a dead letter (pure; header values are single-line)."""
    flat = " ".join(reason.split())[:_MAX_REASON]
    return {
        "Nats-Msg-Id": f"{SERVICE}:{stream}:{sequence}",
        "Isr-Dead-Letter-Reason": flat,
        "Isr-Original-Subject": msg_subject,
        "Isr-Original-Stream": stream,
        "Isr-Original-Sequence": str(sequence),
        "Isr-Service": SERVICE,
    }


class DeadLetters:
    """Publishes undeliverable messages to the service's dead-letter subject, confirmed."""

    def __init__(self, js: JetStreamContext, topology: Topology) -> None:
        self._js = js
        self._subject = topology.dead_letter_subject(SERVICE)

    async def send(self, msg: Msg, reason: str) -> None:
        """Park ``msg`` with ``reason``; raise TransientError when JetStream does not confirm."""
        try:
            meta = msg.metadata
            stream, sequence = meta.stream, meta.sequence.stream
        except Exception:  # not a JetStream message (tests publishing core messages)
            stream, sequence = "unknown", 0
        headers = dead_letter_headers(msg.subject, stream, sequence, reason)
        try:
            await self._js.publish(self._subject, msg.data, headers=headers, timeout=5.0)
        except Exception as exc:
            raise TransientError(f"dead-letter publish failed: {exc!r}", delay_s=2.0) from exc
