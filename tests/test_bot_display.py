"""What the relay shows: Factorio's engine lines and players' spoofing characters.

Engine lines go through the shipped patterns and the bot. They are the real shapes
(libs/simulator log_lines, from factorio-facts.md §5): the start-up preamble with the game and
RCON bind addresses, saves, an engine error, a desync and the graceful stop on a signal
(``Received SIGINT, shutting down`` then ``Quitting: signal.``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from bot.render import render_event
from bot.routing import event_channel
from common.config import load_config
from common.contracts import GameEvent, RawLineBatch, decode_events_payload, events_in
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config
from parser.events import events_from_batch, pack_events
from parser.patterns.loader import load_patterns
from simulator import log_lines

DEFAULT, ADMIN = 1001, 1009
STARTED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RCON_BIND = ("127.0.0.1", 57359)
SECRET_BITS = ("127.0.0.1", "57359", "0.0.0.0", "34197", "IP ADDR", ".cpp")


def _engine_lines() -> list[str]:
    return [
        *log_lines.startup_lines(STARTED, rcon=RCON_BIND),
        log_lines.rcon_connection_line(3.2, "127.0.0.1", 40112),
        log_lines.saving_to_line(300.0, "_autosave1"),
        log_lines.saving_finished_line(300.4),
        log_lines.engine_log_line(
            301.0, "Error", "ServerMultiplayerManager.cpp:91", "peer 10.0.0.7:34197 timed out"
        ),
        log_lines.engine_log_line(
            302.0,
            "Info",
            "ServerMultiplayerManager.cpp:808",
            "updateTick(4821) changing state from(InGame) to(DesyncedWaitingForMap)",
        ),
        *log_lines.shutdown_lines(900.0),
    ]


def _events(lines: list[str]) -> list[GameEvent]:
    loaded = load_patterns(None)
    assert loaded.patterns is not None, loaded.issues
    offsets, at = [], 0
    for line in lines:
        offsets.append(at)
        at += len(line.encode()) + 1
    batch = RawLineBatch(
        server="alpha",
        file_id="f1",
        generation=0,
        offsets=tuple(offsets),
        lines=tuple(lines),
        read_at=STARTED,
    )
    encoded, _unmatched = events_from_batch(batch, loaded.patterns)
    return [e for m in pack_events(encoded, max_events=500) for e in _decoded(m.payload)]


def _decoded(payload: bytes) -> list[GameEvent]:
    return list(events_in(decode_events_payload(payload)))


def _config(tmp_path: Path, channels: dict[str, int]) -> Path:
    return write_config(
        tmp_path / "config",
        {"alpha": {"name": "Alpha", "log_path": "alpha.log", "rcon": {"enabled": False},
                   "channels": channels}},
    )  # fmt: skip


def _rendered_by_channel(config_dir: Path, events: list[GameEvent]) -> dict[int, list[str]]:
    server = load_config(config_dir).servers["alpha"]
    posted: dict[int, list[str]] = {}
    for event in sorted(events, key=lambda e: e.source.sort_key() if e.source else (0, 0)):
        channel = event_channel(server, event)
        if channel is None:
            continue
        item = render_event(
            event, server_name="Alpha", show_server=False, as_embed=False, mentions=None
        )
        assert item.line is not None
        posted.setdefault(channel, []).append(item.line)
    return posted


def test_default_channel_gets_worded_lifecycle_lines_without_addresses(tmp_path: Path):
    """Only start, desync and one stop notice reach ``default``; no address, port or .cpp name."""
    posted = _rendered_by_channel(_config(tmp_path, {"default": DEFAULT}), _events(_engine_lines()))

    lines = posted[DEFAULT]
    text = "\n".join(lines)
    assert [bit for bit in SECRET_BITS if bit in text] == []
    assert sum("shutting down" in line for line in lines) == 1
    assert any("Server started (Factorio 2.0.77)" in line for line in lines)
    assert any("Server stopped" in line for line in lines)
    assert not any("RCON" in line or "Saving" in line or "Error" in line for line in lines)


def test_admin_channels_for_engine_kinds_get_wording_but_never_an_address(tmp_path: Path):
    """Engine kinds routed to their own channel are worded and still carry no host or port."""
    kinds = ("server_hosting", "rcon_ready", "save_started", "save_finished", "engine_error")
    config_dir = _config(tmp_path, {"default": DEFAULT, **dict.fromkeys(kinds, ADMIN)})

    posted = _rendered_by_channel(config_dir, _events(_engine_lines()))

    admin = "\n".join(posted[ADMIN])
    assert [bit for bit in SECRET_BITS if bit in admin] == []
    assert "Server is open for players" in admin
    assert "RCON is ready" in admin
    assert "Saving the map (\\_autosave1)" in admin
    assert "Map saved" in admin
    assert r"Engine error: peer \[address hidden\] timed out" in admin  # escaped markdown


@pytest.mark.discord
@pytest.mark.nats
async def test_engine_lines_through_the_bot_reach_discord_worded_once(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
):
    """Through the real bot the default channel shows one stop notice and no bind address."""
    config_dir = _config(tmp_path, {"default": DEFAULT})
    events = _events(_engine_lines())
    topology = Topology(nats_prefix)
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await topology.ensure(js)
            await publish_confirmed(
                js,
                [Outgoing(topology.event_subject(e.server, e.type), e.to_json(), e.id)
                 for e in events],
            )  # fmt: skip
        finally:
            await nc.close()
        await fake_discord.wait_until(
            lambda: "Server stopped" in _contents(fake_discord), what="the stop notice"
        )

    text = _contents(fake_discord)
    assert [bit for bit in SECRET_BITS if bit in text] == []
    assert text.count("shutting down") == 1
    assert "Server started" in text


@pytest.mark.discord
@pytest.mark.nats
async def test_bidi_and_zero_width_characters_never_reach_discord(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
):
    """A chat line and a name with U+202E, U+202C, U+200D and U+FEFF arrive without them."""
    config_dir = _config(tmp_path, {"default": DEFAULT})
    chat = GameEvent(
        id="alpha:f1:0",
        server="alpha",
        type="chat",
        observed_at=STARTED,
        player="ad\u200dmin\ufeff",
        message="I am \u202eadmin\u202c, trust me \U0001f469\u200d\U0001f4bb",
        raw="",
    )
    kick = GameEvent(
        id="alpha:f1:100",
        server="alpha",
        type="kick",
        observed_at=STARTED,
        player="Eve\u202e",
        message="spam\u2066ming\u2069",
        data={"actor": "\u200bBob"},
        raw="",
    )
    topology = Topology(nats_prefix)
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await topology.ensure(js)
            await publish_confirmed(
                js,
                [Outgoing(topology.event_subject(e.server, e.type), e.to_json(), e.id)
                 for e in (chat, kick)],
            )  # fmt: skip
        finally:
            await nc.close()
        await fake_discord.wait_until(
            lambda: "kicked" in _contents(fake_discord) + _embeds(fake_discord),
            what="the kick",
        )

    posted = _contents(fake_discord) + _embeds(fake_discord)
    spoofing = [f"U+{ord(c):04X}" for c in posted if c in "\u202e\u202c\ufeff\u2066\u2069"]
    assert spoofing == []
    assert "**admin**: I am admin, trust me \U0001f469\u200d\U0001f4bb" in posted
    assert "**Eve** was kicked by Bob: spamming" in posted


def _embeds(fake: FakeDiscord) -> str:
    return "\n".join(
        e.get("description", "") for m in fake.channel_messages(DEFAULT) for e in m["embeds"]
    )


def _contents(fake: FakeDiscord) -> str:
    return "\n".join(m["content"] for m in fake.channel_messages(DEFAULT))
