"""Running the real bot against the fake Discord: config files and an in-process runner."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from isr_testing.fakediscord import payloads
from isr_testing.fakediscord.server import FakeDiscord


def write_config(config_dir: Path, servers: Mapping[str, Mapping[str, Any]], **top: Any) -> Path:
    """Write ``servers.yml`` with ``servers`` and top-level keys (default guild: the fake's)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    document = {"discord": {"guild_ids": [payloads.GUILD_ID]}, **top, "servers": dict(servers)}
    (config_dir / "servers.yml").write_text(json.dumps(document, indent=2))
    return config_dir


def bot_env(fake: FakeDiscord, *, nats_url: str, prefix: str, config_dir: Path) -> dict[str, str]:
    """The environment of ``isr bot`` pointed at the fake Discord."""
    return {
        "ISR_NATS_URL": nats_url,
        "ISR_PREFIX": prefix,
        "ISR_CONFIG_DIR": str(config_dir),
        "ISR_DISCORD_TOKEN": payloads.TOKEN,
        "ISR_DISCORD_API_URL": fake.rest_url,
        "ISR_HEALTH_PORT": "0",
        "ISR_LOG_FORMAT": "json",
    }


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    *,
    nats_url: str,
    prefix: str,
    config_dir: Path,
    nats_settings: Any = None,
    **overrides: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``bot.service.run`` in this loop until the block ends (READY awaited first).

    ``nats_settings`` (a ``NatsSettings``) replaces the plain ``nats_url`` connection, e.g.
    to sign the bot in with its own credentials on a secured server.
    """
    from bot.service import run  # noqa: PLC0415
    from bot.settings import BotSettings, DiscordSettings  # noqa: PLC0415
    from common.settings import (  # noqa: PLC0415
        HealthSettings,
        NatsSettings,
        PipelineSettings,
        RuntimeSettings,
    )

    settings = BotSettings(
        runtime=RuntimeSettings(
            pipeline=PipelineSettings(prefix=prefix, config_dir=config_dir),
            nats=nats_settings if nats_settings is not None else NatsSettings(url=nats_url),
            health=HealthSettings(enabled=False),
        ),
        discord=DiscordSettings(token=payloads.TOKEN, api_url=fake.rest_url),
        **overrides,
    )
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(run(settings, stop=stop))
    identified = fake.identifies
    await fake.wait_until(
        lambda: fake.identifies > identified or task.done(), timeout_s=15, what="the bot's IDENTIFY"
    )
    if task.done():
        task.result()
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
