"""Turning raw line batches into typed events with a pattern set (pure: no I/O, no clock)."""

from __future__ import annotations

from datetime import datetime

from common.contracts import GameEvent, RawLineBatch, SourcePosition, line_id
from parser.patterns.engine import PatternMatch, PatternSet

BRIDGED_FLAG = "bridged"
"""Flag on chat the Discord bridge itself sent into the game; the bot never relays it back."""
TRUNCATED_FLAG = "truncated"
"""Flag on an event made from a line the tailer cut at its maximum length."""
SERVER_PLAYER = "<server>"
"""How Factorio names console/RCON chat."""


def is_bridge_echo(match: PatternMatch, marker: str) -> bool:
    """True for ``[CHAT] <server>: <marker>...``: chat our own Discord bridge put in the game."""
    return (
        bool(marker)
        and match.player == SERVER_PLAYER
        and match.message is not None
        and match.message.startswith(marker)
    )


def events_from_batch(
    batch: RawLineBatch,
    patterns: PatternSet,
    *,
    observed_at: datetime,
    bridge_marker: str = "",
) -> tuple[list[GameEvent], int]:
    """Every event the batch's lines make, in line order, and how many lines matched nothing."""
    events: list[GameEvent] = []
    truncated = set(batch.truncated)
    unmatched = 0
    for index, (offset, text) in enumerate(zip(batch.offsets, batch.lines, strict=True)):
        match = patterns.match(text)
        if match is None:
            unmatched += 1
            continue
        flags: list[str] = []
        if is_bridge_echo(match, bridge_marker):
            flags.append(BRIDGED_FLAG)
        if index in truncated:
            flags.append(TRUNCATED_FLAG)
        events.append(
            GameEvent(
                id=line_id(batch.server, batch.file_id, offset),
                server=batch.server,
                type=match.spec.type,
                ts=match.line.ts,
                observed_at=observed_at,
                player=match.player,
                message=match.message,
                data=match.data,
                raw=text,
                source=SourcePosition(
                    file_id=batch.file_id, generation=batch.generation, offset=offset
                ),
                pattern=match.spec.name,
                channel=match.spec.channel,
                flags=tuple(flags),
            )
        )
    return events, unmatched
