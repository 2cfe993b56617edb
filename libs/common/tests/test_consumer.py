import asyncio
from collections.abc import Sequence

import nats
import pytest

from common.consumer import BatchConsumer, Delivery
from common.contracts import RawLineBatch
from common.errors import TransientError
from common.topology import Topology
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats


def _batch(offset: int) -> bytes:
    return (
        b'{"v":1,"server":"s1","file_id":"f","generation":0,"offsets":[%d],"lines":["x"],'
        b'"read_at":"2026-01-01T00:00:00Z"}' % offset
    )


def _decode(data: bytes, subject: str) -> RawLineBatch:
    return RawLineBatch.from_json(data, subject=subject, strict=True)


@pytest.fixture(name="js_topology")
async def _js_topology(nats_server, nats_prefix: str):
    """A connected JetStream context with the topology declared under a private prefix."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    topo = Topology(nats_prefix)
    await topo.ensure(js)
    await topo.ensure_consumer(js, topo.raw_stream, "c")
    yield js, topo
    await nc.close()


async def _run_until(consumer: BatchConsumer, condition, what: str) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await wait_for(condition, timeout_s=10, what=what)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


class TestBatchConsumer:
    async def test_invalid_message_is_terminated_and_the_rest_handled(self, js_topology):
        """A payload that does not fit is terminated; valid ones in the same batch are handled."""
        js, topo = js_topology
        for payload in (_batch(1), b"not json", _batch(2)):
            await js.publish(topo.raw_subject("s1"), payload)
        seen: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            seen.extend(d.value.offsets[0] for d in deliveries)

        consumer = BatchConsumer(
            js, stream=topo.raw_stream, durable="c", decode=_decode, handler=handler, service="t"
        )
        await _run_until(consumer, lambda: len(seen) == 2, "two handled")

        info = await js.consumer_info(topo.raw_stream, "c")
        assert seen == [1, 2]
        assert info.num_ack_pending == 0
        assert info.num_pending == 0

    async def test_transient_failure_is_redelivered_not_lost(self, js_topology):
        """A batch whose handler raises a transient error is delivered again and then acked."""
        js, topo = js_topology
        await js.publish(topo.raw_subject("s1"), _batch(5))
        attempts: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            attempts.append(len(deliveries))
            if len(attempts) == 1:
                raise TransientError("database restarting", delay_s=0.1)

        consumer = BatchConsumer(
            js, stream=topo.raw_stream, durable="c", decode=_decode, handler=handler, service="t"
        )
        await _run_until(consumer, lambda: len(attempts) >= 2, "redelivery")

        async def settled() -> bool:
            info = await js.consumer_info(topo.raw_stream, "c")
            return info.num_ack_pending == 0 and info.num_pending == 0

        await wait_for(settled, timeout_s=5, what="ack after redelivery")
        assert attempts[:2] == [1, 1]
