"""Parser worker: one durable pull consumer shared by every worker, plus pattern hot reload."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from common.config import SERVERS_FILE, ConfigWatcher, IsrConfig, load_config
from common.config.errors import ConfigError, ConfigIssue
from common.contracts import RawLineBatch
from common.dead_letters import DeadLetters
from common.intake import Intake, PullOptions
from common.runtime import ServiceRuntime
from parser.handlers import ParseHandler, invalid_patterns_alert, publish_alert
from parser.log_time import ServerClocks
from parser.patterns.loader import load_patterns
from parser.reloader import PatternHolder, PatternReloader
from parser.settings import ParserSettings

log = structlog.get_logger()


def _decode(data: bytes, subject: str) -> RawLineBatch:
    return RawLineBatch.from_json(data, subject=subject)


def _load_servers(config_dir: Path) -> IsrConfig:
    # The parser needs each server's log_timezone, never a secret.
    return load_config(config_dir, resolve_secrets=False)


async def _watch_until(watcher: ConfigWatcher[IsrConfig], stop: asyncio.Event) -> None:
    task = asyncio.create_task(watcher.run())
    try:
        await stop.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _zones(config: IsrConfig) -> dict[str, str]:
    return {tag: server.log_timezone for tag, server in config.servers.items()}


async def run(settings: ParserSettings) -> None:
    """Parse raw batches into events until SIGTERM/SIGINT, then finish the batch in hand.

    Raises:
        ConfigError: the pattern files or servers.yml are invalid at start (every problem
            listed).
    """
    config_dir = settings.runtime.pipeline.config_dir
    first = load_patterns(config_dir, packs=settings.packs)
    if first.patterns is None:
        raise ConfigError(first.issues)
    holder = PatternHolder(first.patterns)
    clocks = ServerClocks()
    watcher: ConfigWatcher[IsrConfig] | None = None
    if (config_dir / SERVERS_FILE).exists():
        servers = _load_servers(config_dir)
        clocks.update(_zones(servers))

        async def on_servers(config: IsrConfig) -> None:
            clocks.update(_zones(config))

        watcher = ConfigWatcher(
            config_dir,
            on_servers,
            load=_load_servers,
            patterns=(SERVERS_FILE,),
            interval_s=settings.reload_interval_s,
            current=servers,
        )
    else:
        # A parser needs servers.yml only for each server's log_timezone: without it every
        # log's dates are read as UTC (the default), as before log_timezone existed.
        log.warning("servers_file_missing", path=str(config_dir / SERVERS_FILE), log_timezone="UTC")
    async with ServiceRuntime("parser", settings.runtime) as rt:
        log.info("patterns_loaded", patterns=len(first.patterns), files=list(first.files))
        topo = rt.topology

        async def on_invalid(issues: Sequence[ConfigIssue]) -> None:
            await publish_alert(rt.js, topo, invalid_patterns_alert(issues, now=datetime.now(UTC)))

        reloader = PatternReloader(
            holder,
            config_dir=config_dir,
            packs=settings.packs,
            on_invalid=on_invalid,
            interval_s=settings.reload_interval_s,
        )
        await topo.ensure_consumer(
            rt.js, topo.raw_stream, settings.durable, policy=settings.consumer
        )
        intake = Intake(
            rt.nc,
            DeadLetters(rt.js, topo, "parser"),
            stream=topo.raw_stream,
            durable=settings.durable,
            decode=_decode,
            consumer=settings.consumer,
            # Several pull loops per process: while one waits for its events' acknowledgements
            # the next batch is already being parsed (the CPU would idle otherwise).
            pull=PullOptions(batch_size=settings.batch_size, loops=settings.concurrency),
        )
        handler = ParseHandler(
            rt.js,
            topo,
            holder,
            bridge_marker=settings.runtime.pipeline.bridge_marker,
            event_batch_max=settings.event_batch_max,
            clocks=clocks,
        )
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(reloader.run(rt.stop))
            if watcher is not None:
                tasks.create_task(_watch_until(watcher, rt.stop))
            tasks.create_task(intake.run(handler, rt.stop))
