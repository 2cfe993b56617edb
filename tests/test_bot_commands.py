"""Slash commands end to end: fake Discord → real bot → real rcon-poller → simulated Factorio."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from common.contracts.audit import AuditRecord
from common.topology import Topology
from common.vocabulary import Caller
from isr_testing.fakediscord import FakeDiscord, payloads
from isr_testing.fakediscord.harness import running_bot, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_subject
from isr_testing.waiting import wait_for
from simulator.server import ServerSettings, SimulatedServer

from .test_persistence_helpers import count

pytestmark = [pytest.mark.discord, pytest.mark.nats, pytest.mark.slow]

ADMIN_ROLE, DANGER_ROLE, QUERY_ROLE = 501, 502, 503
EPHEMERAL = 64


@dataclass
class CommandEnv:
    """A running bot, poller and simulator, and how to talk to them through the fake."""

    fake: FakeDiscord
    sim: SimulatedServer
    nats_url: str
    prefix: str

    async def run(
        self,
        command: str,
        roles: tuple[int, ...] = (),
        /,
        *,
        root: str = "factorio",
        user_id: int = 42,
        guild_id: int | None = payloads.GUILD_ID,
        **options: Any,
    ) -> dict[str, Any]:
        """Send ``/root name options`` and return the visible reply (with its flags)."""
        types = {int: 4, float: 10}
        sub = {
            "name": command,
            "type": 1,
            "options": [
                {"name": k, "type": types.get(type(v), 3), "value": v} for k, v in options.items()
            ],
        }
        state = self.fake.send_interaction(
            name=root, options=[sub], user_id=user_id, roles=list(roles), guild_id=guild_id
        )
        return await self.fake.wait_for_reply(state, timeout_s=20)


def _title(reply: dict[str, Any]) -> str:
    embeds = reply.get("embeds") or []
    return embeds[0]["title"] if embeds else ""


def _is_ephemeral(reply: dict[str, Any]) -> bool:
    return bool((reply.get("flags") or 0) & EPHEMERAL)


@contextlib.asynccontextmanager
async def _command_env(
    tmp_path: Path, fake: FakeDiscord, nats_url: str, prefix: str, *, with_poller: bool
) -> AsyncIterator[CommandEnv]:
    password = "sim-password-123"
    sim = SimulatedServer(
        ServerSettings(log_path=tmp_path / "alpha.log", rcon_port=0, rcon_password=password)
    )
    await sim.start()
    sim.add_player("Bob")
    config = write_config(
        tmp_path / "config",
        {
            "alpha": {
                "name": "Alpha",
                "description": "main world",
                "log_path": str(tmp_path / "alpha.log"),
                "rcon": {
                    "port": sim.rcon_port,
                    "password_env": "ISR_TEST_SIM_PASSWORD",
                    "timeout_s": 2,
                },
                "channels": {"default": 1001},
                "permissions": {"admin": [ADMIN_ROLE], "danger": [DANGER_ROLE]},
                "cooldowns": {
                    "query": {"rate": 100, "per_s": 60},
                    "admin": {"rate": 100, "per_s": 60},
                    "danger": {"rate": 100, "per_s": 60},
                },
                "bridge": {"enabled": True, "channel_id": 2001, "rate": 2, "per_s": 60},
            },
            "beta": {
                "name": "Beta",
                "log_path": str(tmp_path / "beta.log"),
                "rcon": {"enabled": False},
                "permissions": {"query": [QUERY_ROLE], "admin": [ADMIN_ROLE]},
                "cooldowns": {"query": {"rate": 1, "per_s": 600}},
            },
        },
    )
    environ = {
        **os.environ,
        "ISR_NATS_URL": nats_url,
        "ISR_PREFIX": prefix,
        "ISR_CONFIG_DIR": str(config),
        "ISR_TEST_SIM_PASSWORD": password,
        "ISR_HEALTH_PORT": "0",
        "ISR_LOG_FORMAT": "json",
    }
    os.environ["ISR_TEST_SIM_PASSWORD"] = password
    poller_log = (tmp_path / "poller.log").open("wb")
    poller = (
        subprocess.Popen(
            [sys.executable, "-m", "rcon_poller"], env=environ, stdout=poller_log, stderr=poller_log
        )
        if with_poller
        else None
    )
    try:
        async with running_bot(fake, nats_url=nats_url, prefix=prefix, config_dir=config):
            env = CommandEnv(fake, sim, nats_url, prefix)
            if poller is not None:
                await _wait_for_poller(env, tmp_path / "poller.log")
            yield env
    finally:
        if poller is not None:
            poller.terminate()
            poller.wait(15)
        poller_log.close()
        del os.environ["ISR_TEST_SIM_PASSWORD"]
        await sim.stop()


@pytest.fixture(name="env")
async def _env(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
) -> AsyncIterator[CommandEnv]:
    """Simulator with RCON, the real rcon-poller as a child process, the bot in process."""
    async with _command_env(
        tmp_path, fake_discord, nats_server.url, nats_prefix, with_poller=True
    ) as env:
        yield env


@pytest.fixture(name="bot_only")
async def _bot_only(
    tmp_path: Path, fake_discord: FakeDiscord, nats_server, nats_prefix: str
) -> AsyncIterator[CommandEnv]:
    """The same without a poller: for checks the bot makes before any RCON request."""
    async with _command_env(
        tmp_path, fake_discord, nats_server.url, nats_prefix, with_poller=False
    ) as env:
        yield env


async def _wait_for_poller(env: CommandEnv, log: Path) -> None:
    nc = await nats.connect(env.nats_url)
    try:
        subject = Topology(env.prefix).rcon_subject("alpha", Caller.BOT)
        for _ in range(200):
            try:
                reply = await nc.request(subject, b'{"op":"health"}', timeout=1)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.1)  # polling a child process that is starting
                continue
            if b'"is_connected":true' in reply.data:
                return
            await asyncio.sleep(0.1)
        tail = log.read_text(errors="replace")[-2000:]
        raise AssertionError(f"the rcon-poller never connected to the simulator:\n{tail}")
    finally:
        await nc.close()


ADMIN_AND_DANGER = (ADMIN_ROLE, DANGER_ROLE)

SUCCESS_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("servers", {}, "Available Factorio Servers"),
    ("connect", {"server": "alpha"}, "Connected to Alpha"),
    ("status", {}, "Alpha Status"),
    ("players", {}, "Players on Alpha"),
    ("version", {}, "Alpha Version"),
    ("seed", {}, "Map Seed"),
    ("evolution", {"target": "all"}, "Evolution"),
    ("admins", {}, "Administrators"),
    ("health", {}, "Health Check"),
    ("mute", {"player": "Bob"}, "Player Muted"),
    ("unmute", {"player": "Bob"}, "Player Unmuted"),
    ("promote", {"player": "Bob"}, "Player Promoted"),
    ("demote", {"player": "Bob"}, "Player Demoted"),
    ("save", {"name": "backup1"}, "Game Saved"),
    ("broadcast", {"message": "hello all"}, "Broadcast Sent"),
    ("whisper", {"player": "Bob", "message": "psst"}, "Private Message Sent"),
    ("whitelist", {"action": "add", "player": "Bob"}, "Added to Whitelist"),
    ("whitelist", {"action": "list"}, "Whitelist"),
    ("clock", {"value": "day"}, "Eternal Day Set"),
    ("clock", {}, "Current Game Clock"),
    ("speed", {"value": 2.0}, "Game Speed Set"),
    ("research", {}, "Technology Status"),
    ("research", {"action": "all"}, "All Technologies Researched"),
    ("rcon", {"command": "/time"}, "RCON Command Executed"),
    ("kick", {"player": "Bob", "reason": "afk"}, "Player Kicked"),
    ("ban", {"player": "Eve", "reason": "griefing"}, "Player Banned"),
    ("unban", {"player": "Eve"}, "Player Unbanned"),
]


async def test_every_command_succeeds_with_the_right_roles(env: CommandEnv):
    """Each of the 25 commands answers once, publicly, with its own reply (help ephemerally)."""
    failures = []
    for name, options, title in SUCCESS_CASES:
        reply = await env.run(name, ADMIN_AND_DANGER, **options)
        if title not in _title(reply) or _is_ephemeral(reply):
            failures.append((name, options, _title(reply), reply.get("embeds")))
    help_reply = await env.run("help")

    assert failures == []
    assert _is_ephemeral(help_reply)
    assert "/factorio rcon <command>" in help_reply["content"]
    assert {name for name, _o, _t in SUCCESS_CASES} | {"help"} == {
        c["name"] for c in env.fake.commands[payloads.GUILD_ID][0]["options"]
    }
    privileged = [n for n, _o, _t in SUCCESS_CASES if n in ADMIN_OPS | DANGER]
    game_changing = [
        (n, o) for n, o, _t in SUCCESS_CASES if n in ADMIN_OPS | DANGER and o not in READS
    ]
    nc = await nats.connect(env.nats_url)
    try:
        subject = Topology(env.prefix).audit_subject("alpha")
        msgs = await read_subject(
            nc.jetstream(), subject, count=len(privileged) + len(game_changing)
        )
    finally:
        await nc.close()
    records = [AuditRecord.from_json(m.data, strict=True) for m in msgs]
    by_bot = [r for r in records if r.id.startswith("discord:")]
    by_poller = [r for r in records if r.id.startswith("rcon:alpha:")]
    assert (len(by_bot), len(by_poller)) == (len(privileged), len(game_changing))
    assert {r.result.value for r in records} == {"ok"}
    kick = next(r for r in by_bot if r.operation == "kick")
    assert (kick.actor_id, kick.parameters["player"], kick.parameters["reason"]) == (
        42,
        "Bob",
        "afk",
    )
    assert (kick.requested_by, kick.service) == ("discord:42", None)
    # The poller's record of the same kick: the service from the subject, the user the bot
    # named, linked to the bot's record by the request id.
    assert {(r.service, r.requested_by) for r in by_poller} == {("bot", "discord:42")}
    poller_kick = next(r for r in by_poller if r.operation == "kick")
    assert (poller_kick.request_id, poller_kick.parameters) == (
        kick.id,
        {"player": "Bob", "reason": "afk"},
    )
    assert {r.request_id for r in by_poller} <= {r.id for r in by_bot}


@pytest.mark.postgres
async def test_a_bot_command_is_audited_in_postgres_with_service_and_user(
    env: CommandEnv, tmp_path: Path, database_url: str
):
    """A Discord kick leaves the bot's row and the poller's, with service ``bot`` and the user."""
    persistence = ServiceProcess(
        "persistence",
        ["persistence"],
        {
            "ISR_NATS_URL": env.nats_url,
            "ISR_PREFIX": env.prefix,
            "ISR_DATABASE_URL": database_url,
            "ISR_HEALTH_PORT": "0",
            "ISR_LOG_FORMAT": "json",
        },
        tmp_path,
    ).start()
    try:
        reply = await env.run("kick", ADMIN_AND_DANGER, user_id=4242, player="Bob", reason="afk")

        async def two_rows() -> bool:
            return await count(database_url, "SELECT count(*) FROM audit_log") >= 2

        await wait_for(two_rows, timeout_s=30, what="the audit rows")
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT id, service, requested_by, request_id, actor_id, operation, result"
                " FROM audit_log ORDER BY id"
            )
        finally:
            await conn.close()
    finally:
        code = persistence.terminate()

    assert code == 0, persistence.output()[-3000:]
    assert "Player Kicked" in _title(reply)
    bot_row, poller_row = (dict(r) for r in rows)
    assert bot_row["id"].startswith("discord:")
    assert (bot_row["service"], bot_row["requested_by"], bot_row["actor_id"]) == (
        None,
        "discord:4242",
        4242,
    )
    assert poller_row["id"].startswith("rcon:alpha:")
    assert (
        poller_row["service"],
        poller_row["requested_by"],
        poller_row["request_id"],
        poller_row["actor_id"],
        poller_row["operation"],
        poller_row["result"],
    ) == ("bot", "discord:4242", bot_row["id"], None, "kick", "ok")


PRIVILEGED = [
    ("kick", {"player": "Bob"}),
    ("ban", {"player": "Bob"}),
    ("unban", {"player": "Bob"}),
    ("mute", {"player": "Bob"}),
    ("unmute", {"player": "Bob"}),
    ("promote", {"player": "Bob"}),
    ("demote", {"player": "Bob"}),
    ("save", {}),
    ("broadcast", {"message": "x"}),
    ("whisper", {"player": "Bob", "message": "x"}),
    ("whitelist", {"action": "list"}),
    ("clock", {}),
    ("speed", {"value": 1.0}),
    ("research", {}),
    ("rcon", {"command": "/time"}),
]
DANGER = {"ban", "unban", "promote", "demote", "rcon"}
READS: list[dict[str, Any]] = [{"action": "list"}, {}]
"""Options of the privileged commands that only read (whitelist list, clock, research)."""
ADMIN_OPS = {
    "kick", "mute", "unmute", "save", "broadcast", "whisper", "whitelist", "clock", "speed",
    "research",
}  # fmt: skip


async def test_privileged_commands_are_denied_without_roles_and_audited(bot_only: CommandEnv):
    """Admin and danger commands are refused ephemerally without the role and each is audited."""
    replies = {}
    for name, options in PRIVILEGED:
        replies[name] = await bot_only.run(name, (), **options)
    admin_only = {
        name: await bot_only.run(name, (ADMIN_ROLE,), **o)
        for name, o in PRIVILEGED
        if name in DANGER
    }
    dm = await bot_only.run("status", guild_id=None)
    foreign = await bot_only.run("status", guild_id=999)
    restricted = await bot_only.run("status", server="beta")

    assert all(_is_ephemeral(r) and "Permission denied" in _title(r) for r in replies.values())
    assert all("Permission denied" in _title(r) for r in admin_only.values())
    assert _is_ephemeral(dm)
    assert "DMs" in dm["embeds"][0]["description"]
    assert "not allowed" in foreign["embeds"][0]["description"]
    assert "Permission denied" in _title(restricted)
    nc = await nats.connect(bot_only.nats_url)
    try:
        subject = Topology(bot_only.prefix).audit_subject("alpha")
        msgs = await read_subject(nc.jetstream(), subject, count=len(PRIVILEGED) + len(DANGER))
    finally:
        await nc.close()
    records = [AuditRecord.from_json(m.data) for m in msgs]
    assert {r.result.value for r in records} == {"denied"}
    assert {r.operation for r in records} >= {"kick", "rcon_raw", "ban"}


async def test_bad_input_is_refused_specifically_and_ephemerally(bot_only: CommandEnv):
    """Bad arguments, unknown servers, log-only servers and cooldowns each say what was wrong."""
    env = bot_only
    cases = {
        "speed": await env.run("speed", (ADMIN_ROLE,), value=50.0),
        "clock": await env.run("clock", (ADMIN_ROLE,), value="noonish"),
        "whitelist": await env.run("whitelist", (ADMIN_ROLE,), action="add"),
        "kick_name": await env.run("kick", (ADMIN_ROLE,), player="bad\nname"),
        "server": await env.run("status", server="gamma"),
        "log_only": await env.run("status", (QUERY_ROLE,), server="beta"),
        "history": await env.run("alerts", (QUERY_ROLE,), root="factorio-stats", server="beta"),
        "cooldown": await env.run("alerts", (QUERY_ROLE,), root="factorio-stats", server="beta"),
    }

    assert all(_is_ephemeral(r) for r in cases.values()), cases
    assert "between 0.1 and 10.0" in cases["speed"]["embeds"][0]["description"]
    assert "noonish" in cases["clock"]["embeds"][0]["description"]
    assert "needs a player" in cases["whitelist"]["embeds"][0]["description"]
    assert "Bad argument" in _title(cases["kick_name"])
    assert "gamma" in cases["server"]["embeds"][0]["description"]
    assert "log-only" in cases["log_only"]["embeds"][0]["description"]
    assert "not running" in cases["history"]["embeds"][0]["description"]
    assert "Try again in 600 seconds" in cases["cooldown"]["embeds"][0]["description"]


async def test_factorio_errors_are_specific_and_ephemeral(env: CommandEnv):
    """An unknown player and a Lua error come back as their own ephemeral errors."""
    unknown = await env.run("kick", (ADMIN_ROLE,), player="Nobody")
    lua = await env.run("research", (ADMIN_ROLE,), action="undo", technology="no-such-tech")

    assert _is_ephemeral(unknown)
    assert "Unknown player" in _title(unknown)
    assert _is_ephemeral(lua)
    assert "Unknown technology" in _title(lua) or "Factorio" in _title(lua)


async def test_stalled_and_unreachable_rcon_give_specific_errors(env: CommandEnv):
    """A stalled server times out and a refused connection reports RCON unavailable."""
    env.sim.stall_rcon()
    stalled = await env.run("players")
    env.sim.release_rcon()
    await env.sim.refuse_rcon()
    await env.sim.drop_rcon_connections()
    down = await env.run("players")
    await env.sim.accept_rcon()

    assert _is_ephemeral(stalled)
    assert "Timed out" in _title(stalled), stalled
    assert _is_ephemeral(down)
    assert "RCON unavailable" in _title(down)


async def test_autocomplete_offers_matching_servers(bot_only: CommandEnv):
    """Typing part of a server's description offers that server."""
    state = bot_only.fake.send_interaction(
        name="factorio",
        options=[
            {
                "name": "status",
                "type": 1,
                "options": [{"name": "server", "type": 3, "value": "main", "focused": True}],
            }
        ],
        user_id=42,
        autocomplete=True,
    )
    reply = await bot_only.fake.wait_for_reply(state)

    assert [c["value"] for c in reply["choices"]] == ["alpha"]


async def test_bridge_sends_sanitised_chat_and_limits_rate(env: CommandEnv):
    """Messages in the bridge channel reach game chat marked, one line, rate-limited."""
    for text in ("hello **game** <@123>\nsecond line", "two", "three (over the limit)"):
        env.fake.dispatch(
            "MESSAGE_CREATE",
            payloads.message_create(channel_id=2001, content=text, user_id=77, user_name="carol"),
        )

    async def said() -> list[str]:
        return [line for line in env.sim.log.path.read_text().splitlines() if "[Discord]" in line]

    lines: list[str] = []
    for _ in range(100):
        lines = await said()
        if len(lines) >= 2:
            break
        await asyncio.sleep(0.05)  # polling the simulator's console log
    assert len(lines) == 2
    assert "[CHAT] <server>: [Discord] carol: hello **game** @user second line" in lines[0]
