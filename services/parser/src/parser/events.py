"""Turning raw line batches into encoded events with a pattern set (pure: no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import NamedTuple

from common.contracts import RawLineBatch, encode_event_batch, encode_game_event, event_batch_id
from common.vocabulary import EventFlag
from parser.log_time import UTC_CLOCK, LogClock
from parser.patterns.engine import PatternSet

SERVER_PLAYER = "<server>"
"""How Factorio names console/RCON chat."""
MAX_BATCH_BYTES = 256 * 1024
"""Most bytes of events in one events-stream message: a quarter of nats-server's default
``max_payload`` (1 MiB), so a burst of long lines never makes a message the server refuses."""


class EncodedEvent(NamedTuple):
    """An event ready to publish: its id, routing fields and the exact payload bytes."""

    id: str
    server: str
    type: str
    payload: bytes
    """JSON of a :class:`common.contracts.GameEvent`."""


class EventMessage(NamedTuple):
    """One events-stream message ready to publish: a single event or a batch of one type."""

    msg_id: str
    """``Nats-Msg-Id``: the event's id, or :func:`common.contracts.event_batch_id`."""
    server: str
    type: str
    payload: bytes
    count: int
    """Events in it."""


def pack_events(
    events: Sequence[EncodedEvent], *, max_events: int, max_bytes: int = MAX_BATCH_BYTES
) -> list[EventMessage]:
    """The messages for the events of **one** raw batch: one per event type, in log order.

    Events are grouped by type (groups in the order their first event appears; each group in
    log order) and a group is cut after ``max_events`` events or ``max_bytes`` of payload. A
    group of one is published as the plain event. Deterministic: the same raw batch always
    gives the same messages with the same ids, so after a crash JetStream drops the repeats.
    """
    groups: dict[str, list[EncodedEvent]] = {}
    for event in events:
        group = groups.get(event.type)
        if group is None:
            groups[event.type] = [event]
        else:
            group.append(event)
    messages: list[EventMessage] = []
    for group in groups.values():
        chunk: list[EncodedEvent] = []
        size = 0
        for event in group:
            if chunk and (len(chunk) >= max_events or size + len(event.payload) > max_bytes):
                messages.append(_message(chunk))
                chunk, size = [], 0
            chunk.append(event)
            size += len(event.payload) + 1
        messages.append(_message(chunk))
    return messages


def _message(chunk: list[EncodedEvent]) -> EventMessage:
    first = chunk[0]
    if len(chunk) == 1:
        return EventMessage(first.id, first.server, first.type, first.payload, 1)
    payload = encode_event_batch([e.payload for e in chunk])
    msg_id = event_batch_id(first.id, chunk[-1].id, len(chunk))
    return EventMessage(msg_id, first.server, first.type, payload, len(chunk))


def is_bridge_echo(player: str | None, message: str | None, marker: str) -> bool:
    """True for ``[CHAT] <server>: <marker>...``: chat our own Discord bridge put in the game."""
    return (
        bool(marker)
        and player == SERVER_PLAYER
        and message is not None
        and message.startswith(marker)
    )


def events_from_batch(
    batch: RawLineBatch,
    patterns: PatternSet,
    *,
    clock: LogClock = UTC_CLOCK,
    bridge_marker: str = "",
) -> tuple[list[EncodedEvent], int]:
    """Every event the batch's lines make, in line order, and how many lines matched nothing.

    Times come from the log, never from this process's clock: ``ts`` is the line's date read
    in the server's zone (``clock``; None for a line without a date) and ``observed_at`` is
    when the tailer read the batch. Parsing the same batch again (a redelivery, another
    worker) therefore gives the same events, byte for byte.
    """
    events: list[EncodedEvent] = []
    truncated = set(batch.truncated)
    unmatched = 0
    server, file_id, generation = batch.server, batch.file_id, batch.generation
    observed_at = batch.read_at
    if observed_at.tzinfo is None:  # the contract says UTC; a zone-less value is taken as such
        observed_at = observed_at.replace(tzinfo=UTC)
    to_utc = clock.to_utc
    scan = patterns.scan
    for index, offset in enumerate(batch.offsets):
        text = batch.lines[index]
        found = scan(text)
        if found is None:
            unmatched += 1
            continue
        spec, _shape, _body, ts, player, message, data = found
        if ts is not None:
            ts = to_utc(ts)
        flags: tuple[str, ...] = ()
        if player == SERVER_PLAYER and is_bridge_echo(player, message, bridge_marker):
            flags = (EventFlag.BRIDGED,)
        if truncated and index in truncated:
            flags += (EventFlag.TRUNCATED,)
        event_id = f"{server}:{file_id}:{offset}"  # == line_id(); inlined on the hot path
        # Positional on purpose (hot path): the order is encode_game_event's signature.
        payload = encode_game_event(
            event_id,
            server,
            spec.type,
            ts,
            observed_at,
            player,
            message,
            data,
            text,
            (file_id, generation, offset),
            spec.name,
            spec.channel,
            flags,
        )
        events.append(EncodedEvent(event_id, server, spec.type, payload))
    return events, unmatched
