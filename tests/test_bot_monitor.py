"""Stats posts and presence from metric samples, through the real bot and the fake Discord."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from common.contracts import MetricSample
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config

pytestmark = [pytest.mark.discord, pytest.mark.nats]

STATS = 4001


async def test_stats_embed_and_presence_follow_metric_samples(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str, monkeypatch
):
    """A fresh sample shows 1/2 servers online; the stats embed comes on the server's interval."""
    monkeypatch.setenv("ISR_TEST_RCON_PW", "pw-1234")
    config = write_config(
        tmp_path / "config",
        {
            "alpha": {
                "name": "Alpha",
                "log_path": "a.log",
                "rcon": {"password_env": "ISR_TEST_RCON_PW"},
                "channels": {"stats": STATS},
                "stats": {"interval_s": 1},
            },
            "beta": {"log_path": "b.log", "rcon": {"password_env": "ISR_TEST_RCON_PW", "port": 2}},
        },
    )
    sample = MetricSample(
        id="alpha:metric:1",
        server="alpha",
        sampled_at=datetime.now(UTC),
        players_online=("Bob",),
        player_count=1,
        game_time_s=600,
        ups=60.0,
        evolution={"nauvis": 0.25},
    )
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config
    ):
        topology = Topology(nats_prefix)
        nc = await nats.connect(nats_server.url)
        try:
            await publish_confirmed(
                nc.jetstream(),
                [Outgoing(topology.metrics_subject("alpha"), sample.to_json(), sample.id)],
            )
        finally:
            await nc.close()
        await fake_discord.wait_until(
            lambda: any(
                (p.get("game") or {}).get("name") == "1/2 servers online"
                for p in fake_discord.presences
            ),
            what="presence 1/2",
        )
        messages = await fake_discord.wait_for_messages(STATS, 1, timeout_s=5)

    names = [p["game"]["name"] for p in fake_discord.presences if p.get("game")]
    assert names[-1] == "1/2 servers online"
    assert len(names) == len(set(names))  # sent only when the count changed
    embed = messages[0]["embeds"][0]
    assert embed["title"] == "📊 Alpha status"
    assert {f["name"] for f in embed["fields"]} >= {"✅ UPS", "👥 Players online", "🐛 Evolution"}
