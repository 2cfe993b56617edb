"""Faults through the whole pipeline: console log → tailer → parsers → bot → fake Discord."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from isr_testing.fakediscord import FakeDiscord, payloads
from isr_testing.fakediscord.harness import bot_env, running_bot, write_config
from isr_testing.processes import ServiceProcess

pytestmark = [pytest.mark.discord, pytest.mark.nats]

CHAT = 3001


def _config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config",
        {
            "e2e": {
                "log_path": str(tmp_path / "console.log"),
                "log_start": "beginning",
                "rcon": {"enabled": False},
                "channels": {"default": CHAT},
            }
        },
    )


def _numbers(fake: FakeDiscord) -> list[int]:
    text = "\n".join(m["content"] for m in fake.channel_messages(CHAT))
    return [int(n) for n in re.findall(r"message (\d+)", text)]


@pytest.mark.slow
async def test_bot_sigkill_mid_burst_loses_and_doubles_nothing(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
):
    """500 chat lines via two parser workers; the bot is SIGKILLed mid-burst and restarted."""
    config = _config(tmp_path)
    log = tmp_path / "console.log"
    log.write_text("")
    env = {
        **bot_env(fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config),
        "ISR_BOT_ACK_WAIT_S": "2",
        "ISR_BOT_RECOVERY_WAIT_S": "2",
        "ISR_BOT_REORDER_WINDOW_S": "0.05",
    }
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "e2e"], env, tmp_path),
        ServiceProcess("parser1", ["parser"], env, tmp_path),
        ServiceProcess("parser2", ["parser"], env, tmp_path),
    ]
    bot = ServiceProcess("bot", ["bot"], env, tmp_path)
    fake_discord.post_delay_s = 0.05
    for proc in [*procs, bot]:
        proc.start()
    try:
        await fake_discord.wait_until(lambda: fake_discord.identifies == 1, timeout_s=20)
        with log.open("a", encoding="utf-8") as f:
            for i in range(1, 501):
                f.write(f"2026-11-27 12:00:00 [CHAT] Alice: message {i}\n")
        await fake_discord.wait_until(
            lambda: len(fake_discord.channel_messages(CHAT)) >= 3, timeout_s=30, what="3 posts"
        )
        bot.kill()
        killed_at = len(_numbers(fake_discord))
        bot.start()
        await fake_discord.wait_until(
            lambda: len(_numbers(fake_discord)) >= 500, timeout_s=60, what="all 500 lines"
        )
    finally:
        codes = [p.terminate() for p in [*procs, bot]]

    assert 0 < killed_at < 500
    assert _numbers(fake_discord) == list(range(1, 501))
    assert codes == [0, 0, 0, 0], bot.output()[-3000:]


async def test_gateway_drop_resumes_and_commands_still_answer(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str, monkeypatch
):
    """After the gateway drops, the bot resumes its session and answers the next command."""
    import hikari.impl.shard as hikari_shard  # noqa: PLC0415

    monkeypatch.setattr(hikari_shard, "_BACKOFF_WINDOW", 0.0)
    async with running_bot(
        fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=_config(tmp_path)
    ):
        await fake_discord.drop_gateway()
        await fake_discord.wait_until(lambda: fake_discord.resumes == 1, what="a RESUME")
        state = fake_discord.send_interaction(
            name="factorio",
            options=[{"name": "servers", "type": 1, "options": []}],
            user_id=5,
        )
        reply = await fake_discord.wait_for_reply(state)

    assert reply["embeds"][0]["title"] == "📱 Available Factorio Servers"
    assert fake_discord.identifies == 1
    assert payloads.GUILD_ID in fake_discord.commands
