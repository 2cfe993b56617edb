"""Every service rides out a long NATS outage by itself: no process exits, events flow again.

The whole pipeline runs as real processes — tailer, parser, persistence, rcon-poller (against
the Factorio simulator) and the bot (against the fake Discord) — on a nats-server of the test's
own, which is stopped for a minute and started again on the same port and store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import bot_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for
from simulator import ServerSettings, SimulatedServer

from .test_persistence_helpers import count

pytestmark = [
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.discord,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

OUTAGE_S = 60.0
"""How long nats-server stays down (the acceptance criterion of issue 12)."""
CHAT = 3001
PASSWORD = "outage-test-pw"


def _chat(text: str) -> str:
    return f"2026-11-27 12:00:00 [CHAT] Alice: {text}\n"


def _append(log: Path, text: str) -> None:
    with log.open("a", encoding="utf-8") as f:
        f.write(_chat(text))


async def _stored(database_url: str, text: str) -> bool:
    sql = f"SELECT count(*) FROM events WHERE type = 'chat' AND message = '{text}'"
    return await count(database_url, sql) == 1


def _posted(fake: FakeDiscord, text: str) -> bool:
    return any(text in m.get("content", "") for m in fake.channel_messages(CHAT))


async def test_every_service_rides_out_a_minute_without_nats(
    tmp_path: Path,
    private_nats_server,
    nats_prefix: str,
    database_url: str,
    fake_discord: FakeDiscord,
):
    """NATS down for 60 s: no service exits, and lines written during and after reach both ends."""
    log = tmp_path / "console.log"
    log.write_text("")
    sim_settings = ServerSettings(
        log_path=tmp_path / "simulator.log", rcon_port=0, rcon_password=PASSWORD
    )
    async with SimulatedServer(sim_settings) as sim:
        config = write_config(
            tmp_path / "config",
            {
                "srv": {
                    "log_path": str(log),
                    "log_start": "beginning",
                    "rcon": {"port": sim.rcon_port, "password_env": "SIM_PW"},
                    "metrics": {"interval_s": 0.5},
                    "channels": {"default": CHAT},
                }
            },
        )
        env = {
            **bot_env(
                fake_discord,
                nats_url=private_nats_server.url,
                prefix=nats_prefix,
                config_dir=config,
            ),
            "ISR_DATABASE_URL": database_url,
            "ISR_HEALTH_ENABLED": "false",
            "ISR_NATS_RECONNECT_WAIT_S": "0.5",
            "ISR_BOT_REORDER_WINDOW_S": "0.05",
            "SIM_PW": PASSWORD,
        }
        procs = [
            ServiceProcess(name, args, env, tmp_path)
            for name, args in (
                ("tailer", ["tailer", "--server", "srv"]),
                ("parser", ["parser"]),
                ("persistence", ["persistence"]),
                ("rcon-poller", ["rcon-poller"]),
                ("bot", ["bot"]),
            )
        ]
        for proc in procs:
            proc.start()
        try:
            await fake_discord.wait_until(lambda: fake_discord.identifies == 1, timeout_s=30)
            _append(log, "before the outage")
            await wait_for(lambda: _stored(database_url, "before the outage"), timeout_s=60)
            await fake_discord.wait_until(
                lambda: _posted(fake_discord, "before the outage"), timeout_s=30
            )
            samples = await count(database_url, "SELECT count(*) FROM metric_samples")

            await asyncio.to_thread(private_nats_server.stop)
            _append(log, "during the outage")
            # The outage is what is tested: it has to last, so this waits on the clock.
            await asyncio.sleep(OUTAGE_S)
            exited = {p.name: p.output()[-2000:] for p in procs if not p.is_running()}
            assert exited == {}
            await asyncio.to_thread(private_nats_server.start)
            _append(log, "after the outage")

            for text in ("during the outage", "after the outage"):
                await wait_for(lambda t=text: _stored(database_url, t), timeout_s=60, what=text)
                await fake_discord.wait_until(
                    lambda t=text: _posted(fake_discord, t), timeout_s=60, what=f"post {text}"
                )
            await wait_for(
                lambda: _more_samples(database_url, samples), timeout_s=60, what="new samples"
            )
            exited = {p.name: p.output()[-2000:] for p in procs if not p.is_running()}
            assert exited == {}
        finally:
            codes = {p.name: p.terminate() for p in procs}

    assert codes == dict.fromkeys(codes, 0), {p.name: p.output()[-2000:] for p in procs}


async def _more_samples(database_url: str, before: int) -> bool:
    return await count(database_url, "SELECT count(*) FROM metric_samples") > before
