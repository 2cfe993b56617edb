"""`isr rcon-poller` as real processes: samples flow, and a SIGKILLed holder is replaced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from common.contracts import MetricSample
from common.topology import Topology
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for
from simulator import ServerSettings, SimulatedServer

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PASSWORD = "process-test-pw"


async def test_takeover_within_15_s_after_sigkill(
    tmp_path: Path, nats_server: Any, nats_prefix: str
):
    """Two `isr rcon-poller` processes: after SIGKILL of the holder, the other samples in < 15 s."""
    settings = ServerSettings(
        log_path=tmp_path / "console.log", rcon_port=0, rcon_password=PASSWORD
    )
    async with SimulatedServer(settings) as sim:
        sim.add_player("a")
        config = tmp_path / "config"
        config.mkdir()
        (config / "servers.yml").write_text(
            f"servers:\n  srv:\n    log_path: {tmp_path / 'console.log'}\n"
            f"    rcon:\n      port: {sim.rcon_port}\n      password_env: SIM_PW\n"
            "    metrics:\n      interval_s: 0.5\n"
        )
        env = {
            "ISR_NATS_URL": nats_server.url,
            "ISR_PREFIX": nats_prefix,
            "ISR_CONFIG_DIR": str(config),
            "ISR_HEALTH_ENABLED": "false",
            "ISR_LOG_FORMAT": "json",
            "SIM_PW": PASSWORD,
        }
        procs = [
            ServiceProcess(
                name, ["rcon-poller"], env | {"ISR_RCON_POLLER_INSTANCE_ID": name}, tmp_path
            ).start()
            for name in ("p1", "p2")
        ]
        nc = await nats.connect(nats_server.url)
        samples: list[MetricSample] = []

        async def on_metric(msg: Any) -> None:
            samples.append(MetricSample.from_json(msg.data, strict=True))

        topology = Topology(nats_prefix)
        sub = None
        try:
            sub = await wait_for(
                lambda: nc.jetstream().subscribe(
                    topology.metrics_subject("srv"),
                    cb=on_metric,
                    ordered_consumer=True,
                    config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
                ),
                timeout_s=30,
                what="the metrics stream",
            )
            await wait_for(lambda: len(samples) >= 4, timeout_s=30, what="samples")
            holder = next(p for p in procs if '"server_taken"' in p.output())
            other = next(p for p in procs if p is not holder)

            holder.kill()
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await wait_for(
                lambda: '"server_taken"' in other.output(), timeout_s=20, what="takeover"
            )
            seen = len(samples)
            await wait_for(lambda: len(samples) > seen, timeout_s=5, what="samples again")

            assert loop.time() - killed_at < 15
            assert other.terminate() == 0
            assert '"server_released"' in other.output()
        finally:
            if sub is not None:
                await sub.unsubscribe()
            await nc.close()
            for proc in procs:
                proc.terminate()
