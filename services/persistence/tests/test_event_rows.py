"""The writer's model-free decoding agrees exactly with the contract model."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.contracts import (
    Alert,
    AlertType,
    EventBatch,
    GameEvent,
    Severity,
    SourcePosition,
    decode_events_payload,
    encode_game_event,
)
from common.errors import InvalidMessage
from persistence.rows import event_row, event_row_from_json
from persistence.writer import decode_for_writer
from persistence.writing import Several, Undecodable

OBSERVED = datetime(2026, 11, 27, 12, 0, 1, 250_000, tzinfo=UTC)
STAMP = datetime(2026, 11, 27, 12, 0)  # noqa: DTZ001 - the log has no zone

PLAIN: dict[str, Any] = {
    "v": 1,
    "kind": "event",
    "id": "s:f:7",
    "server": "s",
    "type": "kick",
    "ts": "2026-11-27T12:00:00",
    "observed_at": "2026-11-27T12:00:01.25Z",
    "player": "Jörg",
    "message": "afk",
    "data": {"actor": "<server>"},
    "raw": "2026-11-27 12:00:00 [KICK] Jörg was kicked by <server>. Reason: afk.",
    "source": {"file_id": "f", "generation": 2, "offset": 7},
    "pattern": "kick",
    "channel": "mod-log",
    "flags": ["truncated"],
}


def exact(row: tuple[Any, ...]) -> list[Any]:
    """``row`` with types and UTC offsets beside the values, so that only identical rows match."""
    return [(v, v.utcoffset()) if isinstance(v, datetime) else (type(v), v) for v in row]


def model_row(payload: bytes) -> tuple[Any, ...]:
    """The row the contract model gives for ``payload``."""
    value = decode_events_payload(payload)
    assert isinstance(value, GameEvent)
    return event_row(value)


def dumps(value: Any) -> bytes:
    """JSON bytes of ``value``, integers of any size included."""
    return json.dumps(value, ensure_ascii=False).encode()


def with_(**changes: Any) -> bytes:
    """The plain payload with fields changed (``None`` values are kept as JSON null)."""
    return dumps({**PLAIN, **changes})


def without(*keys: str) -> bytes:
    """The plain payload without ``keys``."""
    return dumps({k: v for k, v in PLAIN.items() if k not in keys})


AGREEING = {
    "plain": with_(),
    "parser encoder": encode_game_event(
        "s:f:7",
        "s",
        "kick",
        STAMP,
        OBSERVED,
        "Jörg",
        "afk",
        {"actor": "<server>"},
        "raw line",
        ("f", 2, 7),
        "kick",
        "mod-log",
        ("truncated",),
    ),
    "model encoder": GameEvent(
        id="s:reconciled:join:bob:1",
        server="s",
        type="join",
        observed_at=OBSERVED,
        player="bob",
        flags=("reconciled",),
    ).to_json(),
    "model encoder, every field": GameEvent(
        id="s:f:8",
        server="s",
        type="chat",
        ts=STAMP,
        observed_at=OBSERVED,
        player="日本語",
        message='say "hi"\n\\',
        data={"a": "1", "b": ""},
        raw="x",
        source=SourcePosition(file_id="f", generation=0, offset=8),
        pattern="chat",
        channel="chat",
        flags=("bridged", "truncated"),
    ).to_json(),
    "defaults only": without(
        "v", "ts", "player", "message", "data", "raw", "source", "pattern", "channel", "flags"
    ),
    "nulls": with_(ts=None, player=None, message=None, source=None, pattern=None, channel=None),
    "unknown fields": with_(extra=[1, {"x": 2.5}], source={**PLAIN["source"], "more": True}),
    "offset observed_at": with_(observed_at="2026-11-27T12:00:01+05:30"),
    "negative zero offset": with_(observed_at="2026-11-27T12:00:01-00:00"),
    "largest offset": with_(observed_at="2026-11-27T12:00:01-23:59"),
    "naive observed_at": with_(observed_at="2026-11-27T12:00:01.123456"),
    "one fraction digit": with_(observed_at="2026-11-27T12:00:01.5Z"),
    "ts with a zone": with_(ts="2026-11-27T23:30:00+02:00"),
    "leap day": with_(observed_at="2028-02-29T00:00:00Z"),
    "empty data": with_(data={}),
    "big numbers": with_(source={"file_id": "f", "generation": 2**31, "offset": 2**63 - 1}),
    "nul byte": with_(message="a\u0000b"),
    "duplicate key": b'{"kind":"event","id":"a","id":"b","server":"s","type":"t",'
    b'"observed_at":"2026-11-27T12:00:01Z"}',
}

UNUSUAL = {
    "alert": Alert(
        id="s:ups_low:1",
        server="s",
        type=AlertType.UPS_LOW,
        severity=Severity.WARNING,
        raised_at=OBSERVED,
        summary="UPS 31",
    ).to_json(),
    "not an object": b"[1, 2]",
    "not JSON": b"{nope",
    "lone surrogate": b'{"kind":"event","id":"\\ud800"}',
    "no kind": without("kind"),
    "version 2": with_(v=2),
    "version as text": with_(v="1"),
    "version as true": with_(v=True),
    "type upper case": with_(type="Kick"),
    "type with newline": with_(type="kick\n"),
    "type too long": with_(type="k" * 33),
    "number as id": with_(id=7),
    "no observed_at": without("observed_at"),
    "observed_at as a number": with_(observed_at=1_764_244_801),
    "observed_at minute 60 offset": with_(observed_at="2026-11-27T12:00:01+01:60"),
    "observed_at hour 24": with_(observed_at="2026-11-27T24:00:00Z"),
    "observed_at 30 February": with_(observed_at="2026-02-30T00:00:00Z"),
    "observed_at seven fraction digits": with_(observed_at="2026-11-27T12:00:01.1234567Z"),
    "observed_at with a space": with_(observed_at="2026-11-27 12:00:01Z"),
    "observed_at lower-case z": with_(observed_at="2026-11-27T12:00:01z"),
    "observed_at date only": with_(observed_at="2026-11-27"),
    "observed_at without seconds": with_(observed_at="2026-11-27T12:00Z"),
    "observed_at Arabic-Indic digits": with_(observed_at="٢٠٢٦-11-27T12:00:01Z"),
    "number in data": with_(data={"n": 18_446_744_073_709_551_616}),
    "nested data": with_(data={"n": {"m": "x"}}),
    "data null": with_(data=None),
    "generation as float": with_(source={"file_id": "f", "generation": 2.0, "offset": 7}),
    "generation as bool": with_(source={"file_id": "f", "generation": True, "offset": 7}),
    "offset beyond 64 bits": with_(source={"file_id": "f", "generation": 2, "offset": 2**64}),
    "source without offset": with_(source={"file_id": "f", "generation": 2}),
    "source as list": with_(source=["f", 2, 7]),
    "flags as text": with_(flags="bridged"),
    "flag as number": with_(flags=[1]),
    "raw null": with_(raw=None),
    "channel as number": with_(channel=3),
    "player as list": with_(player=["bob"]),
}


@pytest.mark.parametrize("payload", AGREEING.values(), ids=AGREEING.keys())
def test_plain_payloads_map_to_the_models_row(payload):
    """A payload in the producers' plain shape gives exactly the row its validated model gives."""
    row = event_row_from_json(payload)

    assert row is not None
    assert exact(row) == exact(model_row(payload))


@pytest.mark.parametrize("payload", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_payloads_are_left_to_the_model(payload):
    """Anything outside the plain shape gets no fast row, so the contract model decides it."""
    assert event_row_from_json(payload) is None


@pytest.mark.parametrize("payload", [*AGREEING.values(), *UNUSUAL.values()])
def test_writer_decoding_accepts_and_rejects_exactly_what_the_contract_does(payload):
    """The writer's decoder yields the model's row, the alert, or the same InvalidMessage."""
    try:
        expected: GameEvent | Alert | str = decode_events_payload(payload, subject="x")
    except InvalidMessage as exc:
        expected = exc.reason
    if isinstance(expected, str):
        with pytest.raises(InvalidMessage) as raised:
            decode_for_writer(payload, "x")
        assert raised.value.reason == expected
        return

    got = decode_for_writer(payload, "x")

    if isinstance(expected, Alert):
        assert got == expected
    else:
        assert isinstance(got, tuple)
        assert exact(got) == exact(event_row(expected))


_texts = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.booleans())
_times = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1),  # noqa: DTZ001 - naive and aware times are both drawn
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.builds(
                timezone,
                st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                              max_value=timedelta(hours=23, minutes=59)).map(
                    lambda d: timedelta(minutes=d // timedelta(minutes=1))
                ),
            ),
        ),
    ).map(lambda d: d.isoformat()),
    st.text(alphabet="0123456789-T:.Z+ ", max_size=32),
    st.integers(),
)  # fmt: skip
_fields = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, "1", True, 1.0]),
        "kind": st.sampled_from(["event", "alert", "Event"]),
        "id": _texts,
        "server": _texts,
        "type": st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True), _texts),
        "ts": st.one_of(st.none(), _times),
        "observed_at": _times,
        "player": _texts,
        "message": _texts,
        "data": st.one_of(
            st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=4), st.integers(),
                                                           st.floats(allow_nan=False))),
            st.none(),
            st.text(max_size=3),
        ),
        "raw": _texts,
        "source": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "file_id": _texts,
                    "generation": st.one_of(st.integers(), st.floats(allow_nan=False), _texts),
                    "offset": st.one_of(st.integers(min_value=-(2**70), max_value=2**70), _texts),
                },
            ),
        ),
        "pattern": _texts,
        "channel": _texts,
        "flags": st.one_of(st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3),
                           _texts),
    },
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    fields=_fields,
    base=st.sampled_from([{}, {k: v for k, v in PLAIN.items() if k != "observed_at"}, PLAIN]),
)
def test_any_payload_gets_the_models_verdict(fields, base):
    """For arbitrary payloads the writer's decoder and the contract model agree exactly."""
    payload = dumps({**base, **fields})
    try:
        expected = decode_events_payload(payload)
    except InvalidMessage:
        with pytest.raises(InvalidMessage):
            decode_for_writer(payload, "")
        assert event_row_from_json(payload) is None
        return
    got = decode_for_writer(payload, "")
    if isinstance(expected, Alert):
        assert got == expected
    else:
        assert isinstance(got, tuple)
        assert exact(got) == exact(event_row(expected))


class TestEventBatchRows:
    def _batch(self, *members: object) -> bytes:
        return json.dumps({"v": 1, "kind": "event_batch", "events": list(members)}).encode()

    def test_each_event_of_a_batch_becomes_the_models_row(self):
        """A batch decodes to one row per event, each equal to the contract model's row."""
        second = {**PLAIN, "id": "s:f:99", "message": "again"}

        decoded = decode_for_writer(self._batch(PLAIN, second), "isr.events.s.kick")

        assert isinstance(decoded, Several)
        assert list(decoded.members) == [
            event_row(GameEvent.model_validate(PLAIN)),
            event_row(GameEvent.model_validate(second)),
        ]

    def test_one_bad_event_is_named_and_the_others_kept(self):
        """An event that does not fit, or is of another type, is marked; the rest are rows."""
        broken = {**PLAIN, "id": "s:f:50", "observed_at": "yesterday"}
        other = {**PLAIN, "id": "s:f:60", "type": "leave"}

        decoded = decode_for_writer(self._batch(PLAIN, broken, other), "isr.events.s.kick")

        assert isinstance(decoded, Several)
        first, bad, odd = decoded.members
        assert first == event_row(GameEvent.model_validate(PLAIN))
        assert isinstance(bad, Undecodable)
        assert bad.reason.startswith("events[1]: observed_at")
        assert isinstance(odd, Undecodable)
        assert "events[2] (s:f:60) is s/leave in a batch of s/kick" in odd.reason

    def test_an_event_of_a_batch_is_judged_on_its_own_bytes(self):
        """An integer beyond 64 bits in a batched event's data stays exact, as the model reads it.

        (Parsing the batch with orjson and encoding the event again made it a float.)
        """
        big = {**PLAIN, "data": {"n": -(2**63) - 1}}

        decoded = decode_for_writer(self._batch(big), "isr.events.s.kick")

        assert isinstance(decoded, Several)
        assert decoded.members[0][7] == '{"n": -9223372036854775809}'

    @pytest.mark.parametrize(
        "payload",
        [
            b'{"v":1,"kind":"event_batch","events":[]}',
            b'{"v":1,"kind":"event_batch","events":{}}',
            b'{"v":2,"kind":"event_batch","events":[{}]}',
        ],
    )
    def test_an_unsound_envelope_is_refused_whole(self, payload):
        """No events, events not a list, or an unknown version: the message is invalid."""
        with pytest.raises(InvalidMessage):
            decode_for_writer(payload, "isr.events.s.kick")


@settings(max_examples=200, deadline=None)
@given(members=st.lists(_fields.map(lambda f: {**PLAIN, **f}), min_size=1, max_size=4))
def test_any_batch_is_stored_as_the_models_events_or_named_per_event(members):
    """A batch the contract accepts gives the model's rows; otherwise each event is judged alone.

    (Unless the JSON itself is unreadable: then the whole message is refused, as the model does.)

    Events the model accepts one by one (and that match the first event's server and type)
    become their rows; every other event becomes an Undecodable naming its index.
    """
    payload = dumps({"v": 1, "kind": "event_batch", "events": members})
    try:
        got = decode_for_writer(payload, "")
    except InvalidMessage:  # JSON that orjson refuses (Infinity): the model refuses it too
        with pytest.raises(InvalidMessage):
            decode_events_payload(payload)
        return
    assert isinstance(got, Several)
    try:
        batch = decode_events_payload(payload)
    except InvalidMessage:
        batch = None
    if batch is not None:
        assert isinstance(batch, EventBatch)
        assert [exact(r) for r in got.members] == [exact(event_row(e)) for e in batch.events]
        return
    first: tuple[str, str] | None = None
    for index, (member, value) in enumerate(zip(members, got.members, strict=True)):
        try:
            event = GameEvent.from_json(dumps(member))
        except InvalidMessage:
            assert isinstance(value, Undecodable)
            assert value.reason.startswith(f"events[{index}]")
            continue
        first = first or (event.server, event.type)
        if (event.server, event.type) != first:
            assert isinstance(value, Undecodable)
        else:
            assert exact(value) == exact(event_row(event))
