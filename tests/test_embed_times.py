"""Embed times from parsed log lines: aware instants in the server's log zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.discord import to_embed
from bot.render import render_event
from common.contracts import GameEvent, RawLineBatch
from parser.events import events_from_batch
from parser.log_time import clock_for
from parser.patterns.loader import load_patterns


def test_embed_of_a_parsed_line_carries_the_log_instant(tmp_path: Path):
    """A join logged in Berlin time gives an embed stamped with that instant and no warning."""
    patterns = load_patterns(tmp_path, packs=("vanilla",)).patterns
    assert patterns is not None
    batch = RawLineBatch(
        server="eu",
        file_id="f",
        generation=0,
        offsets=(0,),
        lines=("2026-01-10 12:00:00 [JOIN] bob joined the game",),
        read_at=datetime(2026, 1, 10, 11, 0, 3, tzinfo=UTC),
    )
    encoded, _ = events_from_batch(batch, patterns, clock=clock_for("Europe/Berlin"))
    event = GameEvent.from_json(encoded[0].payload)

    item = render_event(event, server_name="EU", show_server=False, as_embed=True, mentions=None)
    assert item.embed is not None
    embed = to_embed(item.embed)

    assert embed.timestamp == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
