"""The fault suite: the whole pipeline as real processes, one fault injected mid-burst per test.

Tailer, two parser workers and persistence run as child processes against a real nats-server
and a real Postgres (both started once for the module and crashed by some tests). The test's
own log writer appends a burst of real-format lines (every player joins, chats and leaves at
known log times, every line unique); the fault hits while lines are still being written and
read. Then the rows are counted in SQL against the lines written: no line missing, none
stored twice (by event id and by content), every player's session closed with the duration
the log's timestamps give (within their one-second resolution), and no process gone.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat

import pytest

from isr_cli.infra.nats import EmbeddedNats
from isr_cli.infra.postgres import LocalPostgres
from isr_testing.burst import Burst, make_burst
from isr_testing.fault_pipeline import FaultPipeline
from isr_testing.ledger import read_tally, stored_event_count
from isr_testing.log_writer import LogWriter
from isr_testing.nats import kill_nats, new_prefix, running_nats
from isr_testing.postgres import commit_durably, fresh_database, stop_immediately
from isr_testing.waiting import wait_for

pytestmark = [
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(180),
]

PLAYERS = 800
"""Players per burst: 3,200 lines, 2,400 of them events, 800 sessions."""

START_S = 60.0
"""Longest wait for the freshly started pipeline to store the first lines (Python start-up
of four processes and the migrations, on a loaded machine)."""

DRAIN_S = 45.0
"""Longest wait for every line to be stored after the burst: above the consumers' 30 s ack
wait, so a batch a killed worker held is redelivered in time; a loss fails after this."""

FAULT_AT = 0.35
"""Fraction of the burst written when the fault is injected."""

RECOVER_AT = 0.65
"""Fraction of the burst written when the faulted part is started again."""


@dataclass
class Scenario:
    """One test's pipeline, database, burst and log writer."""

    pipeline: FaultPipeline
    database_url: str
    burst: Burst
    writer: LogWriter

    async def stored(self) -> int:
        """Rows in the events table now."""
        return await stored_event_count(self.database_url)

    async def wait_stored(self, wanted: int, *, timeout_s: float) -> None:
        """Wait until at least ``wanted`` events are stored."""

        async def enough() -> bool:
            return await self.stored() >= wanted

        await wait_for(enough, timeout_s=timeout_s, what=f"{wanted} events stored")

    async def warm_up(self) -> tuple[str, ...]:
        """Write the burst's first tenth at once and wait until the pipeline stored it all.

        Returns the rest of the burst's lines.
        """
        first, rest = self.burst.split(0.1)
        self.writer.append(first)
        await self.wait_stored(self.burst.events_in(first), timeout_s=START_S)
        return rest

    def at(self, fraction: float) -> int:
        """The number of lines that is ``fraction`` of the burst."""
        return round(len(self.burst.lines) * fraction)

    async def assert_exactly_once(self) -> None:
        """Wait for the pipeline to store everything and settle, then count: all must be zero."""
        await self.writer.finished()
        expected = len(self.burst.event_lines)
        try:
            await self.wait_stored(expected, timeout_s=DRAIN_S)
            # Nothing in flight any more: a duplicate, if any, has been stored by now.
            await wait_for(self.pipeline.idle, timeout_s=DRAIN_S, what="nothing in flight")
        except AssertionError as exc:
            waited = str(exc)
        else:
            waited = "all stored, nothing in flight"
        tally = await read_tally(self.database_url, self.burst)
        gone = self.pipeline.not_running()
        report = {
            "waited": waited,
            "problems": tally.problems(),
            "exited": {name: self.pipeline.outputs()[name] for name in gone},
        }
        if tally.problems() or gone:
            pytest.fail(pformat(report, width=100), pytrace=False)


@pytest.fixture(scope="module", name="fault_nats")
def _fault_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A nats-server for this module's tests alone: some of them SIGKILL it."""
    with running_nats(tmp_path_factory.mktemp("fault-nats")) as server:
        yield server


@pytest.fixture(name="scenario")
async def _scenario(
    tmp_path: Path, fault_nats: EmbeddedNats, stoppable_postgres: LocalPostgres
) -> AsyncIterator[Scenario]:
    """A running pipeline on its own prefix and database, with a burst ready to write."""
    # A test that failed half-way may have left either server down. nats-server is started
    # from this (the main) thread: it gets a parent-death signal when its starting thread ends.
    fault_nats.start()
    await asyncio.to_thread(stoppable_postgres.start)
    with fresh_database(stoppable_postgres.url) as database_url:
        await commit_durably(database_url)
        pipeline = FaultPipeline(tmp_path, fault_nats.url, new_prefix(), database_url)
        pipeline.log.write_text("")
        writer = LogWriter(pipeline.log, chunk=8, pause_s=0.01)
        scenario = Scenario(pipeline, database_url, make_burst(PLAYERS), writer)
        pipeline.start()
        try:
            yield scenario
        finally:
            await writer.cancel()
            await asyncio.to_thread(pipeline.stop)


async def _kill_and_restart(scenario: Scenario, name: str) -> None:
    """Write the burst; SIGKILL process ``name`` mid-burst and start it again a little later."""
    proc = {p.name: p for p in scenario.pipeline.processes}[name]
    scenario.writer.start(await scenario.warm_up())
    await scenario.writer.reached(scenario.at(FAULT_AT))
    proc.kill()
    await scenario.writer.reached(scenario.at(RECOVER_AT))
    proc.start()
    await scenario.assert_exactly_once()


async def test_tailer_sigkill_mid_burst(scenario: Scenario):
    """A tailer SIGKILLed mid-burst and started again: every line stored once, sessions exact."""
    await _kill_and_restart(scenario, "tailer")


async def test_parser_sigkill_mid_burst(scenario: Scenario):
    """One of two parsers SIGKILLed mid-burst: every line stored once, sessions exact."""
    await _kill_and_restart(scenario, "parser0")


async def test_persistence_sigkill_mid_burst(scenario: Scenario):
    """Persistence SIGKILLed mid-burst and started again: every line stored once, sessions exact."""
    await _kill_and_restart(scenario, "persistence")


async def test_nats_server_sigkill_mid_burst(scenario: Scenario, fault_nats: EmbeddedNats):
    """nats-server SIGKILLed mid-burst, back on its port and store: nothing lost or doubled."""
    scenario.writer.start(await scenario.warm_up())
    await scenario.writer.reached(scenario.at(FAULT_AT))
    await asyncio.to_thread(kill_nats, fault_nats)
    await scenario.writer.reached(scenario.at(RECOVER_AT))
    fault_nats.start()  # in the main thread (see the scenario fixture); the writer waits
    await scenario.assert_exactly_once()


async def test_postgres_immediate_stop_mid_burst(
    scenario: Scenario, stoppable_postgres: LocalPostgres
):
    """Postgres stopped with ``-m immediate`` mid-burst, then started: nothing lost or doubled."""
    scenario.writer.start(await scenario.warm_up())
    await scenario.writer.reached(scenario.at(FAULT_AT))
    await asyncio.to_thread(stop_immediately, stoppable_postgres)
    await scenario.writer.reached(scenario.at(RECOVER_AT))
    await asyncio.to_thread(stoppable_postgres.start)
    await scenario.assert_exactly_once()


def _regrown_past(log: Path, size: int) -> bool:
    return log.exists() and log.stat().st_size > size


async def test_rename_rotation_while_the_tailer_is_down(scenario: Scenario):
    """Log renamed while the tailer is dead, new file grown past the checkpoint: all once."""
    log = scenario.pipeline.log
    rest = await scenario.warm_up()
    half = scenario.at(0.5) - scenario.at(0.1)
    scenario.writer.start(rest[:half])
    await scenario.writer.reached(scenario.at(0.3))
    scenario.pipeline.tailer.kill()
    read_at_most = log.stat().st_size  # the checkpoint offset is no further than this
    await scenario.writer.finished()
    log.rename(log.with_name("console.log.1"))
    scenario.writer.start(rest[half:])
    await wait_for(lambda: _regrown_past(log, read_at_most), timeout_s=30, what="log regrown")
    scenario.pipeline.tailer.start()
    await scenario.assert_exactly_once()


async def test_copy_truncate_while_the_tailer_is_down(scenario: Scenario):
    """``cp log log.1 && : > log`` while the tailer is dead, log regrown past the checkpoint."""
    log = scenario.pipeline.log
    # The new content (60 %) outgrows the old (40 %), so it passes the checkpoint offset.
    old, new = scenario.burst.split(0.4)
    await scenario.writer.write(old)
    # The tailer has read all of the old content: a copy-truncate can lose nothing of it.
    await scenario.wait_stored(scenario.burst.events_in(old), timeout_s=START_S)
    scenario.pipeline.tailer.kill()
    old_size = log.stat().st_size
    shutil.copyfile(log, log.with_name("console.log.1"))
    with log.open("r+b") as truncated:
        truncated.truncate(0)
    scenario.writer.start(new)
    await wait_for(lambda: _regrown_past(log, old_size), timeout_s=30, what="log regrown")
    scenario.pipeline.tailer.start()
    await scenario.assert_exactly_once()
