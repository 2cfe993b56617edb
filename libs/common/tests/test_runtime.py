import asyncio

import aiohttp
import pytest

from common.runtime import ServiceRuntime
from common.settings import HealthSettings, NatsSettings, PipelineSettings, RuntimeSettings
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats


def _settings(url: str, prefix: str) -> RuntimeSettings:
    return RuntimeSettings(
        pipeline=PipelineSettings(prefix=prefix),
        nats=NatsSettings(url=url, reconnect_wait_s=0.2),
        health=HealthSettings(port=0),
    )


async def _status(port: int) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/readyz") as resp,
    ):
        return resp.status, await resp.json()


class TestServiceRuntime:
    async def test_creates_streams_and_buckets(self, nats_server, nats_prefix: str):
        """Entering the runtime declares every stream and KV bucket under the prefix."""
        settings = _settings(nats_server.url, nats_prefix)

        async with ServiceRuntime(
            "t", settings, configure_logging=False, handle_signals=False
        ) as rt:
            missing = await rt.topology.missing_streams(rt.js)
            kv = await rt.js.key_value(rt.topology.bucket("offsets"))

        assert missing == []
        assert kv is not None

    async def test_readyz_follows_nats_going_away_and_coming_back(
        self, private_nats_server, nats_prefix: str
    ):
        """/readyz turns 503 naming nats within 5 s of nats-server stopping, and 200 after."""
        settings = _settings(private_nats_server.url, nats_prefix)

        async with ServiceRuntime(
            "t", settings, configure_logging=False, handle_signals=False
        ) as rt:
            port = rt.health.bound_port
            assert port is not None
            assert (await _status(port))[0] == 200

            await asyncio.to_thread(private_nats_server.stop)
            status, body = await wait_for(
                lambda: _not_ready(port), timeout_s=5, what="503 from /readyz"
            )
            assert status == 503
            assert "nats" in body["failing"]

            await asyncio.to_thread(private_nats_server.start)
            await wait_for(lambda: _ready(port), timeout_s=15, what="200 from /readyz")

    async def test_healthz_is_alive_regardless(self, private_nats_server, nats_prefix: str):
        """/healthz answers 200 even while dependencies are down."""
        settings = _settings(private_nats_server.url, nats_prefix)

        async with ServiceRuntime(
            "t", settings, configure_logging=False, handle_signals=False
        ) as rt:
            await asyncio.to_thread(private_nats_server.stop)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{rt.health.bound_port}/healthz") as resp,
            ):
                status = resp.status
            await asyncio.to_thread(private_nats_server.start)

        assert status == 200


async def _not_ready(port: int) -> tuple[int, dict] | None:
    status, body = await _status(port)
    return (status, body) if status == 503 else None


async def _ready(port: int) -> bool:
    return (await _status(port))[0] == 200
