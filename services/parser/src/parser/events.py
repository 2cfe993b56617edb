"""Turning raw line batches into encoded events with a pattern set (pure: no I/O, no clock)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from common.contracts import RawLineBatch, encode_game_event
from parser.patterns.engine import PatternSet

BRIDGED_FLAG = "bridged"
"""Flag on chat the Discord bridge itself sent into the game; the bot never relays it back."""
TRUNCATED_FLAG = "truncated"
"""Flag on an event made from a line the tailer cut at its maximum length."""
SERVER_PLAYER = "<server>"
"""How Factorio names console/RCON chat."""


class EncodedEvent(NamedTuple):
    """An event ready to publish: its id, routing fields and the exact payload bytes."""

    id: str
    server: str
    type: str
    payload: bytes
    """JSON of a :class:`common.contracts.GameEvent`."""


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
    observed_at: datetime,
    bridge_marker: str = "",
) -> tuple[list[EncodedEvent], int]:
    """Every event the batch's lines make, in line order, and how many lines matched nothing."""
    events: list[EncodedEvent] = []
    truncated = set(batch.truncated)
    unmatched = 0
    server, file_id, generation = batch.server, batch.file_id, batch.generation
    scan = patterns.scan
    for index, offset in enumerate(batch.offsets):
        text = batch.lines[index]
        found = scan(text)
        if found is None:
            unmatched += 1
            continue
        spec, _shape, _body, ts, player, message, data = found
        flags: tuple[str, ...] = ()
        if player == SERVER_PLAYER and is_bridge_echo(player, message, bridge_marker):
            flags = (BRIDGED_FLAG,)
        if truncated and index in truncated:
            flags += (TRUNCATED_FLAG,)
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
