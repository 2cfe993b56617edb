"""The tailer's async shell: read, publish (a bounded number in flight), confirm, checkpoint."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

import structlog
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from common.config import load_config
from common.contracts import RawLineBatch, line_id
from common.errors import InvalidMessage
from common.metric_names import Metric
from common.publishing import Outgoing, publish_confirmed
from common.runtime import ServiceRuntime
from common.telemetry import counter, tracing_enabled
from common.topology import Topology
from common.tracing import context_of, inject, start_messaging_span
from tailer.checkpoint import Checkpoint, CheckpointStore, KvCheckpointStore, resume_from
from tailer.follower import Batch, LogFollower, PossibleLoss, StartPolicy
from tailer.settings import TailerSettings
from tailer.stdin_source import StdinSource, open_stdin
from tailer.waker import Waker, make_waker

log = structlog.get_logger()
_lines_read = counter(Metric.LINES_READ)
_batches = counter(Metric.BATCHES_PUBLISHED)
_possibly_lost = counter(Metric.LINES_POSSIBLY_LOST)


class BatchPublisher:
    """Publishes batches with up to ``max_in_flight`` awaiting acknowledgement.

    Each batch is published with ``Nats-Msg-Id`` = its first line's id. The checkpoint moves
    only past batches whose acknowledgement arrived, and only in read order, so after any crash
    the next start republishes at most the unconfirmed batches — which the server drops as
    duplicates. Nothing is lost and nothing doubles.
    """

    def __init__(
        self,
        *,
        server: str,
        js: JetStreamContext,
        topology: Topology,
        store: CheckpointStore | None,
        max_in_flight: int,
    ) -> None:
        self._server = server
        self._js = js
        self._subject = topology.raw_subject(server)
        self._store = store
        self._max_in_flight = max_in_flight
        self._in_flight: deque[tuple[asyncio.Task[None], Checkpoint, int]] = deque()

    def to_message(self, batch: Batch) -> Outgoing:
        """The raw-stream message of one batch."""
        raw = RawLineBatch(
            server=self._server,
            file_id=batch.file_id,
            generation=batch.generation,
            offsets=tuple(line.offset for line in batch.lines),
            lines=tuple(line.text for line in batch.lines),
            truncated=tuple(i for i, line in enumerate(batch.lines) if line.truncated),
            read_at=datetime.now(UTC),
            end=batch.checkpoint.offset,
        )
        msg_id = line_id(self._server, batch.file_id, batch.lines[0].offset)
        return Outgoing(self._subject, raw.to_json(), msg_id)

    async def submit(self, batch: Batch) -> None:
        """Start publishing ``batch``; waits while ``max_in_flight`` are unconfirmed."""
        message = self.to_message(batch)
        if tracing_enabled():
            # The root of the line's trace: a publish span, ended when JetStream confirmed.
            span = start_messaging_span(
                "publish",
                self._subject,
                message_id=message.msg_id,
                attributes={"server": self._server, "isr.lines": len(batch.lines)},
            )
            message = Outgoing(
                message.subject, message.payload, message.msg_id, inject(context=context_of(span))
            )
            task = asyncio.create_task(publish_confirmed(self._js, [message]))
            task.add_done_callback(lambda _task: span.end())
        else:
            task = asyncio.create_task(publish_confirmed(self._js, [message]))
        self._in_flight.append((task, batch.checkpoint, len(batch.lines)))
        await self._settle(wait_for_all=False)

    async def flush(self) -> None:
        """Wait until every submitted batch is confirmed and checkpointed."""
        await self._settle(wait_for_all=True)

    @property
    def pending(self) -> int:
        """Batches submitted but not yet checkpointed."""
        return len(self._in_flight)

    async def _settle(self, *, wait_for_all: bool) -> None:
        """Checkpoint past the confirmed batches at the head of the queue, in read order.

        Waits for the oldest batch while the queue is full (or for all with ``wait_for_all``);
        otherwise takes only those already confirmed.
        """
        last: Checkpoint | None = None
        lines = batches = 0
        while self._in_flight:
            task, checkpoint, count = self._in_flight[0]
            must_wait = wait_for_all or len(self._in_flight) >= self._max_in_flight
            if not task.done() and not must_wait:
                break
            await task
            self._in_flight.popleft()
            last, lines, batches = checkpoint, lines + count, batches + 1
        if last is not None:
            if self._store is not None:
                await self._store.save(self._server, last)
            _lines_read.add(lines, {"server": self._server})
            _batches.add(batches, {"server": self._server})


class Tailer:
    """Follows one server's console log and publishes every line exactly once, in order."""

    def __init__(
        self,
        *,
        follower: LogFollower,
        publisher: BatchPublisher,
        waker: Waker,
        poll_interval_s: float,
    ) -> None:
        self._follower = follower
        self._publisher = publisher
        self._waker = waker
        self._poll_interval_s = poll_interval_s

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until ``stop`` is set; confirm everything read before returning."""
        log.info("tailer_following", path=str(self._follower.path))
        try:
            while not stop.is_set():
                batch = await asyncio.to_thread(self._follower.read_batch)
                if batch is not None:
                    await self._publisher.submit(batch)
                    continue
                if self._follower.has_more():
                    continue
                await self._publisher.flush()
                stop_wait = asyncio.ensure_future(stop.wait())
                change = asyncio.ensure_future(self._waker.wait(self._poll_interval_s))
                await asyncio.wait({stop_wait, change}, return_when=asyncio.FIRST_COMPLETED)
                for fut in (stop_wait, change):
                    fut.cancel()
            await self._publisher.flush()
        finally:
            self._follower.close()
            self._waker.close()


async def run_stdin(source: StdinSource, publisher: BatchPublisher, stop: asyncio.Event) -> None:
    """Publish what arrives on stdin until end of input or ``stop``."""
    while not stop.is_set() and not source.at_eof:
        read = asyncio.ensure_future(source.read_batch())
        stop_wait = asyncio.ensure_future(stop.wait())
        await asyncio.wait({read, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if not read.done():
            read.cancel()
            break
        batch = read.result()
        if batch is not None:
            await publisher.submit(batch)
    await publisher.flush()
    log.info("tailer_stdin_finished", at_eof=source.at_eof)


async def last_published(
    js: JetStreamContext, topology: Topology, server: str
) -> RawLineBatch | None:
    """The newest raw batch of ``server`` in the stream, or None (none yet, or unreadable)."""
    try:
        msg = await js.get_last_msg(topology.raw_stream, topology.raw_subject(server))
    except NotFoundError:
        return None
    try:
        return RawLineBatch.from_json(msg.data or b"", subject=topology.raw_subject(server))
    except InvalidMessage as exc:
        log.warning("tailer_last_batch_unreadable", error=str(exc))
        return None


async def run(settings: TailerSettings) -> None:
    """Run the tailer for ``settings.server`` until SIGTERM/SIGINT (or end of stdin)."""
    # The tailer needs no secret: as a sidecar it is never given the RCON passwords.
    config = load_config(settings.runtime.pipeline.config_dir, resolve_secrets=False)
    if settings.server not in config.servers:
        msg = f"unknown server {settings.server!r}; servers.yml has {sorted(config.servers)}"
        raise SystemExit(msg)
    server = config.servers[settings.server]
    path = settings.log_path or server.log_path
    start: StartPolicy = server.log_start
    async with ServiceRuntime(f"tailer-{settings.server}", settings.runtime) as rt:
        kv = await rt.js.key_value(rt.topology.bucket("offsets"))
        is_stdin = str(path) == "-"
        store = None if is_stdin else KvCheckpointStore(kv, rt.stop)
        publisher = BatchPublisher(
            server=settings.server,
            js=rt.js,
            topology=rt.topology,
            store=store,
            max_in_flight=settings.max_in_flight,
        )
        if is_stdin:
            await run_stdin(StdinSource(await open_stdin()), publisher, rt.stop)
            return
        assert store is not None
        checkpoint = resume_from(
            await store.load(settings.server),
            await last_published(rt.js, rt.topology, settings.server),
        )

        def count_possible_loss(loss: PossibleLoss) -> None:
            _possibly_lost.add(1, {"server": settings.server, "reason": loss.reason})

        follower = LogFollower(
            path, checkpoint=checkpoint, start=start, on_possible_loss=count_possible_loss
        )
        tailer = Tailer(
            follower=follower,
            publisher=publisher,
            waker=make_waker(path, use_inotify=settings.use_inotify),
            poll_interval_s=settings.poll_interval_s,
        )
        await tailer.run(rt.stop)
