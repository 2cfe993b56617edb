"""The one intake against a real nats-server: settling, poison isolation, keep-alive, bounds."""

import asyncio
import time
from collections.abc import Sequence

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from common.contracts import RawLineBatch
from common.dead_letters import DeadLetters, Origin, dead_letter_headers
from common.errors import InvalidMessage, TransientError
from common.intake import Delivery, Held, Intake, PullOptions, delivery_count
from common.topology import ConsumerPolicy, Topology
from isr_testing.streams import read_subject
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats

DURABLE = "c"


def _batch(offset: int) -> bytes:
    return (
        b'{"v":1,"server":"s1","file_id":"f","generation":0,"offsets":[%d],"lines":["x"],'
        b'"read_at":"2026-01-01T00:00:00Z"}' % offset
    )


def _decode(data: bytes, subject: str) -> RawLineBatch:
    return RawLineBatch.from_json(data, subject=subject, strict=True)


class _Bus:
    """A connection, its topology under a private prefix, and one durable on the raw stream."""

    def __init__(self, nc: nats.NATS, topo: Topology, policy: ConsumerPolicy) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.topo = topo
        self.policy = policy

    def intake(self, **pull: int) -> Intake[RawLineBatch]:
        return Intake(
            self.nc,
            DeadLetters(self.js, self.topo, "test"),
            stream=self.topo.raw_stream,
            durable=DURABLE,
            decode=_decode,
            consumer=self.policy,
            pull=PullOptions(**pull),
        )

    async def publish(self, *payloads: bytes) -> None:
        for payload in payloads:
            await self.js.publish(self.topo.raw_subject("s1"), payload)

    async def settled(self) -> bool:
        info = await self.js.consumer_info(self.topo.raw_stream, DURABLE)
        return info.num_ack_pending == 0 and info.num_pending == 0

    async def dead_letters(self, count: int) -> list[nats.aio.msg.Msg]:
        return await read_subject(
            self.js, self.topo.dead_letter_subject("test"), count=count, timeout_s=15
        )


async def _bus(nats_server, nats_prefix: str, policy: ConsumerPolicy) -> _Bus:
    nc = await nats.connect(nats_server.url)
    topo = Topology(nats_prefix)
    await topo.ensure(nc.jetstream())
    await topo.ensure_consumer(nc.jetstream(), topo.raw_stream, DURABLE, policy=policy)
    return _Bus(nc, topo, policy)


@pytest.fixture(name="bus")
async def _bus_fixture(nats_server, nats_prefix: str):
    """A bus whose durable has a 1 s ack wait and at most 3 deliveries."""
    bus = await _bus(nats_server, nats_prefix, ConsumerPolicy(ack_wait_s=1.0, max_deliver=3))
    yield bus
    await bus.nc.close()


async def _run_until(run, condition, what: str, timeout_s: float = 15) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    try:
        await wait_for(condition, timeout_s=timeout_s, what=what)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


class TestSettleWhenHandled:
    async def test_undecodable_message_is_dead_lettered_and_the_rest_handled(self, bus):
        """A payload that does not fit is parked with its reason; valid ones are handled."""
        await bus.publish(_batch(1), b"not json", _batch(2))
        seen: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            seen.extend(d.value.offsets[0] for d in deliveries)

        intake = bus.intake()
        await _run_until(lambda stop: intake.run(handler, stop), bus.settled, "all settled")

        parked = await bus.dead_letters(1)
        assert seen == [1, 2]
        assert len(parked) == 1
        headers = parked[0].headers
        assert parked[0].data == b"not json"
        assert "json" in headers["Isr-Dead-Letter-Reason"].lower()
        assert headers["Isr-Original-Subject"] == bus.topo.raw_subject("s1")
        assert headers["Isr-Original-Sequence"] == "2"
        assert headers["Isr-Delivery-Count"] == "1"

    async def test_transient_failure_is_redelivered_not_lost(self, bus):
        """A batch whose handler raises a transient error is delivered again and then acked."""
        await bus.publish(_batch(5))
        attempts: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            attempts.append(len(deliveries))
            if len(attempts) == 1:
                raise TransientError("database restarting", delay_s=0.1)

        intake = bus.intake()
        await _run_until(
            lambda stop: intake.run(handler, stop), lambda: len(attempts) >= 2, "redelivery"
        )

        await wait_for(bus.settled, timeout_s=5, what="ack after redelivery")
        assert attempts[:2] == [1, 1]

    async def test_one_poison_message_does_not_hold_back_its_batch(self, bus):
        """A handler rejecting a whole batch for one message: the others are handled at once."""
        await bus.publish(*(_batch(i) for i in range(8)))
        handled: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            offsets = [d.value.offsets[0] for d in deliveries]
            if 3 in offsets:
                raise InvalidMessage(subject="raw", reason="offset 3 is cursed")
            handled.extend(offsets)

        intake = bus.intake(batch_size=8, linger_s=0.5)
        started = time.monotonic()
        await _run_until(lambda stop: intake.run(handler, stop), bus.settled, "all settled")
        elapsed = time.monotonic() - started

        parked = await bus.dead_letters(1)
        assert sorted(handled) == [0, 1, 2, 4, 5, 6, 7]
        assert [m.headers["Isr-Dead-Letter-Reason"] for m in parked] == ["offset 3 is cursed"]
        assert elapsed < 5, "the good neighbours waited for a redelivery"

    async def test_message_failing_unexpectedly_is_dead_lettered_after_max_deliver(self, bus):
        """A handler that always raises a bug: the message is parked on its last delivery."""
        await bus.publish(_batch(9))
        attempts: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            attempts.append(delivery_count(deliveries[0].msg))
            raise RuntimeError("bug in the handler")

        intake = bus.intake()
        await _run_until(
            lambda stop: intake.run(handler, stop), bus.settled, "given up", timeout_s=30
        )

        parked = await bus.dead_letters(1)
        assert attempts == [1, 2, 3]
        reason = parked[0].headers["Isr-Dead-Letter-Reason"]
        assert reason == "still failing after 3 deliveries: RuntimeError: bug in the handler"
        assert parked[0].headers["Isr-Delivery-Count"] == "3"

    async def test_slow_handler_is_kept_alive_past_the_ack_wait(self, bus):
        """A batch handled for longer than the ack wait is not redelivered meanwhile."""
        await bus.publish(_batch(1))
        deliveries_seen: list[int] = []

        async def handler(deliveries: Sequence[Delivery[RawLineBatch]]):
            deliveries_seen.extend(delivery_count(d.msg) for d in deliveries)
            await asyncio.sleep(3.0)  # the slow effect under test: three ack waits

        intake = bus.intake(loops=2)
        await _run_until(lambda stop: intake.run(handler, stop), bus.settled, "acked", 20)

        assert deliveries_seen == [1]


class TestSettleLater:
    async def test_held_message_is_kept_alive_and_given_back_on_stop(self, bus):
        """A held message outlives its ack wait, and on stop it is nak'd for prompt redelivery."""
        await bus.publish(_batch(1))
        held: list[Held[RawLineBatch]] = []

        async def take(batch: Sequence[Held[RawLineBatch]]) -> None:
            held.extend(batch)

        intake = bus.intake()
        stop = asyncio.Event()
        task = asyncio.create_task(intake.run_held(take, stop))
        await wait_for(lambda: held, what="a held message")
        await asyncio.sleep(2.5)  # the time under test: more than two ack waits
        info = await bus.js.consumer_info(bus.topo.raw_stream, DURABLE)
        assert info.num_redelivered == 0
        stop.set()
        await asyncio.wait_for(task, 10)
        again: list[Held[RawLineBatch]] = []

        async def take_again(batch: Sequence[Held[RawLineBatch]]) -> None:
            again.extend(batch)
            for one in batch:
                await one.done()

        started = time.monotonic()
        second = bus.intake()
        await _run_until(lambda s: second.run_held(take_again, s), lambda: again, "redelivery")
        waited = time.monotonic() - started

        assert [delivery_count(h.msg) for h in again] == [2]
        assert waited < 0.9, "redelivered only after the ack wait"

    async def test_failed_held_message_is_dead_lettered_with_its_reason(self, bus):
        """A handler failing a held message as invalid parks it; settling twice is harmless."""
        await bus.publish(_batch(4))

        async def take(batch: Sequence[Held[RawLineBatch]]) -> None:
            for one in batch:
                await one.fail(InvalidMessage(subject=one.msg.subject, reason="channel gone"))
                await one.done()

        intake = bus.intake()
        await _run_until(lambda stop: intake.run_held(take, stop), bus.settled, "settled")

        parked = await bus.dead_letters(1)
        assert [m.headers["Isr-Dead-Letter-Reason"] for m in parked] == ["channel gone"]


class TestConsumerPolicy:
    async def test_existing_durable_with_old_settings_gets_the_new_ones(
        self, nats_server, nats_prefix
    ):
        """A durable made with 30 s / unbounded deliveries converges, keeping its position."""
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        topo = Topology(nats_prefix)
        await topo.ensure(js)
        old = ConsumerConfig(
            durable_name="old", ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1
        )
        await js.add_consumer(topo.raw_stream, config=old)
        await js.publish(topo.raw_subject("s1"), _batch(1))

        info = await topo.ensure_consumer(js, topo.raw_stream, "old")
        again = await js.consumer_info(topo.raw_stream, "old")
        await nc.close()

        assert (info.config.ack_wait, info.config.max_deliver) == (5.0, 20)
        assert (again.config.ack_wait, again.config.max_deliver) == (5.0, 20)
        assert again.num_pending == 1

    def test_relay_bucket_is_declared(self):
        """The bot relay's intent bucket is one of the topology's buckets."""
        assert "isr_relay" in Topology().bucket_names()


class TestDeadLetterHeaders:
    def test_reason_is_one_line_and_the_id_is_stable(self):
        """Dead-letter headers flatten the reason and derive the id from stream and sequence."""
        origin = Origin("isr.events.a.chat", "ISR_EVENTS", 12, 3)

        headers = dead_letter_headers("persistence", origin, "bad\r\nvalue")

        assert headers["Isr-Dead-Letter-Reason"] == "bad value"
        assert headers["Nats-Msg-Id"] == "persistence:ISR_EVENTS:12"
        assert headers["Isr-Delivery-Count"] == "3"
