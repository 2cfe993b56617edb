"""Only the rcon-poller reads RCON passwords: the bot and the parser run without them.

The same servers.yml is given to every service, as the Helm chart does, but the RCON password
file exists only where the rcon-poller runs (its pod mounts the Secret; the bot's does not).
The bot and the parser load servers.yml checking the reference's shape only, so they start and
work; the poller resolves it and refuses to start without it, naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from common.contracts import GameEvent
from common.topology import Topology
from common.vocabulary import Caller
from isr_testing.fakediscord import FakeDiscord, payloads
from isr_testing.fakediscord.harness import running_bot, write_config
from isr_testing.pipeline import service_env
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events
from isr_testing.waiting import wait_for
from simulator.server import ServerSettings, SimulatedServer

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PASSWORD = "poller-only-password-7731"
SECRET = "secrets/alpha-rcon"  # relative to each service's config directory


def _servers(log: Path, rcon_port: int, *, name: str = "Alpha") -> dict[str, object]:
    return {
        "alpha": {
            "name": name,
            "log_path": str(log),
            "log_start": "beginning",
            "log_timezone": "Asia/Tokyo",
            "rcon": {"port": rcon_port, "password_file": SECRET, "timeout_s": 2},
            "channels": {"default": 1001},
        }
    }


def _config_dirs(tmp_path: Path, log: Path, rcon_port: int) -> tuple[Path, Path]:
    """The poller's config directory (with the password file) and everyone else's (without)."""
    poller_dir = write_config(tmp_path / "poller-config", _servers(log, rcon_port))
    (poller_dir / SECRET).parent.mkdir()
    (poller_dir / SECRET).write_text(PASSWORD + "\n", encoding="utf-8")
    others = tmp_path / "config"
    others.mkdir()
    shutil.copy(poller_dir / "servers.yml", others / "servers.yml")
    assert not (others / SECRET).exists()
    return poller_dir, others


async def _poller_serves(nats_url: str, prefix: str, log: Path) -> None:
    """Wait until the poller answers a health request connected to the simulator."""
    nc = await nats.connect(nats_url)
    subject = Topology(prefix).rcon_subject("alpha", Caller.BOT)
    try:

        async def connected() -> bool:
            try:
                reply = await nc.request(subject, b'{"op":"health"}', timeout=1)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                return False
            return b'"is_connected":true' in reply.data

        await wait_for(connected, timeout_s=30, what=f"the rcon-poller ({log})")
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def _simulator(tmp_path: Path) -> AsyncIterator[SimulatedServer]:
    sim = SimulatedServer(
        ServerSettings(log_path=tmp_path / "alpha.log", rcon_port=0, rcon_password=PASSWORD)
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_bot_serves_rcon_commands_without_the_rcon_password(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
) -> None:
    """The bot starts, answers an RCON command through the poller and reloads, with no password."""
    async with _simulator(tmp_path) as sim:
        sim.add_player("Bob")
        poller_dir, bot_dir = _config_dirs(tmp_path, tmp_path / "alpha.log", sim.rcon_port)
        poller = ServiceProcess(
            "poller",
            ["rcon-poller"],
            service_env(nats_server.url, nats_prefix, poller_dir),
            tmp_path,
        ).start()
        try:
            async with running_bot(
                fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=bot_dir
            ):
                await _poller_serves(nats_server.url, nats_prefix, poller.log_path)

                async def ask(name: str) -> dict[str, object]:
                    state = fake_discord.send_interaction(
                        name="factorio",
                        options=[{"name": name, "type": 1, "options": []}],
                        user_id=42,
                        roles=[],
                        guild_id=payloads.GUILD_ID,
                    )
                    return await fake_discord.wait_for_reply(state, timeout_s=20)

                status = await ask("players")
                # A reload of the bot's servers.yml is taken without the password as well.
                (bot_dir / "servers.yml").write_text(
                    json.dumps(
                        {
                            "discord": {"guild_ids": [payloads.GUILD_ID]},
                            "servers": _servers(
                                tmp_path / "alpha.log", sim.rcon_port, name="Alpha Renamed"
                            ),
                        }
                    ),
                    encoding="utf-8",
                )

                async def renamed() -> bool:
                    reply = await ask("servers")
                    return "Alpha Renamed" in json.dumps(reply)

                await wait_for(renamed, timeout_s=20, what="the bot's reload of servers.yml")
        finally:
            assert poller.terminate() == 0, poller.output()
    assert status["embeds"][0]["title"].endswith("Players on Alpha"), status  # type: ignore[index]
    assert "Bob" in json.dumps(status)
    assert PASSWORD not in poller.output()


async def test_parser_reads_log_timezone_without_the_rcon_password(
    tmp_path: Path, nats_server, nats_prefix: str
) -> None:
    """Tailer and parser start with an unreadable RCON password and apply servers.yml's zone."""
    log = tmp_path / "alpha.log"
    log.write_text("2026-11-27 21:00:00 [CHAT] alice: hello from Tokyo\n", encoding="utf-8")
    _, config = _config_dirs(tmp_path, log, rcon_port=27015)
    env = service_env(nats_server.url, nats_prefix, config)
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "alpha"], env, tmp_path).start(),
        ServiceProcess("parser", ["parser"], env, tmp_path).start(),
    ]
    nc = await nats.connect(nats_server.url)
    try:
        events = await read_events(
            nc.jetstream(), f"{nats_prefix}.events.alpha.chat", count=1, timeout_s=60
        )
    finally:
        await nc.close()
        codes = [p.terminate() for p in procs]

    assert codes == [0, 0], [p.output()[-2000:] for p in procs]
    (event,) = events
    assert isinstance(event, GameEvent)
    assert event.message == "hello from Tokyo"
    # 21:00 in Tokyo (UTC+9) is 12:00 UTC: the parser used servers.yml, not the UTC default.
    assert event.ts == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_poller_refuses_to_start_without_the_rcon_password(tmp_path: Path) -> None:
    """The rcon-poller, given the bot's view of the files, stops at start naming the file."""
    _, config = _config_dirs(tmp_path, tmp_path / "alpha.log", rcon_port=27015)
    env = {
        **os.environ,
        **service_env("nats://127.0.0.1:1", "isr-scope", config),
    }
    result = subprocess.run(
        [sys.executable, "-m", "isr_cli", "rcon-poller"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"secret file {SECRET} does not exist" in output, output
    assert "servers.alpha.rcon.password_file" in output, output


async def test_check_config_still_resolves_every_secret(tmp_path: Path) -> None:
    """`isr check-config` checks the operator's files: a missing password file is an error."""
    _, config = _config_dirs(tmp_path, tmp_path / "alpha.log", rcon_port=27015)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "isr_cli",
        "check-config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    assert f"secret file {SECRET} does not exist" in out.decode()
