"""Log ingestion under faults, through real processes and a real nats-server.

Each test ends with the events stream holding exactly one event per event line, in log order.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import nats
import pytest

from common.contracts import GameEvent, RawLineBatch
from common.topology import Topology
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events, read_subject
from isr_testing.waiting import wait_for

pytestmark = [pytest.mark.nats, pytest.mark.slow]


def join_line(i: int) -> str:
    """A real-format [JOIN] line numbered i."""
    return f"2026-11-27 12:{i // 60 % 60:02d}:{i % 60:02d} [JOIN] player-{i} joined the game"


def engine_line(i: int) -> str:
    """An engine line no pattern publishes."""
    return f"{i:8.3f} Verbose ModManager.cpp:554: noise {i}"


def _copy_truncate(path: Path) -> Path:
    """``cp console.log console.log.1 && : > console.log`` (the same inode, emptied)."""
    copy = path.with_suffix(".log.1")
    copy.write_bytes(path.read_bytes())
    with path.open("r+b") as f:
        f.truncate(0)
    return copy


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


class Pipeline:
    """A tailer and a parser as child processes sharing one config and prefix."""

    def __init__(self, tmp_path: Path, url: str, prefix: str, *, log_name: str = "console.log"):
        self.log = tmp_path / "logs" / log_name
        self.log.parent.mkdir(exist_ok=True)
        config = write_config(tmp_path / "config", {"srv": self.log})
        env = service_env(url, prefix, config, ISR_NATS_RECONNECT_WAIT_S="0.2")
        self.url = url
        self.prefix = prefix
        self.tailer = ServiceProcess("tailer", ["tailer", "--server", "srv"], env, tmp_path)
        self.parser = ServiceProcess("parser", ["parser"], env, tmp_path)

    def start(self) -> None:
        """Start both processes."""
        self.tailer.start()
        self.parser.start()

    def stop(self) -> dict[str, int]:
        """SIGTERM both; return their exit codes."""
        return {"tailer": self.tailer.terminate(), "parser": self.parser.terminate()}

    async def raw_offsets(self) -> list[int]:
        """The offset of every line in the raw stream (a line published twice shows twice)."""
        nc = await nats.connect(self.url)
        try:
            js = nc.jetstream()
            stored = (await js.stream_info(Topology(self.prefix).raw_stream)).state.messages
            msgs = await read_subject(js, f"{self.prefix}.raw.srv", count=stored)
        finally:
            await nc.close()
        return [o for m in msgs for o in RawLineBatch.from_json(m.data, strict=True).offsets]

    async def events(self, count: int, *, by_source: bool = False) -> list[str]:
        """The player names of the join events in the stream, in stream order.

        With ``by_source`` they are sorted by source position (generation, offset) instead, the
        order history queries restore.
        """
        nc = await nats.connect(self.url)
        try:
            events = await read_events(
                nc.jetstream(), f"{self.prefix}.events.srv.>", count=count, timeout_s=60
            )
        finally:
            await nc.close()
        if by_source:
            events.sort(
                key=lambda e: (
                    e.source.sort_key() if isinstance(e, GameEvent) and e.source else (0, 0)
                )
            )
        return [e.player or "" if isinstance(e, GameEvent) else "" for e in events]


@pytest.fixture(name="pipeline")
def _pipeline(tmp_path: Path, nats_server, nats_prefix: str):
    """A tailer + parser pipeline on the shared nats-server; stopped after the test."""
    pipe = Pipeline(tmp_path, nats_server.url, nats_prefix)
    yield pipe
    codes = pipe.stop()
    assert codes == {"tailer": 0, "parser": 0}, pipe.tailer.output()[-2000:]


def _expected(n: int, start: int = 0) -> list[str]:
    return [f"player-{i}" for i in range(start, start + n)]


class TestIngestionFaults:
    async def test_tailer_sigkill_mid_burst_loses_and_repeats_nothing(self, pipeline: Pipeline):
        """SIGKILL of the tailer during a burst, then a restart, yields every event exactly once."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [x for i in range(3000) for x in (join_line(i), engine_line(i))])
        await wait_for(lambda: pipeline.tailer.output().count("tailer_following"), what="tailer")
        pipeline.tailer.kill()
        _append(pipeline.log, [join_line(i) for i in range(3000, 4000)])
        pipeline.tailer.start()

        assert await pipeline.events(4000) == _expected(4000)

    async def test_tailer_resumes_after_its_last_published_batch(self, pipeline: Pipeline):
        """A checkpoint that lags the stream (lost write) does not make lines publish twice."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(100)])
        assert await pipeline.events(100) == _expected(100)
        assert pipeline.tailer.terminate() == 0
        nc = await nats.connect(pipeline.url)
        try:
            kv = await nc.jetstream().key_value(Topology(pipeline.prefix).bucket("offsets"))
            saved = json.loads((await kv.get("srv")).value)
            assert saved["offset"] > 0
            await kv.put("srv", json.dumps({**saved, "offset": 0}).encode())
        finally:
            await nc.close()
        _append(pipeline.log, [join_line(i) for i in range(100, 150)])
        pipeline.tailer.start()

        assert await pipeline.events(150) == _expected(150)
        raw = await pipeline.raw_offsets()
        assert len(raw) == len(set(raw)) == 150

    async def test_parser_sigkill_mid_burst(self, pipeline: Pipeline):
        """SIGKILL of the parser mid-burst: every event once, in log order by source position.

        The killed worker's unacknowledged batch comes back only after the consumer's ack wait,
        so its events may sit after newer ones in the stream; their source positions keep the
        log order recoverable (and exactly once means no name appears twice).
        """
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(5000)])
        await wait_for(lambda: "patterns_loaded" in pipeline.parser.output(), what="parser up")
        pipeline.parser.kill()
        pipeline.parser.start()

        assert await pipeline.events(5000, by_source=True) == _expected(5000)

    async def test_rename_rotation(self, pipeline: Pipeline):
        """Lines written before and after a rename rotation all arrive once, in order."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(100)])
        assert await pipeline.events(100) == _expected(100)
        _append(pipeline.log, [join_line(i) for i in range(100, 150)])
        pipeline.log.rename(pipeline.log.with_suffix(".log.1"))
        _append(pipeline.log, [join_line(i) for i in range(150, 200)])

        assert await pipeline.events(200) == _expected(200)

    async def test_copy_truncate(self, pipeline: Pipeline):
        """After copy-truncate the new content is read from the start, nothing lost or doubled."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(100)])
        assert await pipeline.events(100) == _expected(100)
        os.truncate(pipeline.log, 0)
        _append(pipeline.log, [join_line(i) for i in range(100, 130)])

        assert await pipeline.events(130) == _expected(130)

    async def test_copy_truncate_while_the_tailer_is_down(self, pipeline: Pipeline):
        """Copy-truncate while the tailer is down, regrown past its checkpoint: nothing lost.

        The lines written after the tailer stopped are read from the copy (console.log.1),
        then the new content from its start.
        """
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(100)])
        assert await pipeline.events(100) == _expected(100)
        pipeline.tailer.kill()
        _append(pipeline.log, [join_line(i) for i in range(100, 120)])
        _copy_truncate(pipeline.log)
        _append(pipeline.log, [join_line(i) for i in range(120, 320)])
        assert pipeline.log.stat().st_size > pipeline.log.with_suffix(".log.1").stat().st_size
        pipeline.tailer.start()

        assert await pipeline.events(320) == _expected(320)
        assert "tailer_finishing_rotated_copy" in pipeline.tailer.output()
        assert "tailer_lines_possibly_lost" not in pipeline.tailer.output()

    async def test_copy_truncate_while_down_without_a_copy_says_lines_may_be_lost(
        self, pipeline: Pipeline
    ):
        """Without the copy the new content is still read whole, and the loss is logged."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(100)])
        assert await pipeline.events(100) == _expected(100)
        pipeline.tailer.kill()
        _append(pipeline.log, [join_line(i) for i in range(100, 120)])
        _copy_truncate(pipeline.log).unlink()
        _append(pipeline.log, [join_line(i) for i in range(120, 320)])
        pipeline.tailer.start()

        assert await pipeline.events(300) == _expected(100) + _expected(200, start=120)
        await wait_for(
            lambda: "tailer_lines_possibly_lost" in pipeline.tailer.output(), what="the warning"
        )

    async def test_deleted_and_recreated_file(self, pipeline: Pipeline):
        """A log deleted and created again is followed from its new start."""
        pipeline.log.write_text("")
        pipeline.start()
        _append(pipeline.log, [join_line(i) for i in range(10)])
        assert await pipeline.events(10) == _expected(10)
        pipeline.log.unlink()
        _append(pipeline.log, [join_line(i) for i in range(10, 20)])

        assert await pipeline.events(20) == _expected(20)

    async def test_file_that_does_not_exist_yet(self, pipeline: Pipeline):
        """The tailer waits for a missing log and reads all of it once it appears."""
        pipeline.start()
        await wait_for(lambda: "tailer_following" in pipeline.tailer.output(), what="tailer up")
        _append(pipeline.log, [join_line(i) for i in range(10)])

        assert await pipeline.events(10) == _expected(10)


async def test_nats_server_restart_loses_nothing(tmp_path: Path, private_nats_server, nats_prefix):
    """Lines appended while nats-server is down are published once it is back."""
    pipe = Pipeline(tmp_path, private_nats_server.url, nats_prefix)
    pipe.log.write_text("")
    pipe.start()
    try:
        _append(pipe.log, [join_line(i) for i in range(50)])
        assert await pipe.events(50) == _expected(50)
        private_nats_server.stop()
        _append(pipe.log, [join_line(i) for i in range(50, 100)])
        private_nats_server.start()

        assert await pipe.events(100) == _expected(100)
    finally:
        codes = pipe.stop()
    assert codes == {"tailer": 0, "parser": 0}


NATS_OUTAGE_S = 20.0
"""Longer than any single request timeout in the tailer (the KV write gave up after ~15 s)."""


async def test_tailer_rides_out_a_long_nats_outage(
    tmp_path: Path, private_nats_server, nats_prefix
):
    """The tailer lives through a NATS outage longer than its timeouts; nothing lost or doubled."""
    pipe = Pipeline(tmp_path, private_nats_server.url, nats_prefix)
    pipe.log.write_text("")
    pipe.start()
    try:
        _append(pipe.log, [join_line(i) for i in range(50)])
        assert await pipe.events(50) == _expected(50)
        private_nats_server.stop()
        for i in range(50, 100, 10):
            _append(pipe.log, [join_line(j) for j in range(i, i + 10)])
            # The outage itself is what is tested: it has to last, so this waits on the clock.
            await asyncio.sleep(NATS_OUTAGE_S / 5)
        assert pipe.tailer.is_running(), pipe.tailer.output()[-3000:]
        private_nats_server.start()

        assert await pipe.events(100) == _expected(100)
        raw = await pipe.raw_offsets()
        assert len(raw) == len(set(raw)) == 100
        assert pipe.tailer.is_running(), pipe.tailer.output()[-3000:]
    finally:
        codes = pipe.stop()
    assert codes == {"tailer": 0, "parser": 0}, pipe.tailer.output()[-3000:]
