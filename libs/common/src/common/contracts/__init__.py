"""Wire contracts: every payload that crosses NATS, defined once."""

from common.contracts._base import WireModel
from common.contracts.alerts import Alert, AlertType, Severity
from common.contracts.events import (
    EVENT_TYPE_PATTERN,
    EventType,
    GameEvent,
    SourcePosition,
    encode_game_event,
)
from common.contracts.metrics import MetricSample
from common.contracts.raw import RawLineBatch, line_id
from common.contracts.stream_payloads import EventsStreamPayload, decode_events_payload

__all__ = [
    "EVENT_TYPE_PATTERN",
    "Alert",
    "AlertType",
    "EventType",
    "EventsStreamPayload",
    "GameEvent",
    "MetricSample",
    "RawLineBatch",
    "Severity",
    "SourcePosition",
    "WireModel",
    "decode_events_payload",
    "encode_game_event",
    "line_id",
]
