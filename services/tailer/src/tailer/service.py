"""The tailer's async shell: read, publish, confirm, checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from common.config import load_config
from common.contracts import RawLineBatch, line_id
from common.metric_names import Metric
from common.publishing import Outgoing, publish_confirmed
from common.runtime import ServiceRuntime
from common.telemetry import get_meter
from common.topology import Topology
from tailer.checkpoint import CheckpointStore, KvCheckpointStore
from tailer.follower import Batch, LogFollower, StartPolicy
from tailer.settings import TailerSettings

log = structlog.get_logger()
_meter = get_meter(__name__)
_lines_read = _meter.create_counter(Metric.LINES_READ, description="console-log lines read")
_batches = _meter.create_counter(Metric.BATCHES_PUBLISHED, description="raw batches acknowledged")


class Tailer:
    """Publishes every line of one server's log exactly once, in order.

    A batch is published with ``Nats-Msg-Id`` = its first line's id and confirmed by JetStream
    before the checkpoint moves past it; so after any crash the next start republishes at most
    the unconfirmed batch, which the server drops as a duplicate.
    """

    def __init__(
        self,
        *,
        server: str,
        follower: LogFollower,
        store: CheckpointStore,
        js: object,
        topology: Topology,
        poll_interval_s: float,
    ) -> None:
        self._server = server
        self._follower = follower
        self._store = store
        self._js = js
        self._topology = topology
        self._poll_interval_s = poll_interval_s

    async def publish(self, batch: Batch) -> None:
        """Publish one batch, wait for its acknowledgement, then checkpoint."""
        raw = RawLineBatch(
            server=self._server,
            file_id=batch.file_id,
            generation=batch.generation,
            offsets=tuple(line.offset for line in batch.lines),
            lines=tuple(line.text for line in batch.lines),
            truncated=tuple(i for i, line in enumerate(batch.lines) if line.truncated),
            read_at=datetime.now(UTC),
        )
        msg_id = line_id(self._server, batch.file_id, batch.lines[0].offset)
        await publish_confirmed(
            self._js,  # type: ignore[arg-type]
            [Outgoing(self._topology.raw_subject(self._server), raw.to_json(), msg_id)],
        )
        await self._store.save(self._server, batch.checkpoint)
        _lines_read.add(len(batch.lines), {"server": self._server})
        _batches.add(1, {"server": self._server})

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop`` is set."""
        log.info("tailer_following", server=self._server, path=str(self._follower.path))
        try:
            while not stop.is_set():
                batch = await asyncio.to_thread(self._follower.read_batch)
                if batch is not None:
                    await self.publish(batch)
                    continue
                if self._follower.has_more():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_interval_s)
        finally:
            self._follower.close()


async def run(settings: TailerSettings) -> None:
    """Run the tailer for ``settings.server`` until SIGTERM/SIGINT."""
    config = load_config(settings.runtime.pipeline.config_dir)
    if settings.server not in config.servers:
        msg = f"unknown server {settings.server!r}; servers.yml has {sorted(config.servers)}"
        raise SystemExit(msg)
    server = config.servers[settings.server]
    path = settings.log_path or server.log_path
    start: StartPolicy = server.log_start
    async with ServiceRuntime(f"tailer-{settings.server}", settings.runtime) as rt:
        kv = await rt.js.key_value(rt.topology.bucket("offsets"))
        store = KvCheckpointStore(kv)
        follower = LogFollower(path, checkpoint=await store.load(settings.server), start=start)
        tailer = Tailer(
            server=settings.server,
            follower=follower,
            store=store,
            js=rt.js,
            topology=rt.topology,
            poll_interval_s=settings.poll_interval_s,
        )
        await tailer.run(rt.stop)
