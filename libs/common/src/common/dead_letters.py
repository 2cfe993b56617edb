"""Parking messages that can never be processed on the service's dead-letter subject.

The original payload is published unchanged to ``<prefix>.dlq.<service>`` (stream
``<PREFIX>_DLQ``) with headers saying why and where it came from, so it can be inspected and,
once the cause is fixed, re-published to its original subject (docs/architecture.md, "Poison
messages"):

- ``Isr-Dead-Letter-Reason``: why it could not be processed (one line, at most 1,000 chars);
- ``Isr-Original-Subject``, ``Isr-Original-Stream``, ``Isr-Original-Sequence``;
- ``Isr-Delivery-Count``: how often JetStream had delivered it;
- ``Isr-Service``: the service that gave up on it;
- ``Nats-Msg-Id``: ``<service>:<stream>:<sequence>``, so a retry does not park it twice.

The intake terminates the message on its own stream only after JetStream acknowledged the
dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from common.errors import TransientError
from common.topology import Topology

_MAX_REASON = 1000
_PUBLISH_TIMEOUT_S = 5.0

REASON = "Isr-Dead-Letter-Reason"
ORIGINAL_SUBJECT = "Isr-Original-Subject"
ORIGINAL_STREAM = "Isr-Original-Stream"
ORIGINAL_SEQUENCE = "Isr-Original-Sequence"
DELIVERY_COUNT = "Isr-Delivery-Count"
SERVICE = "Isr-Service"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a message came from: its subject, stream, stream sequence and deliveries."""

    subject: str
    stream: str
    sequence: int
    delivered: int

    @classmethod
    def of(cls, msg: Msg) -> Origin:
        """Read from a JetStream message's reply subject ("unknown" for a core message)."""
        try:
            meta = msg.metadata
            return cls(msg.subject, meta.stream, meta.sequence.stream, meta.num_delivered)
        except Exception:  # not a JetStream message (tests publishing core messages)
            return cls(msg.subject, "unknown", 0, 1)


def dead_letter_headers(service: str, origin: Origin, reason: str) -> dict[str, str]:
    """The headers of a dead letter (pure; header values are single-line)."""
    flat = " ".join(reason.split())[:_MAX_REASON]
    return {
        "Nats-Msg-Id": f"{service}:{origin.stream}:{origin.sequence}",
        REASON: flat,
        ORIGINAL_SUBJECT: origin.subject,
        ORIGINAL_STREAM: origin.stream,
        ORIGINAL_SEQUENCE: str(origin.sequence),
        DELIVERY_COUNT: str(origin.delivered),
        SERVICE: service,
    }


class DeadLetters:
    """Publishes undeliverable messages to one service's dead-letter subject, confirmed."""

    def __init__(self, js: JetStreamContext, topology: Topology, service: str) -> None:
        self._js = js
        self._service = service
        self._subject = topology.dead_letter_subject(service)

    @property
    def service(self) -> str:
        """The service whose dead letters these are."""
        return self._service

    @property
    def subject(self) -> str:
        """Where this service's dead letters go."""
        return self._subject

    async def send(self, msg: Msg, reason: str) -> None:
        """Park ``msg`` with ``reason``; raise TransientError when JetStream does not confirm."""
        headers = dead_letter_headers(self._service, Origin.of(msg), reason)
        if msg.headers and "traceparent" in msg.headers:
            # Keep the original trace context: the dead letter is found from its trace.
            headers.update(
                {k: v for k, v in msg.headers.items() if k in {"traceparent", "tracestate"}}
            )
        try:
            await self._js.publish(
                self._subject, msg.data, headers=headers, timeout=_PUBLISH_TIMEOUT_S
            )
        except Exception as exc:
            raise TransientError(f"dead-letter publish failed: {exc!r}", delay_s=2.0) from exc
