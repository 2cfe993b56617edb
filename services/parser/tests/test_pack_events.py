"""How one raw batch's events become events-stream messages (parser.events.pack_events)."""

from datetime import UTC, datetime

from common.contracts import EventBatch, GameEvent, decode_events_payload, event_batch_id
from parser.events import EncodedEvent, pack_events

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _encoded(offset: int, event_type: str, message: str = "hi") -> EncodedEvent:
    event = GameEvent(
        id=f"s1:f:{offset}",
        server="s1",
        type=event_type,
        observed_at=NOW,
        player="ann",
        message=message,
    )
    return EncodedEvent(event.id, event.server, event.type, event.to_json())


def _ids(payload: bytes) -> list[str]:
    decoded = decode_events_payload(payload, strict=True)
    return [e.id for e in decoded.events] if isinstance(decoded, EventBatch) else [decoded.id]


def test_groups_by_type_in_order_of_first_appearance():
    """Mixed lines give one message per type, each in log order, types ordered by first line."""
    kinds = ["chat", "join", "chat", "leave", "join", "chat"]
    events = [_encoded(i * 10, kind) for i, kind in enumerate(kinds)]

    messages = pack_events(events, max_events=500)

    assert [(m.type, m.count) for m in messages] == [("chat", 3), ("join", 2), ("leave", 1)]
    assert _ids(messages[0].payload) == ["s1:f:0", "s1:f:20", "s1:f:50"]
    assert messages[0].msg_id == event_batch_id("s1:f:0", "s1:f:50", 3)


def test_a_lone_event_is_published_as_the_plain_event():
    """A type with one event in the raw batch keeps the single-event payload and its id."""
    event = _encoded(0, "leave")

    (message,) = pack_events([event], max_events=500)

    assert message.payload == event.payload
    assert message.msg_id == "s1:f:0"


def test_cut_at_max_events_and_max_bytes():
    """A group is cut after max_events events, and before the bytes would pass max_bytes."""
    events = [_encoded(i, "chat", "x" * 100) for i in range(7)]
    size = len(events[0].payload)

    by_count = pack_events(events, max_events=3)
    by_bytes = pack_events(events, max_events=500, max_bytes=2 * size + 2)

    assert [m.count for m in by_count] == [3, 3, 1]
    assert [m.count for m in by_bytes] == [2, 2, 2, 1]
    assert [i for m in by_count for i in _ids(m.payload)] == [e.id for e in events]


def test_max_events_one_publishes_every_event_alone():
    """ISR_PARSER_EVENT_BATCH_MAX=1 restores one message per event, each with its own id."""
    events = [_encoded(i, "chat") for i in range(3)]

    messages = pack_events(events, max_events=1)

    assert [m.payload for m in messages] == [e.payload for e in events]
    assert [m.msg_id for m in messages] == [e.id for e in events]


def test_same_events_give_the_same_message_ids():
    """Parsing a redelivered raw batch again repeats the message ids (JetStream de-duplicates)."""
    events = [_encoded(i * 10, kind) for i, kind in enumerate(["chat", "join", "chat"])]

    assert [m.msg_id for m in pack_events(events, max_events=500)] == [
        m.msg_id for m in pack_events(list(events), max_events=500)
    ]
