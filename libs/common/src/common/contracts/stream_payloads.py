"""Decoding of the events stream, which carries events, batches of events and alerts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from common.contracts._base import decode_json
from common.contracts.alerts import Alert
from common.contracts.events import EventBatch, GameEvent

EventsStreamPayload = Annotated[GameEvent | EventBatch | Alert, Field(discriminator="kind")]
"""What a message on the events stream holds: an event, a batch of events, or an alert."""

_adapter: TypeAdapter[GameEvent | EventBatch | Alert] = TypeAdapter(EventsStreamPayload)


def decode_events_payload(
    data: bytes | str, *, strict: bool = False, subject: str = ""
) -> GameEvent | EventBatch | Alert:
    """Decode one events-stream message; raise :class:`InvalidMessage` when it does not fit."""
    return decode_json(_adapter.validate_json, data, strict=strict, subject=subject)


def events_in(payload: GameEvent | EventBatch | Alert) -> tuple[GameEvent | Alert, ...]:
    """The events (or the alert) one events-stream message carries: a batch gives its events."""
    return payload.events if isinstance(payload, EventBatch) else (payload,)


def decode_events(
    data: bytes | str, *, strict: bool = False, subject: str = ""
) -> list[GameEvent | Alert]:
    """Every event or alert one events-stream message holds (a batch gives its events).

    For consumers that handle events one at a time; raises :class:`InvalidMessage` like
    :func:`decode_events_payload`.
    """
    return list(events_in(decode_events_payload(data, strict=strict, subject=subject)))
