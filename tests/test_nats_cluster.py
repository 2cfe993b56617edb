"""The pipeline on a real three-node JetStream cluster: a node SIGKILLed mid-burst loses nothing.

Three nats-server processes on loopback (``nats_cluster``, started once for the session), the
tailer, two parser workers and persistence as real processes with ``ISR_NATS_URL`` listing all
three nodes and ``ISR_STREAM_REPLICAS=3``, so every stream and KV bucket the services create is
replicated on all three. The test's log writer appends a burst of real-format lines (each line
unique, each session's length known); mid-burst the node that leads a stream (or the bucket of
tailer checkpoints) is SIGKILLed, and started again once the pipeline went on without it. Then
the rows are counted in SQL: none missing, none doubled, every session closed with the length
the log says, no service gone.

Each fault prints how long the pipeline paused (printed, not asserted: it is the cluster's
leader election, a few seconds, and the machine's load): until the stream had a new leader,
until the first row of a line written *after* the kill was stored, and until everything written
during the pause was stored.

Killing two of the three nodes at once would lose quorum: each scenario kills one, starts it
again and waits until every replica is current before it kills another.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from pprint import pformat

import asyncpg
import nats
import pytest
from nats.js.api import StreamConfig

from common.dead_letters import DeadLetters
from common.intake import Intake, PullOptions
from common.topology import ConsumerPolicy, Topology
from isr_testing.burst import Burst, make_burst
from isr_testing.fault_pipeline import FaultPipeline
from isr_testing.ledger import read_tally, stored_event_count
from isr_testing.log_writer import LogWriter
from isr_testing.nats import new_prefix
from isr_testing.nats_cluster import NatsCluster
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

pytestmark = [
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]

PLAYERS = 500
"""Players per burst: 2,000 lines, 1,500 of them events, 500 sessions."""

REPLICAS = "3"

START_S = 60.0
"""Longest wait for the freshly started pipeline to store the first lines."""

RECOVER_S = 60.0
"""Longest wait for the pipeline to go on after a node was killed (an election takes seconds)."""

DRAIN_S = 60.0
"""Longest wait for every line to be stored after the burst."""


@dataclass
class Recovery:
    """How long the pipeline paused when one node was SIGKILLed."""

    what: str
    node: str
    led: list[str]
    """The pipeline's streams and buckets the killed node led."""
    new_leader_s: float = 0.0
    first_row_s: float = 0.0
    backlog_stored_s: float = 0.0
    replicas_current_s: float = 0.0

    def line(self) -> str:
        return (
            f"{self.what}: killed {self.node} (leader of {', '.join(self.led) or 'nothing'}); "
            f"new leader after {self.new_leader_s:.2f} s, first row of a line written after "
            f"the kill after {self.first_row_s:.2f} s, everything written meanwhile stored "
            f"after {self.backlog_stored_s:.2f} s; restarted node current after "
            f"{self.replicas_current_s:.2f} s"
        )


@dataclass
class ClusterScenario:
    """One test's pipeline on the cluster, its database, burst and log writer."""

    cluster: NatsCluster
    pipeline: FaultPipeline
    database_url: str
    burst: Burst
    writer: LogWriter
    topology: Topology
    recoveries: list[Recovery] = field(default_factory=list)

    @property
    def streams(self) -> list[str]:
        """The streams and buckets the ingestion pipeline writes to."""
        return [
            self.topology.raw_stream,
            self.topology.events_stream,
            f"KV_{self.topology.bucket('offsets')}",
        ]

    async def wait_stored(self, wanted: int, *, timeout_s: float) -> None:
        async def enough() -> bool:
            return await stored_event_count(self.database_url) >= wanted

        await wait_for(enough, timeout_s=timeout_s, what=f"{wanted} events stored")

    async def stored_of(self, lines: Sequence[str]) -> int:
        """How many of ``lines`` are stored as events."""
        conn = await asyncpg.connect(self.database_url)
        try:
            count = await conn.fetchval(
                "SELECT count(*) FROM events WHERE raw = ANY($1::text[])", list(lines)
            )
        finally:
            await conn.close()
        return int(count)

    async def warm_up(self) -> tuple[str, ...]:
        """Write the burst's first tenth at once, wait until it is stored; return the rest."""
        first, rest = self.burst.split(0.1)
        self.writer.append(first)
        await self.wait_stored(self.burst.events_in(first), timeout_s=START_S)
        return rest

    async def kill_leader_mid_write(self, lines: Sequence[str], stream: str, what: str) -> None:
        """Write ``lines``; a quarter in, SIGKILL the node leading ``stream``; restart it later.

        Measures the pause (printed at the end of the test), then starts the node again and
        waits until every replica of the pipeline's streams is current, so the next fault
        never costs the cluster its quorum.
        """
        base = self.writer.written
        self.writer.start(lines)
        await self.writer.reached(base + len(lines) // 4)
        leaders = await self.cluster.leaders(self.streams)
        node = await self.cluster.stream_leader(stream)
        began, killed_at = time.monotonic(), time.time()
        self.cluster.kill(node)
        at_kill = self.writer.written
        recovery = Recovery(what, node, [s for s, n in leaders.items() if n == node])

        async def new_leader() -> None:
            await self.cluster.wait_leaders([stream], timeout_s=RECOVER_S)
            # The election's own time stamp (same clock: one machine), not when we looked.
            since = await self.cluster.leader_since(stream)
            assert since is not None
            recovery.new_leader_s = since.timestamp() - killed_at

        async def first_row() -> None:
            after = [ln for ln in self.burst.lines[at_kill:] if ln in self._events]

            async def stored() -> bool:
                return await self.stored_of(after) > 0

            await wait_for(stored, timeout_s=RECOVER_S, what="a row of a line written after kill")
            recovery.first_row_s = time.monotonic() - began
            # Everything written by now, i.e. during the pause, must be stored next.
            written = self.burst.lines[: self.writer.written]
            await self.wait_stored(self.burst.events_in(written), timeout_s=RECOVER_S)
            recovery.backlog_stored_s = time.monotonic() - began

        await asyncio.gather(new_leader(), first_row())
        # Back on its ports and store; it catches up from the others.
        restarted = time.monotonic()
        self.cluster.start_node(node)  # from the main thread (parent-death signal)
        await self.cluster.wait_healthy(self.streams, timeout_s=RECOVER_S)
        recovery.replicas_current_s = time.monotonic() - restarted
        self.recoveries.append(recovery)
        await self.writer.finished()

    @property
    def _events(self) -> set[str]:
        return set(self.burst.event_lines)

    async def assert_exactly_once(self) -> None:
        """Wait for everything to be stored and settle, then count: every fault must be zero."""
        await self.writer.finished()
        try:
            await self.wait_stored(len(self.burst.event_lines), timeout_s=DRAIN_S)
            await wait_for(self.pipeline.idle, timeout_s=DRAIN_S, what="nothing in flight")
        except AssertionError as exc:
            waited = str(exc)
        else:
            waited = "all stored, nothing in flight"
        tally = await read_tally(self.database_url, self.burst)
        gone = self.pipeline.not_running()
        if tally.problems() or gone:
            report = {
                "waited": waited,
                "problems": tally.problems(),
                "exited": {name: self.pipeline.outputs()[name] for name in gone},
                "recoveries": [r.line() for r in self.recoveries],
                "nats": self.cluster.outputs(10),
            }
            pytest.fail(pformat(report, width=100), pytrace=False)


@pytest.fixture(name="scenario")
async def _scenario(
    tmp_path: Path, nats_cluster: NatsCluster, database_url: str
) -> AsyncIterator[ClusterScenario]:
    """A running pipeline on the cluster, its own prefix and database, a burst ready to write."""
    nats_cluster.start()  # a test that failed half-way may have left a node down
    prefix = new_prefix()
    pipeline = FaultPipeline(
        tmp_path,
        nats_cluster.url,
        prefix,
        database_url,
        extra_env={"ISR_STREAM_REPLICAS": REPLICAS},
    )
    pipeline.log.write_text("")
    # About 80 lines a second: a burst lasts long enough for a fault and its recovery.
    writer = LogWriter(pipeline.log, chunk=4, pause_s=0.04)
    scenario = ClusterScenario(
        nats_cluster, pipeline, database_url, make_burst(PLAYERS), writer, Topology(prefix)
    )
    pipeline.start()
    try:
        yield scenario
    finally:
        await writer.cancel()
        await asyncio.to_thread(pipeline.stop)


async def _assert_replicated(scenario: ClusterScenario) -> None:
    """The services created the pipeline's streams and buckets with three replicas."""
    async with scenario.cluster.client() as (_, js):
        for stream in scenario.streams:
            info = await js.stream_info(stream)
            assert info.config.num_replicas == 3, (stream, info.config.num_replicas)


def _report(capsys: pytest.CaptureFixture[str], scenario: ClusterScenario) -> None:
    with capsys.disabled():
        for recovery in scenario.recoveries:
            print(f"\n[cluster] {recovery.line()}")  # noqa: T201 - the measured pause


async def test_stream_leaders_sigkilled_mid_burst(
    scenario: ClusterScenario, capsys: pytest.CaptureFixture[str]
):
    """The raw stream's leader SIGKILLed mid-burst, restarted; then the events stream's leader.

    The pipeline goes on with two nodes each time and ends with every line stored once.
    """
    rest = await scenario.warm_up()
    await _assert_replicated(scenario)
    first, second = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    await scenario.kill_leader_mid_write(first, scenario.topology.raw_stream, "raw leader")
    await scenario.kill_leader_mid_write(second, scenario.topology.events_stream, "events leader")
    await scenario.assert_exactly_once()
    _report(capsys, scenario)


async def test_checkpoint_bucket_leader_sigkilled_mid_burst(
    scenario: ClusterScenario, capsys: pytest.CaptureFixture[str]
):
    """The node leading the tailer checkpoints' KV bucket SIGKILLed mid-burst, then restarted."""
    rest = await scenario.warm_up()
    await _assert_replicated(scenario)
    bucket = f"KV_{scenario.topology.bucket('offsets')}"
    await scenario.kill_leader_mid_write(rest, bucket, "checkpoint bucket leader")
    await scenario.assert_exactly_once()
    _report(capsys, scenario)


async def test_an_operators_r3_stream_is_never_shrunk(tmp_path: Path, nats_cluster: NatsCluster):
    """An R3 stream with an operator's max age survives a service started with one replica.

    The service logs ``stream_config_differs`` for each field and leaves the stream as it is.
    """
    nats_cluster.start()
    prefix = new_prefix()
    topology = Topology(prefix)
    operator_max_age_s = 3 * 3600.0
    nc = await nats.connect(servers=nats_cluster.servers)
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=topology.raw_stream,
                subjects=[f"{prefix}.raw.>"],
                num_replicas=3,
                max_age=operator_max_age_s,
            )
        )
        env = service_env(
            nats_cluster.url,
            prefix,
            write_config(tmp_path / "config", {"srv": tmp_path / "console.log"}),
            ISR_STREAM_REPLICAS="1",
        )
        parser = ServiceProcess("parser", ["parser"], env, tmp_path).start()
        try:

            def logged() -> list[dict[str, object]]:
                return [
                    record
                    for line in parser.output().splitlines()
                    if line.startswith("{")
                    and (record := json.loads(line)).get("event") == "stream_config_differs"
                    and record.get("stream") == topology.raw_stream
                ]

            await wait_for(
                lambda: len(logged()) >= 2 or not parser.is_running(),
                timeout_s=START_S,
                what="stream_config_differs for replicas and max age",
            )
            fields = {record["field"]: record for record in logged()}
            assert set(fields) == {"replicas", "max_age_s"}, parser.output()[-3000:]
            assert fields["replicas"]["existing"] == 3
            assert fields["replicas"]["configured"] == 1
            assert fields["max_age_s"]["existing"] == pytest.approx(operator_max_age_s)
            # The service started on the stream as it is, and the stream is unchanged.
            await wait_for(
                lambda: '"service_started"' in parser.output(),
                timeout_s=START_S,
                what="the parser started",
            )
            info = await js.stream_info(topology.raw_stream)
            assert info.config.num_replicas == 3
            assert info.config.max_age == pytest.approx(operator_max_age_s)
            assert info.cluster is not None
            assert len(info.cluster.replicas or []) == 2
            # What the stream was not made by an operator, the service made with one replica.
            created = await js.stream_info(topology.events_stream)
            assert created.config.num_replicas == 1
        finally:
            assert parser.terminate() == 0, parser.output()[-3000:]
    finally:
        await nc.close()


def _messages_in(cluster: NatsCluster, node: str, connection: str) -> int:
    """Messages node ``node`` received from the client connection called ``connection``."""
    port = cluster.node(node).ports.monitor
    url = f"http://127.0.0.1:{port}/connz?limit=1024"
    with urllib.request.urlopen(url, timeout=2) as response:
        connz = json.load(response)
    return sum(c["in_msgs"] for c in connz["connections"] if c.get("name") == connection)


async def test_a_leaderless_consumer_is_asked_again_with_backoff(nats_cluster: NatsCluster):
    """While nobody serves a consumer (no leader: a 503 at once) the intake does not spin.

    Counted on the server: the messages the intake's connection sent in two seconds. Without
    a pause after a 503 it sends thousands (one pull request per round trip).
    """
    nats_cluster.start()
    topology = Topology(new_prefix())
    node = nats_cluster.nodes[0]
    nc = await nats.connect(servers=[node.url], name="intake-probe")
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name=topology.raw_stream, subjects=[f"{topology.prefix}.raw.>"])
    )

    async def handle(_batch: object) -> None:
        return None

    # No such durable: nothing answers its pull requests, as while its leader is elected.
    intake: Intake[bytes] = Intake(
        nc,
        DeadLetters(js, topology, "probe"),
        stream=topology.raw_stream,
        durable="leaderless",
        decode=lambda data, _subject: data,
        consumer=ConsumerPolicy(),
        pull=PullOptions(batch_size=10),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(intake.run(handle, stop))
    try:
        await nc.flush()
        before = await asyncio.to_thread(_messages_in, nats_cluster, node.name, "intake-probe")
        await asyncio.wait({running}, timeout=2.0)  # the measuring window
        await nc.flush()
        sent = await asyncio.to_thread(_messages_in, nats_cluster, node.name, "intake-probe")
        assert not running.done()
        assert sent - before < 40, f"{sent - before} pull requests in 2 s"
    finally:
        stop.set()
        await running
        await nc.close()
