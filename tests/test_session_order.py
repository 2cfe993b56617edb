"""Player sessions through real processes: two parser workers, redeliveries, real Postgres.

The raw batches are published straight onto the raw stream (what the tailer would send), so
the test knows every line's log time and position; everything after that is real: two parser
processes on one durable consumer, one of them SIGKILLed mid-burst, batches held unacknowledged
by a stalled worker and redelivered after the ack wait, persistence writing to Postgres.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import nats
import pytest

from common.contracts import RawLineBatch
from common.topology import Topology
from isr_testing.pipeline import service_env
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

SERVER = "order"
ZONE = "America/New_York"
START = datetime(2026, 11, 27, 9, 0, 0)  # noqa: DTZ001 - the log's local time, no zone
PLAYERS = 200
LINES_PER_BATCH = 2
HELD_BATCHES = 12
"""Batches a slow worker takes first and hands back (nak) once every later batch is stored."""
ACK_WAIT_S = 3.0
"""The parsers' ack wait: what a SIGKILLed worker's batch waits before it is redelivered."""


def _log() -> tuple[list[str], dict[str, tuple[datetime, int]]]:
    """The console lines, and per player the local join time and the session's seconds."""
    timed: list[tuple[datetime, int, str]] = []
    expected: dict[str, tuple[datetime, int]] = {}
    for i in range(PLAYERS):
        player = f"p{i:03d}"
        joined = START + timedelta(seconds=2 * i)
        seconds = 30 + i % 7  # ~15 other players' lines between a join and its leave
        left = joined + timedelta(seconds=seconds)
        timed.append((joined, 0, f"{joined:%Y-%m-%d %H:%M:%S} [JOIN] {player} joined the game"))
        timed.append((left, 1, f"{left:%Y-%m-%d %H:%M:%S} [LEAVE] {player} left the game"))
        expected[player] = (joined, seconds)
    timed.sort()
    return [line for _, _, line in timed], expected


def _batches(lines: list[str]) -> list[RawLineBatch]:
    batches, offset = [], 0
    for start in range(0, len(lines), LINES_PER_BATCH):
        chunk = lines[start : start + LINES_PER_BATCH]
        offsets = []
        for line in chunk:
            offsets.append(offset)
            offset += len(line.encode()) + 1
        batches.append(
            RawLineBatch(
                server=SERVER,
                file_id="f1",
                generation=1,
                offsets=tuple(offsets),
                lines=tuple(chunk),
                read_at=datetime.now(UTC),
                end=offset,
            )
        )
    return batches


def _config(config_dir: Path, log: Path) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "servers.yml").write_text(
        "servers:\n"
        f"  {SERVER}:\n"
        f"    log_path: {log}\n"
        f"    log_timezone: {ZONE}\n"
        "    rcon:\n      enabled: false\n"
    )
    (config_dir / "patterns").mkdir(exist_ok=True)
    return config_dir


def _started(proc: ServiceProcess) -> bool:
    """Whether the process's latest start has got as far as ``service_started``."""
    return '"service_started"' in proc.output().rsplit("--- start #", 1)[-1]


async def _stored(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return 0
        return await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()


async def test_sessions_close_with_log_durations_despite_two_workers_and_redeliveries(
    tmp_path: Path, nats_server, nats_prefix: str, database_url: str
):
    """Two parser workers, a SIGKILL and redeliveries still close every session at log time."""
    lines, expected = _log()
    batches = _batches(lines)
    topology = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topology.ensure(js)
    durable = topology.consumer_config("parser")
    await js.add_consumer(
        topology.raw_stream, config=dataclasses.replace(durable, ack_wait=ACK_WAIT_S)
    )
    subject = topology.raw_subject(SERVER)

    async def publish(chunk: list[RawLineBatch]) -> None:
        for batch in chunk:
            await js.publish(subject, batch.to_json(), headers={"Nats-Msg-Id": batch.batch_id})

    # A slow worker takes the first batches (their players' joins) and hands them back only
    # after every later batch (with those players' leaves) is stored: they are redelivered and
    # parsed last. Until then it tells JetStream it is still working on them.
    await publish(batches[:HELD_BATCHES])
    slow = await js.pull_subscribe_bind("parser", stream=topology.raw_stream)
    held = await slow.fetch(HELD_BATCHES, timeout=10)
    assert len(held) == HELD_BATCHES

    async def still_working() -> None:
        while True:
            for msg in held:
                await msg.in_progress()
            await asyncio.sleep(ACK_WAIT_S / 3)  # a heartbeat, not a synchronisation

    heartbeat = asyncio.create_task(still_working())

    env = service_env(
        nats_server.url,
        nats_prefix,
        _config(tmp_path / "config", tmp_path / "console.log"),
        ISR_DATABASE_URL=database_url,
        ISR_PARSER_BATCH_SIZE="1",
    )
    parsers = [ServiceProcess(f"parser{i}", ["parser"], env, tmp_path) for i in range(2)]
    persistence = ServiceProcess("persistence", ["persistence"], env, tmp_path)
    procs = [*parsers, persistence]
    for proc in procs:
        proc.start()
    try:
        for parser in parsers:
            await wait_for(lambda p=parser: _started(p), timeout_s=60, what=f"{parser.name}")
        middle = (len(batches) + HELD_BATCHES) // 2
        await publish(batches[HELD_BATCHES:middle])
        await wait_for(lambda: _stored(database_url), timeout_s=60, what="first rows")
        parsers[0].kill()  # mid-burst: whatever it held is redelivered to the other
        await publish(batches[middle:])
        parsers[0].start()
        await wait_for(lambda: _started(parsers[0]), timeout_s=60, what="the restarted parser")

        later_lines = len(lines) - HELD_BATCHES * LINES_PER_BATCH

        async def later_stored() -> bool:
            return await _stored(database_url) >= later_lines

        await wait_for(later_stored, timeout_s=120, what=f"{later_lines} later events")
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        for msg in held:
            await msg.nak()

        async def all_stored() -> bool:
            return await _stored(database_url) >= len(lines)

        await wait_for(all_stored, timeout_s=120, what=f"{len(lines)} events")
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT player, joined_at, left_at, ended_by, duration_s FROM player_sessions"
            )
            ts = await conn.fetch("SELECT player, ts FROM events WHERE type = 'join'")
        finally:
            await conn.close()
    finally:
        heartbeat.cancel()
        codes = [proc.terminate() for proc in procs]
        await nc.close()

    zone = ZoneInfo(ZONE)
    open_ones = sorted(r["player"] for r in rows if r["left_at"] is None)
    assert open_ones == [], f"{len(open_ones)} sessions never closed"
    assert {r["player"]: (r["joined_at"], r["duration_s"], r["ended_by"]) for r in rows} == {
        player: (joined.replace(tzinfo=zone).astimezone(UTC), float(seconds), "logged")
        for player, (joined, seconds) in expected.items()
    }
    assert {r["player"]: r["ts"] for r in ts} == {
        player: joined.replace(tzinfo=zone).astimezone(UTC)
        for player, (joined, _) in expected.items()
    }
    assert codes == [0, 0, 0], [p.output()[-3000:] for p in procs]
