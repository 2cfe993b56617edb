"""Trace context through the publisher, JetStream and the one intake (real nats-server)."""

import asyncio
from collections.abc import Sequence

import nats
import pytest
from opentelemetry import trace

from common import tracing
from common.contracts import RawLineBatch
from common.dead_letters import DeadLetters
from common.intake import Delivery, Held, Intake
from common.publishing import Outgoing, publish_confirmed, wire_size
from common.topology import ConsumerPolicy, Topology
from isr_testing.streams import read_subject
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats

DURABLE = "traced"
UNSAMPLED = "00-" + "1" * 32 + "-" + "2" * 16 + "-00"


def _batch(offset: int) -> bytes:
    return (
        b'{"v":1,"server":"s1","file_id":"f","generation":0,"offsets":[%d],"lines":["x"],'
        b'"read_at":"2026-01-01T00:00:00Z"}' % offset
    )


def _decode(data: bytes, subject: str) -> RawLineBatch:
    return RawLineBatch.from_json(data, subject=subject, strict=True)


@pytest.fixture(name="bus")
async def _bus(nats_server, nats_prefix: str):
    """A connection, a private topology and one durable on its raw stream."""
    nc = await nats.connect(nats_server.url)
    topo = Topology(nats_prefix)
    policy = ConsumerPolicy(ack_wait_s=5.0, max_deliver=3)
    await topo.ensure(nc.jetstream())
    await topo.ensure_consumer(nc.jetstream(), topo.raw_stream, DURABLE, policy=policy)
    intake: Intake[RawLineBatch] = Intake(
        nc,
        DeadLetters(nc.jetstream(), topo, "test"),
        stream=topo.raw_stream,
        durable=DURABLE,
        decode=_decode,
        consumer=policy,
    )
    yield nc, topo, intake
    await nc.close()


async def _consume(intake, run, count: int) -> list:
    seen: list = []
    stop = asyncio.Event()

    async def handler(items: Sequence[Delivery[RawLineBatch] | Held[RawLineBatch]]):
        seen.extend(items)
        for item in items:
            if isinstance(item, Held):
                await item.done()

    task = asyncio.create_task(getattr(intake, run)(handler, stop))
    try:
        await wait_for(lambda: len(seen) >= count, timeout_s=15, what=f"{count} delivered")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    return seen


@pytest.mark.parametrize("run", ["run", "run_held"])
async def test_context_survives_jetstream_and_batches_share_a_process_span(bus, spans, run):
    """One trace's messages share a process span under their publish span; unsampled: no span."""
    nc, topo, intake = bus
    subject = topo.raw_subject("s1")
    with tracing.messaging_span("publish", subject) as producer:
        headers = tracing.inject()
    with tracing.messaging_span("publish", subject) as other:
        other_headers = tracing.inject()
    messages = [
        Outgoing(subject, _batch(1), "m1", headers),
        Outgoing(subject, _batch(2), "m2", headers),
        Outgoing(subject, _batch(3), "m3", other_headers),
        Outgoing(subject, _batch(4), "m4", {"traceparent": UNSAMPLED}),
    ]
    assert wire_size(messages[0]) > wire_size(Outgoing(subject, _batch(1), "m1"))
    await publish_confirmed(nc.jetstream(), messages)
    seen = await _consume(intake, run, 4)

    await wait_for(
        lambda: len([s for s in spans.get_finished_spans() if s.name.startswith("process")]) == 2,
        timeout_s=10,
        what="two process spans",
    )
    processes = [s for s in spans.get_finished_spans() if s.name == f"process {subject}"]
    by_parent = {s.parent.span_id: s for s in processes}
    first = by_parent[producer.get_span_context().span_id]
    second = by_parent[other.get_span_context().span_id]
    assert first.attributes["messaging.batch.message_count"] == 2
    assert first.attributes["messaging.consumer.group.name"] == DURABLE
    assert first.attributes["messaging.message.id"] == "m1"
    assert "messaging.batch.message_count" not in second.attributes
    traces = {item.value.offsets[0]: item.trace for item in seen}
    assert traces[4] is None
    span_of = {
        k: trace.get_current_span(v).get_span_context().span_id
        for k, v in traces.items()
        if v is not None
    }
    assert span_of == {
        1: first.context.span_id,
        2: first.context.span_id,
        3: second.context.span_id,
    }


async def test_tracing_off_adds_no_headers_and_no_context(bus):
    """With tracing off nothing but the message id travels and deliveries carry no context."""
    nc, topo, intake = bus
    subject = topo.raw_subject("s1")
    await publish_confirmed(nc.jetstream(), [Outgoing(subject, _batch(1), "m1", tracing.inject())])
    stored = await read_subject(nc.jetstream(), subject, count=1, timeout_s=10)
    assert set(stored[0].headers) == {"Nats-Msg-Id"}
    seen = await _consume(intake, "run", 1)
    assert seen[0].trace is None
