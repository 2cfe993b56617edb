from datetime import UTC, datetime

import pytest

from common.contracts import (
    EventBatch,
    GameEvent,
    RawLineBatch,
    SourcePosition,
    decode_events,
    decode_events_payload,
    encode_event_batch,
    encode_game_event,
    event_batch_id,
)
from common.errors import InvalidMessage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _event(**overrides: object) -> GameEvent:
    fields: dict[str, object] = {
        "id": "demo:1-2-g0:10",
        "server": "demo",
        "type": "join",
        "observed_at": NOW,
        "player": "Bob",
        "source": SourcePosition(file_id="1-2-g0", generation=0, offset=10),
    }
    fields.update(overrides)
    return GameEvent(**fields)  # type: ignore[arg-type]


class TestGameEvent:
    def test_round_trip(self):
        """An event survives encoding and decoding unchanged."""
        event = _event()

        assert event == decode_events_payload(event.to_json(), strict=True)

    def test_unknown_field_is_tolerated_in_production(self):
        """A field added by a newer producer is ignored when decoding tolerantly."""
        data = _event_json_with_extra()

        assert decode_events_payload(data).id == "demo:1-2-g0:10"

    def test_unknown_field_is_rejected_when_strict(self):
        """Strict decoding (tests) rejects a field the contract does not know."""
        with pytest.raises(InvalidMessage, match="unknown field"):
            decode_events_payload(_event_json_with_extra(), strict=True)

    def test_invalid_payload_names_subject_and_field(self):
        """A payload that does not fit names the subject and the failing field."""
        with pytest.raises(InvalidMessage) as info:
            decode_events_payload(b'{"kind": "event", "id": 1}', subject="isr.events.demo.join")

        assert "isr.events.demo.join" in str(info.value)
        assert "server" in str(info.value)


class TestEventBatch:
    def _batch(self, count: int = 3) -> list[GameEvent]:
        return [_event(id=f"demo:1-2-g0:{10 + 50 * i}", message=f"m{i}") for i in range(count)]

    def test_spliced_bytes_decode_strictly_to_the_same_events(self):
        """encode_event_batch's spliced JSON is a valid batch holding the events in order."""
        events = self._batch()

        payload = decode_events_payload(
            encode_event_batch([e.to_json() for e in events]), strict=True
        )

        assert isinstance(payload, EventBatch)
        assert list(payload.events) == events
        assert payload.id == event_batch_id(events[0].id, events[-1].id, 3)

    def test_decode_events_flattens_a_batch_and_wraps_a_single_event(self):
        """decode_events gives every event of a batch, and a single event as a list of one."""
        events = self._batch(2)

        assert decode_events(encode_event_batch([e.to_json() for e in events])) == events
        assert decode_events(events[0].to_json()) == [events[0]]

    def test_mixed_types_are_rejected_naming_the_event(self):
        """A batch must hold one server's events of one type; the odd one is named."""
        events = [*self._batch(1), _event(id="demo:1-2-g0:99", type="leave")]

        with pytest.raises(InvalidMessage, match=r"demo:1-2-g0:99.*one type"):
            decode_events_payload(encode_event_batch([e.to_json() for e in events]))

    def test_empty_batch_is_rejected(self):
        """A batch without events does not fit the contract."""
        with pytest.raises(InvalidMessage, match="events"):
            decode_events_payload(b'{"v":1,"kind":"event_batch","events":[]}')

    def test_batch_id_differs_from_every_event_id(self):
        """The message id of a batch can never collide with a single event's message id."""
        events = self._batch(2)

        assert event_batch_id(events[0].id, events[1].id, 2) not in {e.id for e in events}


def _event_json_with_extra() -> bytes:
    return _event().to_json()[:-1] + b', "future_field": 1}'


class TestRawLineBatch:
    def test_offsets_must_match_lines(self):
        """A batch with a different number of offsets and lines is refused."""
        with pytest.raises(ValueError, match="offsets"):
            RawLineBatch(
                server="demo", file_id="f", generation=0, offsets=(0, 4), lines=("a",), read_at=NOW
            )

    def test_batch_id_is_first_line_id(self):
        """The de-duplication id of a batch is the id of its first line."""
        batch = RawLineBatch(
            server="demo", file_id="f", generation=0, offsets=(7, 9), lines=("a", "b"), read_at=NOW
        )

        assert batch.batch_id == "demo:f:7"


class TestEncodeGameEvent:
    def test_fast_encoding_decodes_strictly_to_the_same_event(self):
        """The parser's model-free encoder produces exactly the GameEvent the model would."""
        observed = datetime(2026, 11, 27, 12, 0, 1, tzinfo=UTC)
        stamp = datetime(2026, 11, 27, 12, 0)  # noqa: DTZ001 - the log has no zone
        expected = GameEvent(
            id="s:f:7",
            server="s",
            type="kick",
            ts=stamp,
            observed_at=observed,
            player="Jörg",
            message="afk",
            data={"actor": "<server>"},
            raw="2026-11-27 12:00:00 [KICK] Jörg was kicked by <server>. Reason: afk.",
            source=SourcePosition(file_id="f", generation=2, offset=7),
            pattern="kick",
            channel="mod-log",
            flags=("truncated",),
        )

        payload = encode_game_event(
            id="s:f:7",
            server="s",
            type="kick",
            ts=stamp,
            observed_at=observed,
            player="Jörg",
            message="afk",
            data={"actor": "<server>"},
            raw=expected.raw,
            source=("f", 2, 7),
            pattern="kick",
            channel="mod-log",
            flags=("truncated",),
        )

        assert GameEvent.from_json(payload, strict=True) == expected
