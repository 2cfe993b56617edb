"""/factorio-stats through the real bot, the real persistence (query API) and Postgres."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from common.contracts import Alert, AlertType, GameEvent, MetricSample, Severity, SourcePosition
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord, payloads
from isr_testing.fakediscord.harness import bot_env, running_bot, write_config
from isr_testing.processes import ServiceProcess

pytestmark = [pytest.mark.discord, pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]


async def _ask(fake: FakeDiscord, name: str, **options: Any) -> dict[str, Any]:
    sub = {
        "name": name,
        "type": 1,
        "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
    }
    state = fake.send_interaction(name="factorio-stats", options=[sub], user_id=9)
    return await fake.wait_for_reply(state, timeout_s=20)


def _history(now: datetime) -> list[Outgoing]:
    topology_items: list[Any] = []
    for minute in range(60, 0, -1):
        at = now - timedelta(minutes=minute)
        topology_items.append(
            MetricSample(
                id=f"alpha:metric:{int(at.timestamp() * 1000)}",
                server="alpha",
                sampled_at=at,
                players_online=("Bob",) if minute < 40 else (),
                player_count=1 if minute < 40 else 0,
                ups=60.0 if minute % 10 else 45.0,
            )
        )
    for offset, (kind, minutes_ago) in enumerate((("join", 40), ("leave", 10))):
        at = now - timedelta(minutes=minutes_ago)
        topology_items.append(
            GameEvent(
                id=f"alpha:f:{offset}",
                server="alpha",
                type=kind,
                ts=at.replace(tzinfo=None),
                observed_at=at,
                player="Bob",
                source=SourcePosition(file_id="f", generation=0, offset=offset),
            )
        )
    topology_items.append(
        Alert(
            id="alpha:ups_low:1",
            server="alpha",
            type=AlertType.UPS_LOW,
            severity=Severity.WARNING,
            raised_at=now - timedelta(minutes=5),
            summary="UPS below 55 for 3 samples",
        )
    )
    return topology_items


async def test_history_commands_answer_from_the_query_api(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str, database_url: str
):
    """UPS and player charts are PNGs; playtime, leaderboard, last seen and alerts are embeds."""
    config = write_config(
        tmp_path / "config",
        {
            "alpha": {
                "name": "Alpha",
                "log_path": "a.log",
                "rcon": {"enabled": False},
                "cooldowns": {"query": {"rate": 100, "per_s": 60}},
            }
        },
    )
    env = {
        **bot_env(fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config),
        "ISR_DATABASE_URL": database_url,
    }
    persistence = ServiceProcess("persistence", ["persistence"], env, tmp_path).start()
    now = datetime.now(UTC)
    topology = Topology(nats_prefix)
    try:
        async with running_bot(
            fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config
        ):
            nc = await nats.connect(nats_server.url)
            try:
                out = []
                for item in _history(now):
                    if isinstance(item, MetricSample):
                        subject = topology.metrics_subject("alpha")
                    elif isinstance(item, Alert):
                        subject = topology.alert_subject("alpha", item.type)
                    else:
                        subject = topology.event_subject("alpha", item.type)
                    out.append(Outgoing(subject, item.to_json(), item.id))
                await publish_confirmed(nc.jetstream(), out)
            finally:
                await nc.close()
            leaderboard: dict[str, Any] = {}
            for _ in range(100):  # persistence writes asynchronously; ask until it has the rows
                leaderboard = await _ask(fake_discord, "leaderboard")
                if "Bob" in (leaderboard.get("embeds") or [{}])[0].get("description", ""):
                    break
                await asyncio.sleep(0.2)  # polling the writer, not synchronising
            ups = await _ask(fake_discord, "ups", hours="2")
            ups_raw = await _ask(fake_discord, "ups", hours="1")
            players = await _ask(fake_discord, "players", hours="2")
            playtime = await _ask(fake_discord, "playtime", player="Bob")
            seen = await _ask(fake_discord, "seen", player="Bob")
            alerts = await _ask(fake_discord, "alerts")
    finally:
        code = persistence.terminate()

    assert code == 0, persistence.output()[-3000:]
    logged = [json.loads(x) for x in persistence.output().splitlines() if x.startswith("{")]
    callers = {(x["query"], x["caller"]) for x in logged if x.get("event") == "query"}
    assert callers >= {("leaderboard", "bot"), ("playtime", "bot"), ("alert_history", "bot")}
    assert "Bob" in leaderboard["embeds"][0]["description"]
    for chart in (ups, players):
        assert chart["attachments"][0]["filename"].endswith("-history.png")
        assert chart["embeds"][0]["image"]["url"].startswith("attachment://")
    assert ups["embeds"][0]["description"] == "60 points, every 1m"
    # One hour is read at raw resolution (step 0): the spacing comes from the samples themselves.
    assert ups_raw["embeds"][0]["description"] == "59 samples, about every 1m", ups_raw
    assert "30m" in playtime["embeds"][0]["description"]
    assert "Last seen" in seen["embeds"][0]["description"]
    assert alerts["embeds"][0]["fields"][0]["name"].startswith("ups_low")
    assert payloads.GUILD_ID in fake_discord.commands
