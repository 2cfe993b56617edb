"""Persistence: sustained insert rate from JetStream into Postgres, and 30-day chart latency.

1. **Insert rate.** ``events`` events are published to a real nats-server first; then the
   service's own pieces (``PullLoop`` x2 -> ``BatchConsumer.process`` -> ``EventWriter``: COPY into
   staging, ``INSERT ... ON CONFLICT DO NOTHING``, sessions, ack after commit) drain the stream
   into a throwaway local Postgres. Baseline, same run: the original-style row-at-a-time
   ``INSERT`` with autocommit, on a sample of the same events.
2. **Chart latency.** 10 servers x 30 days of 10-second samples (2.6 M rows) are loaded; the
   query API's ``metric_history`` for a random server over 30 days (hourly roll-ups: 720 rows)
   is timed ``queries`` times, p50 and p99. Baseline, same run: the same chart computed from the
   raw samples (``date_bin`` + ``GROUP BY`` over 259,200 rows), which is what a schema without
   roll-ups must do.

The local cluster runs with ``fsync=off`` (the test fixture's settings), so the insert figure
is CPU-bound, not disk-bound; see docs/performance.md.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import nats

from common.consumer import BatchConsumer
from common.contracts import (
    GameEvent,
    MetricHistoryRequest,
    SourcePosition,
    decode_events_payload,
)
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_testing.nats import running_nats
from isr_testing.postgres import throwaway_local_postgres
from persistence import history
from persistence.dead_letters import DeadLetters
from persistence.gate import DatabaseGate
from persistence.intake import PullLoop
from persistence.migrations import migrate
from persistence.partition_store import PartitionKeeper
from persistence.partitions import DayPartition
from persistence.rows import EVENT_COLUMNS, event_row
from persistence.writer import EventWriter, prepare_connection
from persistence.writing import tolerant

T0 = datetime(2026, 10, 1, tzinfo=UTC)
_KINDS = ("chat", "chat", "chat", "join", "leave", "death", "research")


def _events(count: int) -> list[GameEvent]:
    rng = random.Random(5)
    return [
        GameEvent(
            id=f"s{i % 10}:f:{i * 90}",
            server=f"s{i % 10}",
            type=(kind := _KINDS[i % len(_KINDS)]),
            observed_at=T0 + timedelta(milliseconds=i),
            player=f"player{rng.randrange(50)}",
            message=f"message number {i}" if kind == "chat" else None,
            raw=f"2026-10-01 00:00:00 [{kind.upper()}] player: message number {i}",
            source=SourcePosition(file_id="f", generation=0, offset=i * 90),
            pattern=kind,
        )
        for i in range(count)
    ]


async def _drain(nats_url: str, dsn: str, events: list[GameEvent]) -> float:
    """Publish, then time the writer draining the stream into Postgres; return events/s."""
    topo = Topology("bench")
    nc = await nats.connect(nats_url, pending_size=256 * 1024 * 1024)
    js = nc.jetstream()
    await topo.ensure(js)
    for start in range(0, len(events), 20_000):
        chunk = events[start : start + 20_000]
        await publish_confirmed(
            js, [Outgoing(topo.event_subject(e.server, e.type), e.to_json(), e.id) for e in chunk]
        )
    await topo.ensure_consumer(js, topo.events_stream, "bench")
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=6, init=prepare_connection)
    gate = DatabaseGate(pool)
    consumer: BatchConsumer[Any] = BatchConsumer(
        js,
        stream=topo.events_stream,
        durable="bench",
        decode=tolerant(lambda d, s: decode_events_payload(d, subject=s)),
        handler=EventWriter(pool, gate=gate, dead_letters=DeadLetters(js, topo)),
        service="bench",
        batch_size=2000,
    )
    stop = asyncio.Event()
    loops = [
        PullLoop(nc, consumer, stream=topo.events_stream, durable="bench", gate=gate,
                 batch_size=2000)
        for _ in range(2)
    ]  # fmt: skip
    started = time.perf_counter()
    tasks = [asyncio.create_task(loop.run(stop)) for loop in loops]
    while True:  # poll the result being measured; nothing here synchronises the writer
        if await pool.fetchval("SELECT count(*) FROM events") >= len(events):
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    await pool.close()
    await nc.close()
    return len(events) / elapsed


async def _row_at_a_time(dsn: str, events: list[GameEvent]) -> float:
    """Baseline: one autocommitted INSERT per event; return events/s."""
    conn = await asyncpg.connect(dsn)
    sql = (
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "  # noqa: S608
        f"({', '.join(f'${i + 1}' for i in range(len(EVENT_COLUMNS)))}) ON CONFLICT DO NOTHING"
    )
    rows = [event_row(e) for e in events]
    started = time.perf_counter()
    for row in rows:
        await conn.execute(sql, *row)
    elapsed = time.perf_counter() - started
    await conn.close()
    return len(rows) / elapsed


async def _load_samples(dsn: str, servers: int, days: int, interval_s: int) -> int:
    """COPY the chart data set straight into metric_samples, then build both roll-ups."""
    conn = await asyncpg.connect(dsn)
    keeper = PartitionKeeper()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    parts = [
        DayPartition(t, (T0 + timedelta(days=d)).date())
        for t in ("metric_samples", "metric_minute")
        for d in range(days + 1)
    ]
    await keeper.ensure(pool, parts)
    await pool.close()
    per_server = days * 86_400 // interval_s
    rng = random.Random(3)
    total = 0
    for s in range(servers):
        rows = [
            (
                f"s{s}",
                T0 + timedelta(seconds=i * interval_s),
                f"s{s}:metric:{i}",
                rng.randrange(10),
                60.0 - rng.random() * 5,
                60.0,
                False,
                True,
            )
            for i in range(per_server)
        ]
        await conn.copy_records_to_table(
            "metric_samples",
            records=rows,
            columns=["server", "sampled_at", "id", "player_count", "ups", "ups_target",
                     "is_paused", "rcon_up"],
        )  # fmt: skip
        total += len(rows)
    for table, width in (("metric_minute", "1 minute"), ("metric_hour", "1 hour")):
        await conn.execute(f"""
            INSERT INTO {table} (server, bucket, samples, ups_samples, ups_sum, ups_min, ups_max,
                                 players_sum, players_max, paused_samples)
            SELECT server, date_bin('{width}', sampled_at, '2000-01-01 00:00:00+00'), count(*),
                   count(ups), sum(ups), min(ups), max(ups), sum(player_count),
                   max(player_count), count(*) FILTER (WHERE is_paused)
            FROM metric_samples GROUP BY 1, 2""")  # noqa: S608
    await conn.execute("ANALYZE")
    await conn.close()
    return total


_RAW_CHART = """
SELECT date_bin('1 hour', sampled_at, '2000-01-01 00:00:00+00') AS t, avg(ups), min(ups),
       max(ups), avg(player_count), max(player_count), count(*)
FROM metric_samples WHERE server = $1 AND sampled_at >= $2 AND sampled_at < $3
GROUP BY 1 ORDER BY 1
"""


async def _chart_latency(dsn: str, queries: int, days: int) -> tuple[list[float], list[float]]:
    """p50/p99 inputs: seconds per 30-day chart with roll-ups, and from raw samples."""
    rng = random.Random(9)
    conn = await asyncpg.connect(dsn)
    start, end = T0, T0 + timedelta(days=days)
    rolled: list[float] = []
    raw: list[float] = []
    for i in range(queries):
        server = f"s{rng.randrange(10)}"
        t = time.perf_counter()
        reply = await history.metric_history(
            conn, MetricHistoryRequest(server=server, start=start, end=end)
        )
        rolled.append(time.perf_counter() - t)
        assert len(reply.points) == days * 24
        if i % 4 == 0:  # the baseline is slow; a quarter as many runs
            t = time.perf_counter()
            await conn.fetch(_RAW_CHART, server, start, end)
            raw.append(time.perf_counter() - t)
    await conn.close()
    return rolled, raw


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _main(events: int, baseline_events: int, queries: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_nats(Path(tmp)) as nats_server,
        throwaway_local_postgres() as pg,
    ):
        conn = await asyncpg.connect(pg.url)
        await migrate(conn)
        await conn.execute("CREATE DATABASE baseline")
        await conn.close()
        rate = await _drain(nats_server.url, pg.url, _events(events))
        base_url = pg.url.rsplit("/", 1)[0] + "/baseline"
        conn = await asyncpg.connect(base_url)
        await migrate(conn)
        await conn.close()
        base_rate = await _row_at_a_time(base_url, _events(baseline_events))
        print(
            f"persistence insert: {rate:,.0f} events/s JetStream -> Postgres "
            f"(baseline row-at-a-time INSERT: {base_rate:,.0f}/s, x{rate / base_rate:.1f}; "
            f"target >= 100,000/s)"
        )
        conn = await asyncpg.connect(pg.url)
        await conn.execute("TRUNCATE events, player_sessions")
        await conn.close()
        loaded = await _load_samples(pg.url, servers=10, days=30, interval_s=10)
        rolled, raw = await _chart_latency(pg.url, queries, days=30)
        p50, p99 = _p(rolled, 50) * 1e3, _p(rolled, 99) * 1e3
        b50, b99 = _p(raw, 50) * 1e3, _p(raw, 99) * 1e3
        print(
            f"persistence chart: 30-day UPS chart over {loaded:,} samples (10 servers): "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (baseline from raw samples: p50 {b50:.1f} ms, "
            f"p99 {b99:.1f} ms, x{b99 / p99:.0f} at p99; target p99 <= 100 ms)"
        )
        return {"insert_per_s": rate, "baseline_insert_per_s": base_rate, "chart_p99_ms": p99,
                "baseline_chart_p99_ms": b99}  # fmt: skip


def run(
    lines: list[str] | None = None,
    *,
    events: int = 300_000,
    baseline_events: int = 10_000,
    queries: int = 200,
) -> dict[str, float]:
    """Run both measurements and print them beside their baselines (``lines`` is unused)."""
    del lines
    return asyncio.run(_main(events, baseline_events, queries))
