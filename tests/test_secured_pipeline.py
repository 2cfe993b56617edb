"""The whole pipeline with every service on its own credentials, on a secured nats-server.

The nats-server runs the authorisation config rendered by :mod:`common.access` for this test's
prefix; each service signs in with its own NKey seed (``ISR_NATS_NKEY_SEED_FILE``), exactly as
``isr up`` and the Helm chart set them up: tailer-alpha, parser, persistence and rcon-poller as
real processes, the bot in process against the fake Discord, the simulated Factorio server
behind RCON. What is asserted crossed a wire: rows in Postgres, messages in the fake Discord,
the simulator's player list after a kick, and no permission violation in any service's log.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats
import nats.errors
import pytest

from common import access
from common.nats_auth import connect_options
from common.runtime import inbox_prefix
from common.settings import NatsSettings
from common.topology import Topology
from common.vocabulary import Caller
from isr_cli.infra.nats import EmbeddedNats
from isr_cli.infra.nkeys_store import Identity, ensure_seeds
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config
from isr_testing.nats import new_prefix
from isr_testing.pipeline import service_env
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for
from simulator.scenario import Chat
from simulator.server import ServerSettings, SimulatedServer

from .test_persistence_helpers import count

pytestmark = [pytest.mark.nats, pytest.mark.discord, pytest.mark.slow]

SERVER = "alpha"
CHANNEL = 1001
ADMIN_ROLE = 501
PASSWORD = "sim-password-secured"


@dataclass
class SecuredBus:
    """The secured nats-server and every identity's seed."""

    server: EmbeddedNats
    topology: Topology
    seeds: dict[str, Identity]

    def settings(self, identity: str) -> NatsSettings:
        """The NATS settings of a service signed in as ``identity``."""
        return NatsSettings(
            url=self.server.url, nkey_seed_file=self.seeds[identity].seed_file, reconnect_wait_s=0.2
        )


@pytest.fixture(name="bus")
def _bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBus]:
    topology = Topology(new_prefix())
    names = access.identities([SERVER])
    seeds = ensure_seeds(tmp_path_factory.mktemp("keys") / "nats-auth", names)
    model = access.access_model(topology, [SERVER])
    users = {name: access.NkeyUser(seed.public_key) for name, seed in seeds.items()}
    server = EmbeddedNats(
        tmp_path_factory.mktemp("secured-nats"),
        config_text=access.render_server_config(model, users),
    )
    server.start()
    try:
        yield SecuredBus(server, topology, seeds)
    finally:
        server.stop()


@dataclass
class Pipeline:
    """Everything running, and where to look."""

    bus: SecuredBus
    sim: SimulatedServer
    fake: FakeDiscord
    database_url: str
    processes: list[ServiceProcess]


@pytest.fixture(name="pipeline")
async def _pipeline(
    tmp_path: Path, bus: SecuredBus, fake_discord: FakeDiscord, database_url: str
) -> AsyncIterator[Pipeline]:
    log = tmp_path / "alpha.log"
    sim = SimulatedServer(ServerSettings(log_path=log, rcon_port=0, rcon_password=PASSWORD))
    await sim.start()
    config = write_config(
        tmp_path / "config",
        {
            SERVER: {
                "name": "Alpha",
                "log_path": str(log),
                "rcon": {"port": sim.rcon_port, "password_env": "ISR_TEST_SIM_PASSWORD"},
                "channels": {"default": CHANNEL},
                "permissions": {"admin": [ADMIN_ROLE]},
            }
        },
    )
    prefix = bus.topology.prefix

    def process(identity: str, args: list[str], **extra: str) -> ServiceProcess:
        env = service_env(
            bus.server.url,
            prefix,
            config,
            ISR_NATS_NKEY_SEED_FILE=str(bus.seeds[identity].seed_file),
            ISR_NATS_RECONNECT_WAIT_S="0.2",
            **extra,
        )
        return ServiceProcess(identity, args, env, tmp_path)

    processes = [
        process(access.tailer_identity(SERVER), ["tailer", "--server", SERVER]),
        process("parser", ["parser"]),
        process("persistence", ["persistence"], ISR_DATABASE_URL=database_url),
        process("rcon-poller", ["rcon-poller"], ISR_TEST_SIM_PASSWORD=PASSWORD),
    ]
    for proc in processes:
        proc.start()
    try:
        async with running_bot(
            fake_discord,
            nats_url=bus.server.url,
            prefix=prefix,
            config_dir=config,
            nats_settings=bus.settings("bot"),
        ):
            yield Pipeline(bus, sim, fake_discord, database_url, processes)
    finally:
        codes = {proc.name: proc.terminate() for proc in processes}
        await sim.stop()
    assert codes == dict.fromkeys(codes, 0), {p.name: p.output()[-2000:] for p in processes}


async def _poller_ready(bus: SecuredBus) -> None:
    """Ask the poller's health as the bot would (its own identity, its own inbox)."""
    nc = await nats.connect(
        bus.server.url,
        inbox_prefix=inbox_prefix("bot"),
        **connect_options(bus.settings("bot")),
    )
    subject = bus.topology.rcon_subject(SERVER, Caller.BOT)

    async def connected() -> bool:
        try:
            reply = await nc.request(subject, b'{"op":"health"}', timeout=1)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return False
        return b'"is_connected":true' in reply.data

    try:
        await wait_for(connected, timeout_s=30, what="the rcon-poller connected to the simulator")
    finally:
        await nc.close()


async def test_every_service_on_its_own_credentials(pipeline: Pipeline) -> None:
    """Join and chat reach Postgres and Discord; a Discord kick reaches the game, audited.

    Every hop runs under its identity's permissions: the tailer publishes alpha's raw lines,
    the parser the events, persistence stores them, the bot posts them and asks the poller
    (``rcon.alpha.bot``), the poller kicks and audits with the service it saw on the subject.
    """
    await _poller_ready(pipeline.bus)
    pipeline.sim.add_player("Bob")
    pipeline.sim.apply(Chat("Bob", "hello from a secured bus"))

    async def stored() -> bool:
        chats = await count(pipeline.database_url, "SELECT count(*) FROM events WHERE type='chat'")
        joins = await count(pipeline.database_url, "SELECT count(*) FROM events WHERE type='join'")
        return chats >= 1 and joins >= 1

    await wait_for(stored, timeout_s=30, what="the join and the chat in Postgres")

    def posted() -> bool:
        texts = json.dumps(pipeline.fake.channel_messages(CHANNEL))
        return "hello from a secured bus" in texts and "Bob" in texts

    await wait_for(posted, timeout_s=30, what="the chat posted to Discord")

    state = pipeline.fake.send_interaction(
        name="factorio",
        options=[
            {
                "name": "kick",
                "type": 1,
                "options": [
                    {"name": "player", "type": 3, "value": "Bob"},
                    {"name": "reason", "type": 3, "value": "afk"},
                ],
            }
        ],
        user_id=4242,
        roles=[ADMIN_ROLE],
    )
    reply = await pipeline.fake.wait_for_reply(state, timeout_s=20)
    assert "Player Kicked" in json.dumps(reply)
    await wait_for(
        lambda: "Bob" not in pipeline.sim.get_online_players(),
        timeout_s=10,
        what="Bob kicked in the game",
    )

    async def audited() -> bool:
        return (
            await count(
                pipeline.database_url,
                "SELECT count(*) FROM audit_log WHERE service='bot' AND operation='kick'"
                " AND requested_by='discord:4242'",
            )
            >= 1
        )

    await wait_for(audited, timeout_s=30, what="the poller's audit row for the kick")

    conn = await asyncpg.connect(pipeline.database_url)
    try:
        players = await conn.fetchval("SELECT count(DISTINCT player) FROM player_sessions")
    finally:
        await conn.close()
    assert players == 1
    violations = {
        proc.name: [line for line in proc.output().splitlines() if "ermissions violation" in line]
        for proc in pipeline.processes
    }
    assert not any(violations.values()), violations
