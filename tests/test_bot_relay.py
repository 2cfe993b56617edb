"""The relay through the real bot (in process), a real nats-server and the fake Discord."""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest

from common.contracts import Alert, AlertType, GameEvent, Severity, SourcePosition
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config
from isr_testing.waiting import wait_for
from parser.events import EncodedEvent, pack_events

pytestmark = [pytest.mark.discord, pytest.mark.nats]

DEFAULT, CHAT, ALERTS = 1001, 1002, 1003


def _event(i: int, type_: str = "chat", *, player: str = "Alice", message: str | None = None,
           flags: tuple[str, ...] = ()) -> GameEvent:  # fmt: skip
    return GameEvent(
        id=f"alpha:f:{i * 100}",
        server="alpha",
        type=type_,
        observed_at=datetime.now(UTC),
        player=player,
        message=message if message is not None else f"message {i}",
        source=SourcePosition(file_id="f", generation=0, offset=i * 100),
        flags=flags,
        raw=f"line {i}",
    )


async def _publish(nats_url: str, prefix: str, payloads: list[GameEvent | Alert]) -> None:
    topology = Topology(prefix)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await topology.ensure(js)
        out = []
        for p in payloads:
            subject = (
                topology.alert_subject(p.server, p.type)
                if isinstance(p, Alert)
                else topology.event_subject(p.server, p.type)
            )
            out.append(Outgoing(subject, p.to_json(), p.id))
        await publish_confirmed(js, out)
    finally:
        await nc.close()


@pytest.fixture(name="config_dir")
def _config_dir(tmp_path: Path) -> Path:
    """One log-only server with default, chat and alert channels, and a mentions.yml."""
    directory = write_config(
        tmp_path / "config",
        {
            "alpha": {
                "name": "Alpha *main*",
                "log_path": "alpha.log",
                "rcon": {"enabled": False},
                "channels": {"default": DEFAULT, "chat": CHAT, "alert": ALERTS},
            }
        },
    )
    (directory / "mentions.yml").write_text(
        "version: 1\nroles:\n  - id: 777\n    tokens: [admins]\nlimit: {rate: 1, per_s: 600}\n"
    )
    return directory


async def test_events_are_routed_formatted_and_safe(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """Chat, joins and alerts go to their channels; hostile text is escaped and pings nobody."""
    hostile = "@everyone <@&123> **bold** __x__ `code` [link](http://x) @here " + "y" * 2100
    events: list[GameEvent | Alert] = [
        _event(1, "join", message=""),
        _event(2, message=hostile),
        _event(3, message="[Discord] bob: echo", player="<server>", flags=("bridged",)),
        _event(4, message="help @admins now"),
        _event(5, message="again @admins"),
        Alert(
            id="alpha:alert:1",
            server="alpha",
            type=AlertType.UPS_LOW,
            severity=Severity.WARNING,
            raised_at=datetime.now(UTC),
            summary="UPS 40 below 55",
            details={"ups": 40.0, "threshold": 55.0},
        ),
    ]
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        await _publish(nats_server.url, nats_prefix, events)
        await fake_discord.wait_until(
            lambda: "again" in "".join(m["content"] for m in fake_discord.channel_messages(CHAT)),
            what="the last chat line",
        )
        await fake_discord.wait_for_messages(DEFAULT, 1)
        alerts = await fake_discord.wait_for_messages(ALERTS, 1)

    chat = "\n".join(m["content"] for m in fake_discord.channel_messages(CHAT))
    assert "joined the server" in fake_discord.channel_messages(DEFAULT)[0]["content"]
    assert "@\u200beveryone" in chat
    assert "@\u200bhere" in chat
    assert "<@&123>" not in chat
    assert "\\<@&123\\>" in chat
    assert "\\*\\*bold\\*\\*" in chat
    assert "\\[link\\]" in chat
    assert "echo" not in chat
    assert "<@&777>" in chat
    assert chat.count("<@&777>") == 1
    assert all(len(m["content"]) <= 2000 for m in fake_discord.channel_messages(CHAT))
    for message in fake_discord.channel_messages(CHAT) + alerts:
        allowed = message["_allowed_mentions"]
        assert allowed["parse"] == []
        assert set(allowed.get("roles", [])) <= {"777"}
    assert alerts[0]["embeds"][0]["title"].startswith("⚠️ Low UPS")


async def test_out_of_order_arrivals_are_posted_in_log_order(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """Events published shuffled (as several parser workers may) reach Discord in log order."""
    events: list[GameEvent | Alert] = [_event(i) for i in range(1, 41)]
    random.Random(3).shuffle(events)
    async with running_bot(
        fake_discord,
        nats_url=nats_server.url,
        prefix=nats_prefix,
        config_dir=config_dir,
        reorder_window_s=0.2,
    ):
        await _publish(nats_server.url, nats_prefix, events)
        await fake_discord.wait_until(
            lambda: (
                "message 40" in "".join(m["content"] for m in fake_discord.channel_messages(CHAT))
            ),
            what="all 40 lines",
        )

    lines = "\n".join(m["content"] for m in fake_discord.channel_messages(CHAT)).splitlines()
    numbers = [int(m[1]) for line in lines if (m := re.search(r"message (\d+)$", line))]
    assert numbers == list(range(1, 41))


async def test_event_batches_are_posted_in_log_order_and_acked_once_posted(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """Batches as the parser publishes them (one message per type per raw batch) reach Discord.

    Chat and joins alternate in the log, so every raw batch becomes a chat batch and a join
    batch: the chat channel gets its lines in log order, the joins go to the default channel,
    a bridged echo inside a batch is not relayed, and every message ends acknowledged.
    """
    events = [
        _event(i, "chat" if i % 2 else "join", flags=("bridged",) if i == 7 else ())
        for i in range(1, 61)
    ]
    encoded = [EncodedEvent(e.id, e.server, e.type, e.to_json()) for e in events]
    topology = Topology(nats_prefix)
    messages = [m for start in range(0, 60, 20) for m in pack_events(encoded[start : start + 20],
                                                                     max_events=500)]  # fmt: skip
    assert len(messages) == 6
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await topology.ensure(js)
            await publish_confirmed(
                js,
                [Outgoing(topology.event_subject(m.server, m.type), m.payload, m.msg_id)
                 for m in messages],
            )  # fmt: skip

            async def all_acked() -> bool:
                info = await js.consumer_info(topology.events_stream, "bot")
                return info.num_pending == 0 and info.num_ack_pending == 0

            await fake_discord.wait_until(
                lambda: (
                    "message 59"
                    in "".join(m["content"] for m in fake_discord.channel_messages(CHAT))
                ),
                what="the last chat line",
            )
            await wait_for(all_acked, timeout_s=10, what="every batch acknowledged")
        finally:
            await nc.close()

    chat = "\n".join(m["content"] for m in fake_discord.channel_messages(CHAT)).splitlines()
    numbers = [int(m[1]) for line in chat if (m := re.search(r"message (\d+)$", line))]
    assert numbers == [i for i in range(1, 61, 2) if i != 7]
    joins = "\n".join(m["content"] for m in fake_discord.channel_messages(DEFAULT))
    assert joins.count("Alice") == 30


async def test_burst_with_429s_arrives_complete_in_order_and_coalesced(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """500 chat events into one channel with 429s: all arrive, once, in order, in few messages."""
    fake_discord.inject(
        "POST", rf"/channels/{CHAT}/messages", status=429, count=5, retry_after_s=0.1
    )
    fake_discord.inject(
        "POST", rf"/channels/{CHAT}/messages", status=500, count=2, after_effect=True
    )
    events: list[GameEvent | Alert] = [_event(i) for i in range(1, 501)]
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        await _publish(nats_server.url, nats_prefix, events)
        await fake_discord.wait_until(
            lambda: (
                "message 500" in "".join(m["content"] for m in fake_discord.channel_messages(CHAT))
            ),
            timeout_s=30,
            what="all 500 lines",
        )

    messages = fake_discord.channel_messages(CHAT)
    lines = "\n".join(m["content"] for m in messages).splitlines()
    numbers = [int(m[1]) for line in lines if (m := re.search(r"message (\d+)$", line))]
    assert numbers == list(range(1, 501))
    assert len(messages) < 100
    assert sum(r.status == 429 for r in fake_discord.posts(CHAT)) == 5


@pytest.mark.slow
async def test_discord_outage_leaves_events_waiting_then_delivers_in_order(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """While Discord answers 503 nothing is lost; afterwards every event arrives once, in order."""
    # hikari retries a 5xx three times itself, then the relay retries the post (same nonce).
    fake_discord.inject("POST", rf"/channels/{CHAT}/messages", status=503, count=5)
    events: list[GameEvent | Alert] = [_event(i) for i in range(1, 31)]
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        await _publish(nats_server.url, nats_prefix, events)
        await fake_discord.wait_until(
            lambda: (
                "message 30" in "".join(m["content"] for m in fake_discord.channel_messages(CHAT))
            ),
            timeout_s=30,
            what="all 30 lines after the outage",
        )

    lines = "\n".join(m["content"] for m in fake_discord.channel_messages(CHAT)).splitlines()
    numbers = [int(m[1]) for line in lines if (m := re.search(r"message (\d+)$", line))]
    assert numbers == list(range(1, 31))
    assert sum(r.status == 503 for r in fake_discord.posts(CHAT)) == 5


async def test_channel_change_in_servers_yml_applies_without_restart(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """After servers.yml moves chat to another channel, the next chat goes there."""
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        await _publish(nats_server.url, nats_prefix, [_event(1)])
        await fake_discord.wait_for_messages(CHAT, 1)
        servers = config_dir / "servers.yml"
        servers.write_text(servers.read_text().replace(str(CHAT), "1009"))
        for i in range(2, 200):  # keep publishing until the reload shows (the watcher polls)
            await _publish(nats_server.url, nats_prefix, [_event(i)])
            if fake_discord.channel_messages(1009):
                break
            await asyncio.sleep(0.05)  # pacing the publisher, not synchronising

    assert fake_discord.channel_messages(1009)


async def test_cli_command_tree_is_what_gets_registered(
    fake_discord: FakeDiscord, nats_server, nats_prefix: str, config_dir: Path
):
    """`isr bot commands --json` prints exactly the tree the bot registers in each guild."""
    printed = subprocess.run(
        [sys.executable, "-m", "isr_cli", "bot", "commands", "--json"],
        capture_output=True,
        check=True,
        text=True,
    )
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config_dir
    ):
        request = await fake_discord.wait_for_request(
            "PUT", r"/applications/\d+/guilds/\d+/commands"
        )

    def shape(commands: list[dict[str, Any]]) -> list[Any]:
        return [
            (
                c["name"],
                c["description"],
                c.get("contexts"),
                [
                    (
                        s["name"],
                        s["description"],
                        [
                            (
                                o["name"],
                                o["type"],
                                o.get("required", False),
                                o.get("autocomplete", False),
                            )
                            for o in s.get("options", [])
                        ],
                    )
                    for s in c["options"]
                ],
            )
            for c in commands
        ]

    assert shape(json.loads(printed.stdout)) == shape(request.json)
