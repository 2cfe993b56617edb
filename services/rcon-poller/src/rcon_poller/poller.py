"""The replica: which servers it works, and starting and stopping their workers.

Every ``lease_check_interval_s`` :class:`Poller` renews the leases it holds (every ttl/3),
stops the worker of any lease it lost or could not renew in time, and tries to take the
leases of configured servers nobody holds. For each server it takes it loads the alert state,
starts the presence feed, the sampling loop and the command subscription. A reloaded
``servers.yml`` is applied to running workers at once; servers that left the config (or lost
RCON) are stopped and their leases released.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from common.backoff import sleep_until_stop
from common.config import IsrConfig, ServerConfig
from common.internal_errors import report_internal_error
from common.topology import Topology
from rcon_poller.command_service import CommandHandler
from rcon_poller.lease import LeaseKeeper
from rcon_poller.presence import PresenceFeed
from rcon_poller.settings import PollerSettings
from rcon_poller.worker import ServerWorker

log = structlog.get_logger()

_STOP_GRACE_S = 5.0


@dataclass
class _Running:
    worker: ServerWorker
    presence: PresenceFeed
    handler: CommandHandler
    subscription: Subscription
    stop: asyncio.Event
    task: asyncio.Task[None]
    ready_task: asyncio.Task[None] | None = None
    renewed_at_s: float = field(default_factory=time.monotonic)


class Poller:
    """Owns the workers of the servers whose leases this replica holds."""

    def __init__(
        self,
        nc: NatsClient,
        js: JetStreamContext,
        topology: Topology,
        config: IsrConfig,
        settings: PollerSettings,
        *,
        lease_kv: KeyValue,
        alert_kv: KeyValue,
    ) -> None:
        self._nc = nc
        self._js = js
        self._topology = topology
        self._config = config
        self._settings = settings
        self._alert_kv = alert_kv
        self.leases = LeaseKeeper(lease_kv, settings.instance_id, ttl_s=settings.lease_ttl_s)
        self.running: dict[str, _Running] = {}
        self.last_round_s = time.monotonic()

    def servers(self) -> dict[str, ServerConfig]:
        """Configured servers that have RCON."""
        return {tag: s for tag, s in self._config.servers.items() if s.rcon is not None}

    async def apply_config(self, config: IsrConfig) -> None:
        """Switch to a reloaded config."""
        self._config = config
        wanted = self.servers()
        for tag in list(self.running):
            if tag not in wanted:
                log.info("server_removed", server=tag)
                await self._stop_worker(tag, release=True)
            else:
                await self.running[tag].worker.update_config(wanted[tag])

    async def run(self, stop: asyncio.Event) -> None:
        """Keep leases and workers until ``stop``; then stop every worker and release."""
        try:
            while not stop.is_set():
                try:
                    await self.round()
                except Exception as exc:
                    report_internal_error(exc, "rcon-poller lease round")
                await sleep_until_stop(stop, self._settings.lease_check_interval_s)
        finally:
            for tag in list(self.running):
                await self._stop_worker(tag, release=True)

    async def round(self) -> None:
        """One pass: renew, drop lost leases, take free ones."""
        self.last_round_s = now_s = time.monotonic()
        renew_every_s = self._settings.lease_ttl_s / 3
        for tag, running in list(self.running.items()):
            if now_s - running.renewed_at_s >= renew_every_s:
                try:
                    is_renewed = await self.leases.renew(tag)
                except Exception as exc:  # NATS unreachable: keep trying until the lease lapses
                    log.warning("lease_renew_failed", server=tag, error=repr(exc))
                    is_renewed = False
                if is_renewed:
                    running.renewed_at_s = time.monotonic()
            if not self.leases.holds(tag):
                log.warning("lease_lost", server=tag)
                await self._stop_worker(tag, release=False)
        for tag, server in self.servers().items():
            if tag in self.running:
                continue
            try:
                is_taken = await self.leases.try_acquire(tag)
            except Exception as exc:
                log.warning("lease_acquire_failed", server=tag, error=repr(exc))
                continue
            if is_taken:
                await self._start_worker(tag, server)

    async def _start_worker(self, tag: str, server: ServerConfig) -> None:
        worker = ServerWorker(
            tag,
            server,
            js=self._js,
            topology=self._topology,
            alert_kv=self._alert_kv,
            settings=self._settings,
        )
        await worker.load_state()
        presence = PresenceFeed(self._js, self._topology, tag, worker.reconciler)
        await presence.start()
        handler = CommandHandler(worker, js=self._js, topology=self._topology)
        subscription = await self._nc.subscribe(
            self._topology.rcon_filter(tag),
            queue=self._settings.queue_group,
            cb=handler.on_message,
        )
        stop = asyncio.Event()
        running = _Running(
            worker=worker,
            presence=presence,
            handler=handler,
            subscription=subscription,
            stop=stop,
            task=asyncio.create_task(worker.run(stop), name=f"poll-{tag}"),
        )

        async def mark_ready() -> None:
            await presence.ready.wait()
            worker.is_presence_ready = True

        running.ready_task = asyncio.create_task(mark_ready())
        self.running[tag] = running
        log.info("server_taken", server=tag, poller=self._settings.instance_id)

    async def _stop_worker(self, tag: str, *, release: bool) -> None:
        running = self.running.pop(tag, None)
        if running is None:
            return
        running.stop.set()
        with contextlib.suppress(Exception):
            await running.subscription.unsubscribe()
        # A sample in hand finishes; one stuck publishing while NATS is away is cancelled so
        # the other servers' leases keep being renewed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.task, _STOP_GRACE_S)
        if running.ready_task is not None:
            running.ready_task.cancel()
        await running.handler.drain()
        await running.presence.stop()
        await running.worker.close()
        if release:
            try:
                await self.leases.release(tag)
            except Exception as exc:  # it lapses by itself after the ttl
                log.warning("lease_release_failed", server=tag, error=repr(exc))
        else:
            self.leases.forget(tag)
        log.info("server_released", server=tag, poller=self._settings.instance_id)
