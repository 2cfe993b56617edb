"""Persistence under faults, through real processes: SIGKILL, Postgres restart, poison messages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from common.topology import Topology
from isr_cli.infra._process import free_port
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_subject
from isr_testing.waiting import wait_for

from .test_persistence_helpers import (
    count,
    events,
    fetch_readiness,
    publish_events,
    publish_samples,
    samples,
)

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]


def _env(nats_url: str, prefix: str, database_url: str, health_port: int) -> dict[str, str]:
    return {
        "ISR_NATS_URL": nats_url,
        "ISR_PREFIX": prefix,
        "ISR_DATABASE_URL": database_url,
        "ISR_HEALTH_PORT": str(health_port),
        "ISR_LOG_FORMAT": "json",
        "ISR_PERSISTENCE_BATCH_SIZE": "500",
    }


async def test_sigkill_mid_stream_stores_every_message_exactly_once(
    tmp_path: Path, nats_server, nats_prefix: str, database_url: str
):
    """Writers SIGKILLed twice mid-stream still end with each event and sample stored once."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topo.ensure(js)
    all_events, all_samples = events(20_000), samples(3_000)
    await publish_events(js, topo, all_events, per_raw_batch=20)
    await publish_samples(js, topo, all_samples)
    env = _env(nats_server.url, nats_prefix, database_url, free_port())
    proc = ServiceProcess("persistence", ["persistence"], env, tmp_path)
    try:
        for stop_at in (3_000, 12_000):
            proc.start()
            await wait_for(
                lambda at=stop_at: _at_least(database_url, "SELECT count(*) FROM events", at),
                timeout_s=60,
                what=f"{stop_at} rows",
            )
            proc.kill()
        proc.start()
        await wait_for(
            lambda: _at_least(database_url, "SELECT count(*) FROM events", 20_000),
            timeout_s=60,
            what="every event",
        )
        await wait_for(
            lambda: _at_least(database_url, "SELECT sum(samples) FROM metric_hour", 3_000),
            timeout_s=30,
            what="every sample rolled up",
        )
        assert await count(database_url, "SELECT count(DISTINCT id) FROM events") == 20_000
        assert await count(database_url, "SELECT count(*) FROM metric_samples") == 3_000
        assert await count(database_url, "SELECT sum(samples) FROM metric_minute") == 3_000
        assert await count(database_url, "SELECT sum(samples) FROM metric_hour") == 3_000
    finally:
        code = proc.terminate()
        await nc.close()
    assert code == 0, proc.output()[-3000:]


async def _at_least(url: str, sql: str, wanted: int) -> bool:
    return await count(url, sql) >= wanted


async def test_postgres_restart_mid_stream_loses_nothing_and_reports_not_ready(
    tmp_path: Path, nats_server, nats_prefix: str, private_postgres
):
    """While Postgres is down /readyz names the database; afterwards each event is stored once."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topo.ensure(js)
    url = private_postgres.url
    health_port = free_port()
    proc = ServiceProcess(
        "persistence",
        ["persistence"],
        _env(nats_server.url, nats_prefix, url, health_port),
        tmp_path,
    )
    all_events = events(6_000)
    proc.start()
    try:
        await publish_events(js, topo, all_events[:2_000], per_raw_batch=100)
        await wait_for(
            lambda: _at_least(url, "SELECT count(*) FROM events", 2_000), timeout_s=30, what="rows"
        )
        throwaway, private_postgres.is_throwaway = private_postgres.is_throwaway, False
        try:
            await asyncio.to_thread(private_postgres.stop)
            await publish_events(js, topo, all_events[2_000:4_000], per_raw_batch=100)
            body = await wait_for(
                lambda: _failing_database(health_port), timeout_s=30, what="not ready"
            )
            assert "database" in body["failing"]
            await asyncio.to_thread(private_postgres.start)
        finally:
            private_postgres.is_throwaway = throwaway
        await publish_events(js, topo, all_events[4_000:], per_raw_batch=100)
        await wait_for(
            lambda: _at_least(url, "SELECT count(*) FROM events", 6_000), timeout_s=60, what="all"
        )
        await wait_for(lambda: _ready(health_port), timeout_s=30, what="ready again")
        assert await count(url, "SELECT count(DISTINCT id) FROM events") == 6_000
        assert await count(url, "SELECT count(*) FROM events") == 6_000
    finally:
        code = proc.terminate()
        await nc.close()
    assert code == 0, proc.output()[-3000:]


async def _failing_database(port: int) -> dict[str, object] | None:
    body = await fetch_readiness(port)
    failing = body.get("failing")
    return body if isinstance(failing, dict) and "database" in failing else None


async def _ready(port: int) -> bool:
    return (await fetch_readiness(port)).get("status") == "ready"


async def test_poison_messages_go_to_the_dead_letter_subject_and_the_rest_is_stored(
    tmp_path: Path, nats_server, nats_prefix: str, database_url: str
):
    """A payload that does not decode and one Postgres rejects are dead-lettered with a reason.

    Also in an event batch: the batch is parked for its one bad event, its other events stored.
    """
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topo.ensure(js)
    good = events(1_000)
    nul = good[500].model_copy(update={"id": "e2e:nul", "message": "bad \x00 byte"})
    await js.publish(topo.event_subject("e2e", "chat"), b"{not json", headers={"Nats-Msg-Id": "x"})
    await publish_events(js, topo, [*good[:500], nul, *good[500:]])
    chats = [e for e in events(30, first_offset=2_000) if e.type == "chat"]
    batch_nul = chats[0].model_copy(update={"id": "e2e:nul-in-batch", "message": "\x00"})
    await publish_events(js, topo, [*chats, batch_nul], per_raw_batch=len(chats) + 1)
    wanted = 1_000 + len(chats)
    proc = ServiceProcess(
        "persistence",
        ["persistence"],
        _env(nats_server.url, nats_prefix, database_url, free_port()),
        tmp_path,
    )
    proc.start()
    try:
        await wait_for(
            lambda: _at_least(database_url, "SELECT count(*) FROM events", wanted),
            timeout_s=60,
            what="the good events",
        )
        parked = await read_subject(js, topo.dead_letter_subject("persistence"), count=3)
        reasons = sorted(m.headers["Isr-Dead-Letter-Reason"] for m in parked)
        assert len(parked) == 3
        assert sum("0x00" in r for r in reasons) == 2, reasons
        assert any(r.startswith("event e2e:nul-in-batch: ") for r in reasons), reasons
        assert any("json" in r.lower() for r in reasons), reasons
        assert {m.headers["Isr-Original-Stream"] for m in parked} == {topo.events_stream}
        assert await count(database_url, "SELECT count(*) FROM events") == wanted
        assert await count(database_url, "SELECT count(*) FROM events WHERE id LIKE '%nul%'") == 0
    finally:
        code = proc.terminate()
        await nc.close()
    assert code == 0, proc.output()[-3000:]
