"""Persistence: sustained insert rate from JetStream into Postgres, and 30-day chart latency.

1. **Insert rate.** ``events`` events are published to a real nats-server first, as the parser
   publishes a burst (one message per event type per raw batch of 500 lines); then they are
   drained into a throwaway local Postgres (COPY, sessions, ack after commit), three ways: by
   the service's own pieces in this process (``common.intake.Intake`` with two pull loops ->
   ``EventWriter``), by one real ``isr persistence`` process, and by two (replicas sharing the
   durable consumer, on the same two cores). Each way drains ``rounds`` times (3), the ways
   taking turns, each drain into a database of its own; the median drain is reported beside
   every drain's figure. Baseline, same run: the original-style row-at-a-time ``INSERT`` with
   autocommit, on a sample of the same events.
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
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js import JetStreamContext

from common.contracts import GameEvent, MetricHistoryRequest, SourcePosition
from common.dead_letters import DeadLetters
from common.intake import Intake, PullOptions
from common.logging import configure as configure_logging
from common.publishing import Outgoing, publish_confirmed
from common.settings import LogSettings
from common.topology import Topology
from isr_cli.infra.nats import EmbeddedNats
from isr_cli.infra.postgres import LocalPostgres, parse_postmaster_pid
from isr_testing.nats import running_nats
from isr_testing.postgres import throwaway_local_postgres
from isr_testing.processes import ServiceProcess
from parser.events import EncodedEvent, pack_events
from parser.settings import ParserSettings
from persistence import history
from persistence.gate import DatabaseGate
from persistence.gc_tuning import tune_gc
from persistence.migrations import migrate
from persistence.partition_store import PartitionKeeper
from persistence.partitions import DayPartition
from persistence.rows import EVENT_COLUMNS, event_row
from persistence.settings import PersistenceSettings
from persistence.writer import EventWriter, decode_for_writer, prepare_connection
from persistence.writing import Several

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

T0 = datetime(2026, 10, 1, tzinfo=UTC)
_KINDS = ("chat", "chat", "chat", "join", "leave", "death", "research")
_CHUNK = 20_000

_LINES_PER_RAW_BATCH = 500
"""Lines of one server per raw batch in the benchmark's burst (a raw batch holds up to 64 KiB
of lines, ~700 of these)."""


def _events(count: int, start: int = 0) -> list[GameEvent]:
    """Events as the parser makes them: 10 servers' lines interleaved, one ms apart.

    Like the parser's, ``ts`` is the line's own date prefix (whole seconds, no zone) and
    ``observed_at`` is shared by the events of one raw batch (one parse call).
    """
    rng = random.Random(5 + start)
    per_raw_batch = 10 * _LINES_PER_RAW_BATCH
    return [
        GameEvent(
            id=f"s{i % 10}:f:{i * 90}",
            server=f"s{i % 10}",
            type=(kind := _KINDS[i % len(_KINDS)]),
            ts=(T0 + timedelta(milliseconds=i)).replace(tzinfo=None, microsecond=0),
            observed_at=T0 + timedelta(seconds=i // per_raw_batch),
            player=f"player{rng.randrange(50)}",
            message=f"message number {i}" if kind == "chat" else None,
            raw=f"2026-10-01 00:00:00 [{kind.upper()}] player: message number {i}",
            source=SourcePosition(file_id="f", generation=0, offset=i * 90),
            pattern=kind,
        )
        for i in range(start, start + count)
    ]


async def _publish(js: JetStreamContext, topo: Topology, count: int) -> int:
    """Publish ``count`` events as the parser does during a burst; return the messages.

    Each server's events are cut into raw batches of ``_LINES_PER_RAW_BATCH`` and every raw
    batch becomes one message per event type (``parser.events.pack_events`` with the parser's
    default ``event_batch_max``). Nothing of them stays in this process afterwards.
    """
    max_events = ParserSettings.model_fields["event_batch_max"].default
    messages = 0
    for start in range(0, count, _CHUNK):
        by_server: dict[str, list[EncodedEvent]] = {}
        for e in _events(min(_CHUNK, count - start), start):
            by_server.setdefault(e.server, []).append(
                EncodedEvent(e.id, e.server, e.type, e.to_json())
            )
        outgoing = [
            Outgoing(topo.event_subject(m.server, m.type), m.payload, m.msg_id)
            for events in by_server.values()
            for first in range(0, len(events), _LINES_PER_RAW_BATCH)
            for m in pack_events(
                events[first : first + _LINES_PER_RAW_BATCH], max_events=max_events
            )
        ]
        await publish_confirmed(js, outgoing)
        messages += len(outgoing)
    gc.collect()
    return messages


def _ticks(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of ``pid`` and of its children it has waited for)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS


def _cpu_s(root: int) -> float:
    """CPU seconds used so far by process ``root`` and its children (a Postgres cluster)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent, seconds = _ticks(int(entry.name))
            except (OSError, ValueError):  # exited meanwhile
                continue
            if int(entry.name) == root or parent == root:
                total += seconds
    return total


@dataclass(frozen=True)
class Drained:
    """Events per second, and CPU microseconds per event of each process involved."""

    per_s: float
    cpu_us: dict[str, float]
    messages: int

    @classmethod
    def of(
        cls,
        messages: int,
        events: float,
        elapsed: float,
        cpu_before: tuple[float, float, float],
        cpu_after: tuple[float, float, float],
    ) -> Drained:
        """``events`` drained in ``elapsed`` s; CPU s of (persistence, nats-server, postgres)."""
        names = ("persistence", "nats-server", "postgres")
        return cls(
            messages=messages,
            per_s=events / elapsed,
            cpu_us={
                name: (after - before) / events * 1e6
                for name, before, after in zip(names, cpu_before, cpu_after, strict=True)
            },
        )


def _database_url(pg: LocalPostgres, database: str) -> str:
    return pg.url.rsplit("/", 1)[0] + f"/{database}"


async def _create_database(pg: LocalPostgres, database: str, *, migrated: bool) -> str:
    """Create ``database`` in the cluster (with the service's schema if ``migrated``)."""
    conn = await asyncpg.connect(pg.url)
    await conn.execute(f"CREATE DATABASE {database}")
    await conn.close()
    url = _database_url(pg, database)
    if migrated:
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
    return url


async def _drop_database(pg: LocalPostgres, database: str) -> None:
    """Drop a measurement's database, so the next one starts with the same cluster size."""
    conn = await asyncpg.connect(pg.url)
    await conn.execute(f"DROP DATABASE {database}")
    await conn.close()


async def _drain(
    nats_server: EmbeddedNats,
    pg: LocalPostgres,
    count: int,
    name: str,
    *,
    write: bool = True,
) -> Drained:
    """Publish, then time the service's intake draining the stream; return the rate and CPU.

    ``name`` prefixes the streams and names the database the events go to (created here,
    dropped afterwards). With ``write=False`` the handler only counts (the intake ceiling:
    pull, decode, ack) and no database is made.
    """
    topo = Topology(name)
    nc = await nats.connect(nats_server.url, pending_size=256 * 1024 * 1024)
    js = nc.jetstream()
    await topo.ensure(js)
    messages = await _publish(js, topo, count)
    await topo.ensure_consumer(js, topo.events_stream, "bench")
    settings = PersistenceSettings()  # the service's settings, ISR_PERSISTENCE_* included
    loops, batch_size = settings.fetch_concurrency, settings.batch_size
    url = await _create_database(pg, name, migrated=True) if write else pg.url
    pool = await asyncpg.create_pool(
        url, min_size=loops + 2, max_size=loops + 2, init=prepare_connection
    )
    gate = DatabaseGate(pool)
    done = asyncio.Event()
    counted = 0

    async def count_only(deliveries: Sequence[Any]) -> None:
        nonlocal counted
        counted += sum(
            len(d.value.members) if isinstance(d.value, Several) else 1 for d in deliveries
        )
        if counted >= count:
            done.set()

    intake: Intake[Any] = Intake(
        nc,
        DeadLetters(js, topo, "bench"),
        stream=topo.events_stream,
        durable="bench",
        decode=decode_for_writer,
        consumer=settings.consumer,
        pull=PullOptions(batch_size=batch_size, max_bytes=settings.batch_max_bytes, loops=loops),
        ready=gate.ready,
    )
    handler = EventWriter(pool, gate=gate) if write else count_only
    stop = asyncio.Event()
    tune_gc()  # as persistence.service.run does before it starts the loops
    nats_pid = nats_server.pid
    pg_pid, _ = parse_postmaster_pid((pg.pgdata / "postmaster.pid").read_text())
    assert nats_pid is not None
    cpu_before = time.process_time(), _cpu_s(nats_pid), _cpu_s(pg_pid)
    started = time.perf_counter()
    tasks = [asyncio.create_task(intake.run(handler, stop))]
    if write:
        # Done when JetStream has every message acked, i.e. each batch committed. Polling the
        # consumer is a cheap NATS request; a count(*) of the table every 50 ms would cost
        # Postgres as much CPU as a large share of the inserts being measured.
        while True:
            info = await js.consumer_info(topo.events_stream, "bench")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.02)
    else:
        await done.wait()
    elapsed = time.perf_counter() - started
    cpu_after = time.process_time(), _cpu_s(nats_pid), _cpu_s(pg_pid)
    stop.set()
    await asyncio.gather(*tasks)
    if write:
        stored = await pool.fetchval("SELECT count(*) FROM events")
        assert stored == count, f"{stored} events stored, {count} published"
    await pool.close()
    await nc.close()
    if write:
        await _drop_database(pg, name)
    return Drained.of(messages, count, elapsed, cpu_before, cpu_after)


async def _drain_services(
    nats_server: EmbeddedNats,
    pg: LocalPostgres,
    count: int,
    replicas: int,
    root: Path,
    *,
    name: str,
) -> Drained:
    """Publish, then let ``replicas`` real ``isr persistence`` processes drain the stream.

    Timed from the first acknowledgement the consumer shows (start-up and migrations excluded)
    to the last; the CPU is that of the service processes, nats-server and Postgres over the
    same span. ``name`` prefixes the streams and names the database (dropped afterwards).
    """
    topo = Topology(name)
    nc = await nats.connect(nats_server.url, pending_size=256 * 1024 * 1024)
    js = nc.jetstream()
    await topo.ensure(js)
    messages = await _publish(js, topo, count)
    durable = PersistenceSettings().durable
    await topo.ensure_consumer(js, topo.events_stream, durable)
    env = {
        "ISR_NATS_URL": nats_server.url,
        "ISR_PREFIX": name,
        # The services apply the migrations themselves, as at a first deployment.
        "ISR_DATABASE_URL": await _create_database(pg, name, migrated=False),
        "ISR_HEALTH_ENABLED": "false",
        "ISR_LOG_LEVEL": "warning",
    }
    procs = [
        ServiceProcess(f"persistence-{i}", ["persistence"], env, root).start()
        for i in range(replicas)
    ]
    nats_pid = nats_server.pid
    pg_pid, _ = parse_postmaster_pid((pg.pgdata / "postmaster.pid").read_text())
    assert nats_pid is not None
    try:
        while True:  # until the first batch is acknowledged
            info = await js.consumer_info(topo.events_stream, durable)
            if info.ack_floor.stream_seq > 0:
                break
            await asyncio.sleep(0.005)  # polling for a figure, not synchronisation
        started = time.perf_counter()
        first_acked = info.ack_floor.stream_seq
        cpu_before = (sum(_cpu_s(p.pid) for p in procs), _cpu_s(nats_pid), _cpu_s(pg_pid))
        while info.num_pending or info.num_ack_pending:
            await asyncio.sleep(0.02)
            info = await js.consumer_info(topo.events_stream, durable)
        elapsed = time.perf_counter() - started
        cpu_after = (sum(_cpu_s(p.pid) for p in procs), _cpu_s(nats_pid), _cpu_s(pg_pid))
    finally:
        codes = [p.terminate() for p in procs]
        await nc.close()
    assert codes == [0] * replicas, codes
    conn = await asyncpg.connect(env["ISR_DATABASE_URL"])
    stored = await conn.fetchval("SELECT count(*) FROM events")
    await conn.close()
    assert stored == count, f"{stored} events stored, {count} published"
    await _drop_database(pg, name)
    # Events per message are even, so the acknowledged messages give the events drained.
    drained = count * (messages - first_acked) / messages
    return Drained.of(messages, drained, elapsed, cpu_before, cpu_after)


async def _row_at_a_time(dsn: str, events: list[GameEvent]) -> float:
    """Baseline: one autocommitted INSERT per event; return events/s."""
    conn = await asyncpg.connect(dsn)
    sql = (
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "  # noqa: S608
        f"({', '.join(f'${i + 1}' for i in range(len(EVENT_COLUMNS)))}) ON CONFLICT DO NOTHING"
    )
    rows = [(*r, []) if len(r) < len(EVENT_COLUMNS) else r for r in map(event_row, events)]
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


def _cpu_text(drained: Drained) -> str:
    return ", ".join(f"{name} {us:.1f}" for name, us in drained.cpu_us.items())


def _median_text(drains: list[Drained], base_rate: float) -> str:
    """The median drain's rate and CPU, every drain's rate, and the ratio to the baseline."""
    middle = _median(drains)
    each = " / ".join(f"{d.per_s:,.0f}" for d in drains)
    return (
        f"median {middle.per_s:,.0f} events/s of {len(drains)} drains ({each}) "
        f"(baseline row-at-a-time INSERT: {base_rate:,.0f}/s, x{middle.per_s / base_rate:.1f}; "
        f"target >= 100,000/s); CPU us/event of the median drain: {_cpu_text(middle)}"
    )


def _median(drains: list[Drained]) -> Drained:
    return sorted(drains, key=lambda d: d.per_s)[(len(drains) - 1) // 2]


async def _main(
    *,
    events: int,
    baseline_events: int,
    ceiling_events: int,
    queries: int,
    service_replicas: Sequence[int],
    rounds: int,
) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_nats(Path(tmp)) as nats_server,
        throwaway_local_postgres() as pg,
    ):
        configure_logging(LogSettings(level="info"), service="persistence", stream=sys.stderr)
        conn = await asyncpg.connect(pg.url)
        await migrate(conn)  # the chart's database
        await conn.close()
        base_url = await _create_database(pg, "baseline", migrated=True)
        base_rate = await _row_at_a_time(base_url, _events(baseline_events))
        # Each way of draining is measured ``rounds`` times, the ways taking turns: this VM's
        # speed varies by up to +-25 % for seconds at a time (docs/performance.md), and taking
        # turns spreads such a spell over the ways instead of over one of them.
        in_process: list[Drained] = []
        by_replicas: dict[int, list[Drained]] = {count: [] for count in service_replicas}
        for round_ in range(rounds):
            in_process.append(await _drain(nats_server, pg, events, f"inproc{round_}"))
            for count, drains in by_replicas.items():
                drains.append(
                    await _drain_services(
                        nats_server, pg, events, count, Path(tmp), name=f"svc{count}r{round_}"
                    )
                )
        drained = _median(in_process)
        rate = drained.per_s
        print(
            f"persistence insert, writer pieces in one process, JetStream -> Postgres "
            f"({events:,} events in {drained.messages:,} messages): "
            f"{_median_text(in_process, base_rate)}"
        )
        for count, drains in by_replicas.items():
            print(
                f"persistence insert, {count} x `isr persistence` process: "
                f"{_median_text(drains, base_rate)}"
            )
        ceiling = await _drain(nats_server, pg, ceiling_events, "ceiling", write=False)
        print(
            f"persistence intake alone (pull, decode, ack; no database): "
            f"{ceiling.per_s:,.0f} events/s; CPU us/event: {_cpu_text(ceiling)}"
        )
        result = {"insert_per_s": rate, "baseline_insert_per_s": base_rate,
                  "intake_per_s": ceiling.per_s}  # fmt: skip
        result |= {f"cpu_us_{k}": v for k, v in drained.cpu_us.items()}
        result |= {f"service_x{n}_per_s": _median(d).per_s for n, d in by_replicas.items()}
        if not queries:
            return result
        loaded = await _load_samples(pg.url, servers=10, days=30, interval_s=10)
        rolled, raw = await _chart_latency(pg.url, queries, days=30)
        p50, p99 = _p(rolled, 50) * 1e3, _p(rolled, 99) * 1e3
        b50, b99 = _p(raw, 50) * 1e3, _p(raw, 99) * 1e3
        print(
            f"persistence chart: 30-day UPS chart over {loaded:,} samples (10 servers): "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (baseline from raw samples: p50 {b50:.1f} ms, "
            f"p99 {b99:.1f} ms, x{b99 / p99:.0f} at p99; target p99 <= 100 ms)"
        )
        return result | {"chart_p99_ms": p99, "baseline_chart_p99_ms": b99}


def run(
    lines: list[str] | None = None,
    *,
    events: int = 300_000,
    baseline_events: int = 10_000,
    ceiling_events: int = 100_000,
    queries: int = 200,
    service_replicas: Sequence[int] = (1, 2),
    rounds: int = 3,
) -> dict[str, float]:
    """Run the measurements and print them beside their baselines (``lines`` is unused).

    ``queries=0`` skips the chart measurement; ``service_replicas`` says how many real
    ``isr persistence`` processes drain the stream in each further measurement; each drain is
    measured ``rounds`` times and its median reported.
    """
    del lines
    return asyncio.run(
        _main(
            events=events,
            baseline_events=baseline_events,
            ceiling_events=ceiling_events,
            queries=queries,
            service_replicas=service_replicas,
            rounds=rounds,
        )
    )
