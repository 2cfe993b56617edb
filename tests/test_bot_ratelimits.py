"""Discord's global rate limit against the real bot (hikari) and the fake Discord."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
import structlog

from common.contracts import GameEvent, SourcePosition
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config

pytestmark = [pytest.mark.discord, pytest.mark.nats]

DEFAULT, FRESH = 1001, 1077
GLOBAL_RETRY_AFTER_S = 1.5


def _chat(i: int) -> GameEvent:
    return GameEvent(
        id=f"alpha:f:{i * 100}",
        server="alpha",
        type="chat",
        observed_at=datetime.now(UTC),
        player="Alice",
        message=f"message {i}",
        source=SourcePosition(file_id="f", generation=0, offset=i * 100),
        raw=f"line {i}",
    )


async def _publish(nats_url: str, prefix: str, events: list[GameEvent]) -> None:
    topology = Topology(prefix)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await topology.ensure(js)
        await publish_confirmed(
            js,
            [Outgoing(topology.event_subject(e.server, e.type), e.to_json(), e.id) for e in events],
        )
    finally:
        await nc.close()


async def test_a_global_429_on_a_fresh_route_is_waited_out_not_hammered(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
):
    """A global 429 (retry_after 1.5 s) on a never-used channel costs one retry, logged once.

    hikari 2.7 retries at once on a route whose bucket it does not know yet (its global limiter
    is skipped for unknown buckets): about 70 requests a second until the limit lifts. The bot's
    guard holds every bot-token request until the global ``retry_after`` has passed.
    """
    config_dir = write_config(
        tmp_path / "config",
        {"alpha": {"name": "Alpha", "log_path": "alpha.log", "rcon": {"enabled": False},
                   "channels": {"default": DEFAULT, "chat": FRESH}}},
    )  # fmt: skip
    with structlog.testing.capture_logs() as logs:
        async with running_bot(
            fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
        ):
            await fake_discord.wait_for_request("PUT", r"/applications/\d+/guilds/\d+/commands")
            fake_discord.limit_globally(GLOBAL_RETRY_AFTER_S)
            await _publish(nats_server.url, nats_prefix, [_chat(1), _chat(2)])
            await fake_discord.wait_until(
                lambda: "message 2" in _contents(fake_discord, FRESH),
                what="the chat after the global limit",
            )
            state = fake_discord.send_interaction(
                name="factorio", options=[{"name": "help", "type": 1}], user_id=42
            )
            fake_discord.limit_globally(GLOBAL_RETRY_AFTER_S)
            help_reply = await fake_discord.wait_for_reply(state)

    limited = fake_discord.global_429s()
    first = min(r.at for r in limited)
    assert len([r for r in limited if r.at - first < GLOBAL_RETRY_AFTER_S]) <= 2, [
        (r.method, r.path, round(r.at - first, 3)) for r in limited
    ]
    assert len(fake_discord.channel_messages(FRESH)) >= 1
    assert "message 1" in _contents(fake_discord, FRESH)
    assert "/factorio" in help_reply["content"]
    started = [e for e in logs if e["event"] == "discord_rate_limited"]
    assert [(e["scope"], e["route"]) for e in started] == [
        ("global", "POST /channels/{id}/messages")
    ]


def _contents(fake: FakeDiscord, channel: int) -> str:
    return "\n".join(m["content"] for m in fake.channel_messages(channel))
