"""Poison messages through real processes: dead-lettered with a reason, never stalling the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import nats
import pytest

from common.topology import Topology
from isr_cli.infra._process import free_port
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events, read_subject
from isr_testing.waiting import wait_for

from .test_persistence_helpers import count, publish_samples, samples

pytestmark = [pytest.mark.nats, pytest.mark.slow]

REASON = "Isr-Dead-Letter-Reason"


def _raw(server: str, offsets: list[int], lines: list[str]) -> bytes:
    """A raw line batch as JSON, written by hand so that it may break the contract."""
    body = (
        f'{{"v":1,"server":{json.dumps(server)},"file_id":"f1","generation":0,'
        f'"offsets":[{",".join(str(o) for o in offsets)}],"lines":{json.dumps(lines)},'
        '"read_at":"2026-11-27T12:00:00Z"}'
    )
    return body.encode()


def _join(name: str) -> str:
    return f"2026-11-27 12:00:00 [JOIN] {name} joined the game"


class _Parser:
    """One real parser process on a private prefix, and a connection to publish and read."""

    def __init__(self, tmp_path: Path, url: str, prefix: str) -> None:
        config = write_config(tmp_path / "config", {"srv": tmp_path / "console.log"})
        self.topo = Topology(prefix)
        self.proc = ServiceProcess("parser", ["parser"], service_env(url, prefix, config), tmp_path)
        self.url = url

    async def __aenter__(self) -> Self:
        self.nc = await nats.connect(self.url)
        self.js = self.nc.jetstream()
        await self.topo.ensure(self.js)
        self.proc.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        code = self.proc.terminate()
        await self.nc.close()
        assert code == 0, self.proc.output()[-3000:]

    async def publish_raw(self, *payloads: bytes) -> None:
        for payload in payloads:
            await self.js.publish(self.topo.raw_subject("srv"), payload)

    async def joins(self, count: int, timeout_s: float = 20) -> list[str | None]:
        events = await read_events(
            self.js, self.topo.event_subject("srv", "join"), count=count, timeout_s=timeout_s
        )
        return [getattr(e, "player", None) for e in events]

    async def dead_letters(self, count: int) -> list[nats.aio.msg.Msg]:
        return await read_subject(
            self.js, self.topo.dead_letter_subject("parser"), count=count, timeout_s=20
        )

    async def settled(self) -> bool:
        info = await self.js.consumer_info(self.topo.raw_stream, "parser")
        return info.num_ack_pending == 0 and info.num_pending == 0


async def test_integer_beyond_64_bits_is_dead_lettered_and_its_neighbour_parsed(
    tmp_path: Path, nats_server, nats_prefix: str
):
    """A raw batch with a 2**70 offset goes to the DLQ; the good batch beside it is parsed."""
    async with _Parser(tmp_path, nats_server.url, nats_prefix) as parser:
        await parser.publish_raw(
            _raw("srv", [2**70], [_join("mallory")]), _raw("srv", [100], [_join("alice")])
        )

        players = await parser.joins(1, timeout_s=10)
        parked = await parser.dead_letters(1)

    assert players == ["alice"]
    assert len(parked) == 1
    assert "offsets.0" in parked[0].headers[REASON], parked[0].headers
    assert parked[0].headers["Isr-Original-Subject"] == parser.topo.raw_subject("srv")


async def test_server_tag_that_is_no_subject_token_is_dead_lettered_not_retried(
    tmp_path: Path, nats_server, nats_prefix: str
):
    """``server: "evil.>"`` is refused by the contract and parked, not nak'd forever."""
    async with _Parser(tmp_path, nats_server.url, nats_prefix) as parser:
        await parser.publish_raw(
            _raw("evil.>", [0], [_join("mallory")]), _raw("srv", [200], [_join("bob")])
        )

        players = await parser.joins(1, timeout_s=10)
        parked = await parser.dead_letters(1)
        await wait_for(parser.settled, timeout_s=10, what="the raw stream settled")

    assert players == ["bob"]
    assert len(parked) == 1
    assert "server" in parked[0].headers[REASON]


async def test_events_beyond_max_payload_are_split_or_parked_and_parsing_goes_on(
    tmp_path: Path, nats_server, nats_prefix: str
):
    """Events too large for one message are split; one event alone too large is parked.

    Parsing goes on: the batches after them are parsed at once.
    """
    big_name = "x" * 200_000  # each join event carries it twice (player and raw line)
    too_big = "y" * 600_000  # one event over the 1 MiB max_payload
    async with _Parser(tmp_path, nats_server.url, nats_prefix) as parser:
        await parser.publish_raw(
            _raw("srv", [0, 1, 2], [_join(f"{big_name}{i}") for i in range(3)]),
            _raw("srv", [10, 20], [_join(too_big), _join("carol")]),
            _raw("srv", [30], [_join("dave")]),
        )

        players = await parser.joins(5, timeout_s=20)
        parked = await parser.dead_letters(1)
        await wait_for(parser.settled, timeout_s=10, what="the raw stream settled")

    short = [p if p is None or len(p) < 100 else f"big{p[-1]}" for p in players]
    assert short == ["big0", "big1", "big2", "carol", "dave"]
    assert len(parked) == 1
    assert "max_payload" in parked[0].headers[REASON]


@pytest.mark.postgres
async def test_value_asyncpg_overflows_on_is_dead_lettered_and_neighbours_stored(
    tmp_path: Path, nats_server, nats_prefix: str, database_url: str
):
    """A metric sample Postgres cannot hold (2**40 players) is parked; the others are stored."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topo.ensure(js)
    good = samples(21)
    bad = good.pop(10).model_copy(update={"player_count": 2**40})
    await publish_samples(js, topo, [*good[:10], bad, *good[10:]])
    env = {
        "ISR_NATS_URL": nats_server.url,
        "ISR_PREFIX": nats_prefix,
        "ISR_DATABASE_URL": database_url,
        "ISR_HEALTH_PORT": str(free_port()),
        "ISR_LOG_FORMAT": "json",
    }
    proc = ServiceProcess("persistence", ["persistence"], env, tmp_path).start()
    try:
        await wait_for(
            lambda: _at_least(database_url, "SELECT count(*) FROM metric_samples", 20),
            timeout_s=30,
            what="the good samples",
        )
        parked = await read_subject(js, topo.dead_letter_subject("persistence"), count=1)
    finally:
        code = proc.terminate()
        await nc.close()

    assert code == 0, proc.output()[-3000:]
    assert await count(database_url, "SELECT count(*) FROM metric_samples") == 20
    assert len(parked) == 1
    assert "OverflowError" in parked[0].headers[REASON] or "out of" in parked[0].headers[REASON]
    assert parked[0].headers["Isr-Original-Stream"] == topo.metrics_stream


async def _at_least(url: str, sql: str, wanted: int) -> bool:
    return await count(url, sql) >= wanted
