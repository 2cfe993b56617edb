"""Streams and buckets are created with the settings and never changed once they exist.

An operator who raised a stream's replicas or cut its max age with ``nats stream edit`` must
find it so after every service restart; the services only report the difference.
"""

from __future__ import annotations

import nats
import pytest
from nats.js.api import StreamConfig
from pydantic import ValidationError

from common.settings import StreamSettings
from common.topology import StreamDifference, Topology, stream_differences

pytestmark = pytest.mark.nats

_DAY_S = 86_400.0


async def test_missing_streams_and_buckets_get_the_settings(nats_server, nats_prefix: str):
    """A fresh installation's streams take max age and max bytes from ISR_STREAM_*."""
    settings = StreamSettings(raw_max_age_s=3600, events_max_bytes=50_000_000)
    topo = Topology(nats_prefix, retention=settings.retention())
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        assert await topo.ensure(js) == []
        raw = (await js.stream_info(topo.raw_stream)).config
        events = (await js.stream_info(topo.events_stream)).config
        kv = (await js.stream_info(f"KV_{topo.bucket('offsets')}")).config
    finally:
        await nc.close()
    assert raw.max_age == pytest.approx(3600)
    assert raw.num_replicas == 1
    assert events.max_bytes == 50_000_000
    assert events.max_age == pytest.approx(30 * _DAY_S)
    assert kv.num_replicas == 1


async def test_an_operators_limits_survive_a_restart(nats_server, nats_prefix: str):
    """A stream edited by an operator is left as it is; the difference is reported."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await topo.ensure(js)
        edited = (await js.stream_info(topo.events_stream)).config
        edited.max_age = 2 * _DAY_S
        edited.max_bytes = 10_000_000
        await js.update_stream(config=edited)

        differences = await topo.ensure(js)  # what a service does at its next start
        after = (await js.stream_info(topo.events_stream)).config
    finally:
        await nc.close()

    assert after.max_age == pytest.approx(2 * _DAY_S)
    assert after.max_bytes == 10_000_000
    fields = {(d.stream, d.field) for d in differences}
    assert fields == {(topo.events_stream, "max_age_s"), (topo.events_stream, "max_bytes")}


async def test_only_the_named_streams_are_created(nats_server, nats_prefix: str):
    """ensure(streams=, buckets=) touches nothing else (least privilege needs no more)."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await topo.ensure(js, streams=[topo.raw_stream], buckets=["offsets"])
        missing = await topo.missing_streams(js)
        await js.stream_info(f"KV_{topo.bucket('offsets')}")
    finally:
        await nc.close()
    assert topo.raw_stream not in missing
    assert set(missing) == {
        topo.events_stream,
        topo.metrics_stream,
        topo.dead_letter_stream,
        topo.audit_stream,
    }


def test_a_stream_missing_our_subjects_is_a_difference():
    """A stream that no longer captures the pipeline's subjects is reported, not rewritten."""
    topo = Topology("isr")
    wanted = topo.stream_configs()[0]
    existing = StreamConfig(
        name=wanted.name,
        subjects=["isr.raw.alpha"],
        max_age=wanted.max_age,
        max_bytes=-1,
        num_replicas=1,
    )
    assert stream_differences(existing, wanted) == [
        StreamDifference(wanted.name or "", "subjects", ["isr.raw.alpha"], wanted.subjects)
    ]


def test_per_stream_replicas_override_the_default():
    """ISR_STREAM_REPLICAS sets every stream and bucket; a per-stream value wins."""
    retention = StreamSettings(replicas=3, metrics_replicas=1).retention()
    assert retention.raw.replicas == 3
    assert retention.metrics.replicas == 1
    assert retention.kv_replicas == 3


def test_zero_max_bytes_is_refused_naming_the_setting():
    """ISR_STREAM_<S>_MAX_BYTES=0 is a settings error, not a crash when the runtime starts."""
    with pytest.raises(ValidationError, match="raw_max_bytes"):
        StreamSettings(raw_max_bytes=0)
