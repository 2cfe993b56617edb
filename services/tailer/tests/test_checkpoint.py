"""Where a restarted tailer resumes: its checkpoint, or the end of its last published batch."""

import asyncio
from datetime import UTC, datetime

import pytest

from common.contracts import RawLineBatch
from common.runtime import ServiceRuntime
from common.settings import HealthSettings, NatsSettings, PipelineSettings, RuntimeSettings
from tailer.checkpoint import Checkpoint, KvCheckpointStore, resume_from

CHECKPOINT = Checkpoint(dev=1, ino=2, generation=0, offset=100)


def _batch(*, end: int | None, file_id: str = CHECKPOINT.file_id) -> RawLineBatch:
    return RawLineBatch(
        server="s",
        file_id=file_id,
        generation=0,
        offsets=(150,),
        lines=("x",),
        read_at=datetime(2026, 11, 27, tzinfo=UTC),
        end=end,
    )


def test_a_published_batch_beyond_the_checkpoint_moves_it():
    """Batches acknowledged but not yet checkpointed are not read (and published) again."""
    assert resume_from(CHECKPOINT, _batch(end=152)) == CHECKPOINT.model_copy(update={"offset": 152})


def test_the_checkpoint_stands_otherwise():
    """An older batch, another file, a batch without end, or none at all change nothing."""
    assert resume_from(CHECKPOINT, _batch(end=90)) == CHECKPOINT
    assert resume_from(CHECKPOINT, _batch(end=152, file_id="1-2-g1")) == CHECKPOINT
    assert resume_from(CHECKPOINT, _batch(end=None)) == CHECKPOINT
    assert resume_from(CHECKPOINT, None) == CHECKPOINT
    assert resume_from(None, _batch(end=152)) is None


@pytest.mark.nats
@pytest.mark.slow
async def test_a_checkpoint_write_waits_out_a_nats_outage(private_nats_server, nats_prefix: str):
    """A checkpoint saved while nats-server is down is stored once it is back, never raised."""
    settings = RuntimeSettings(
        pipeline=PipelineSettings(prefix=nats_prefix),
        nats=NatsSettings(url=private_nats_server.url, reconnect_wait_s=0.2),
        health=HealthSettings(enabled=False),
    )
    async with ServiceRuntime("t", settings, configure_logging=False, handle_signals=False) as rt:
        store = KvCheckpointStore(await rt.js.key_value(rt.topology.bucket("offsets")), rt.stop)
        await asyncio.to_thread(private_nats_server.stop)
        saving = asyncio.ensure_future(store.save("srv", CHECKPOINT))
        # The outage has to outlast the KV write's own timeout (5 s): this waits on the clock.
        await asyncio.sleep(7)
        assert not saving.done() or saving.exception() is None
        await asyncio.to_thread(private_nats_server.start)
        await asyncio.wait_for(saving, 30)

        assert await store.load("srv") == CHECKPOINT


@pytest.mark.nats
async def test_a_checkpoint_write_gives_up_when_the_tailer_stops(
    private_nats_server, nats_prefix: str
):
    """A checkpoint write retrying through an outage returns as soon as the tailer stops."""
    settings = RuntimeSettings(
        pipeline=PipelineSettings(prefix=nats_prefix),
        nats=NatsSettings(url=private_nats_server.url, reconnect_wait_s=0.2),
        health=HealthSettings(enabled=False),
    )
    async with ServiceRuntime("t", settings, configure_logging=False, handle_signals=False) as rt:
        store = KvCheckpointStore(await rt.js.key_value(rt.topology.bucket("offsets")), rt.stop)
        await asyncio.to_thread(private_nats_server.stop)
        saving = asyncio.ensure_future(store.save("srv", CHECKPOINT))
        rt.stop.set()

        await asyncio.wait_for(saving, 10)
