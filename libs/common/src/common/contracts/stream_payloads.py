"""Decoding of the events stream, which carries both events and alerts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from common.contracts._base import decode_json
from common.contracts.alerts import Alert
from common.contracts.events import GameEvent

EventsStreamPayload = Annotated[GameEvent | Alert, Field(discriminator="kind")]
"""What a message on the events stream holds: an event or an alert."""

_adapter: TypeAdapter[GameEvent | Alert] = TypeAdapter(EventsStreamPayload)


def decode_events_payload(
    data: bytes | str, *, strict: bool = False, subject: str = ""
) -> GameEvent | Alert:
    """Decode one events-stream message; raise :class:`InvalidMessage` when it does not fit."""
    return decode_json(_adapter.validate_json, data, strict=strict, subject=subject)
