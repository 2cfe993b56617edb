"""The rcon-poller service: leases, per-server polling and the command subject, until SIGTERM."""

from __future__ import annotations

import asyncio
import time

import structlog

from common.config import ConfigWatcher, load_config
from common.runtime import ServiceRuntime
from rcon_poller.poller import Poller
from rcon_poller.settings import PollerSettings

log = structlog.get_logger()

_STALLED_ROUNDS = 5


async def run(settings: PollerSettings) -> None:
    """Poll every server whose lease this replica gets, until SIGTERM/SIGINT.

    On stop, every worker finishes its sample in hand, in-flight requests are answered and
    the leases are released so another replica takes over at once.

    Raises:
        ConfigError: servers.yml is invalid at start (every problem listed).
    """
    config_dir = settings.runtime.pipeline.config_dir
    config = load_config(config_dir)  # resolved passwords are registered for redaction
    async with ServiceRuntime("rcon-poller", settings.runtime) as rt:
        topo = rt.topology
        poller = Poller(
            rt.nc,
            rt.js,
            topo,
            config,
            settings,
            lease_kv=await rt.js.key_value(topo.bucket("leases")),
            alert_kv=await rt.js.key_value(topo.bucket("alert_state")),
        )

        async def check_leases() -> str | None:
            loop_age_s = time.monotonic() - poller.last_round_s
            limit_s = _STALLED_ROUNDS * settings.lease_check_interval_s + settings.lease_ttl_s
            return f"lease loop stalled for {loop_age_s:.0f} s" if loop_age_s > limit_s else None

        rt.health.add_check("leases", check_leases)
        log.info(
            "poller_started",
            instance_id=settings.instance_id,
            servers=sorted(poller.servers()),
        )
        watcher = ConfigWatcher(
            config_dir, poller.apply_config, current=config, interval_s=settings.reload_interval_s
        )
        watch_task = asyncio.create_task(watcher.run())
        try:
            await poller.run(rt.stop)
        finally:
            watch_task.cancel()
            await asyncio.gather(watch_task, return_exceptions=True)
