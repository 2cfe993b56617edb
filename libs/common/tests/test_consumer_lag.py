"""Consumer lag gauges against a real nats-server, read through a real SDK metric reader."""

import asyncio

import nats
import pytest

from common.consumer_lag import LagWatch
from common.metric_names import Metric
from common.topology import ConsumerPolicy, Topology
from isr_testing import metrics as captured
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats

DURABLE = "lag"


def _payload(n: int) -> bytes:
    return (
        b'{"v":1,"server":"s1","file_id":"f","generation":0,"offsets":[%d],"lines":["x"],'
        b'"read_at":"2026-01-01T00:00:00Z"}' % n
    )


def _reading(metric: Metric, durable: str) -> float | None:
    for value, attributes in captured.points(metric.value):
        if attributes.get("durable") == durable:
            return value
    return None


async def test_pending_reports_the_backlog_and_falls_when_it_is_consumed(nats_server, nats_prefix):
    """isr.consumer.pending shows N undelivered messages, then 0 once fetched and acked."""
    captured.reader()
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    topo = Topology(nats_prefix)
    await topo.ensure(js)
    await topo.ensure_consumer(js, topo.raw_stream, DURABLE, policy=ConsumerPolicy())
    for n in range(7):
        await js.publish(topo.raw_subject("s1"), _payload(n))
    stop = asyncio.Event()
    watch = LagWatch(nc, topo.raw_stream, DURABLE)
    task = asyncio.create_task(watch.run(stop, interval_s=0.1))
    try:
        await wait_for(
            lambda: _reading(Metric.CONSUMER_PENDING, DURABLE) == 7,
            timeout_s=10,
            what="pending 7",
        )
        assert _reading(Metric.CONSUMER_ACK_PENDING, DURABLE) == 0
        sub = await js.pull_subscribe_bind(DURABLE, stream=topo.raw_stream)
        for msg in await sub.fetch(7, timeout=5):
            await msg.ack()
        await wait_for(
            lambda: _reading(Metric.CONSUMER_PENDING, DURABLE) == 0,
            timeout_s=10,
            what="pending 0",
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await nc.close()
    # Stopped: the gauge no longer reports this durable.
    assert _reading(Metric.CONSUMER_PENDING, DURABLE) is None


async def test_a_failed_lookup_keeps_the_last_value(nats_server, nats_prefix):
    """Asking for a consumer that does not exist leaves the reading as it was, without raising."""
    nc = await nats.connect(nats_server.url)
    try:
        watch = LagWatch(nc, f"{nats_prefix}_NO_STREAM", "missing")
        watch.pending = 3
        await watch.refresh()
        assert watch.pending == 3
    finally:
        await nc.close()
