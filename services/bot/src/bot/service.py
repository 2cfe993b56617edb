"""The bot service: one hikari gateway session, the relay, stats, presence, commands, bridge."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from typing import Any

import hikari
import structlog

from bot.bridge import Bridge
from bot.commands.handler import CommandHandler
from bot.commands.table import command_tree
from bot.discord import create_bot, create_message, install_rate_guard
from bot.mentions import MENTIONS_FILE, MentionResolver, MentionsConfig, load_mentions
from bot.monitor import MetricsWatch, presence_loop, stats_loop
from bot.relay import PostRejected, Relay
from bot.render import Post
from bot.settings import BotSettings
from common.config import ConfigWatcher, IsrConfig, load_config
from common.dead_letters import DeadLetters
from common.runtime import ServiceRuntime

log = structlog.get_logger()


class _Holder:
    """The current config, replaced on every valid reload."""

    def __init__(self, config: IsrConfig, mentions: MentionsConfig) -> None:
        self.config = config
        self.mentions = MentionResolver(mentions, time.monotonic)


def _poster(bot: hikari.GatewayBot) -> object:
    async def post(channel_id: int, post: Post, nonce: str | None) -> None:
        try:
            await create_message(bot.rest, channel_id, post, nonce=nonce)
        except hikari.ClientHTTPResponseError as exc:
            if exc.status == 429:
                raise
            raise PostRejected(channel_id, int(exc.status), exc.message or str(exc)) from exc

    return post


async def _register_commands(bot: hikari.GatewayBot, config: IsrConfig) -> None:
    application = await bot.rest.fetch_application()
    builders = [_builder(bot, command) for command in command_tree()]
    for guild_id in config.discord.guild_ids:
        await bot.rest.set_application_commands(application.id, builders, guild=guild_id)
        log.info("commands_registered", guild=guild_id, commands=len(builders))


def _builder(bot: hikari.GatewayBot, command: dict[str, object]) -> hikari.api.SlashCommandBuilder:
    builder = bot.rest.slash_command_builder(str(command["name"]), str(command["description"]))
    builder.set_context_types([hikari.ApplicationContextType.GUILD])
    builder.set_integration_types([hikari.ApplicationIntegrationType.GUILD_INSTALL])
    for sub in command["options"]:  # type: ignore[attr-defined]
        options = [
            hikari.CommandOption(
                type=hikari.OptionType(o["type"]),
                name=o["name"],
                description=o["description"],
                is_required=o["required"],
                choices=[
                    hikari.CommandChoice(name=c["name"], value=c["value"]) for c in o["choices"]
                ]
                if "choices" in o
                else None,
                autocomplete=o.get("autocomplete", False),
                min_value=o.get("min_value"),
                max_value=o.get("max_value"),
                max_length=o.get("max_length"),
            )
            for o in sub["options"]
        ]
        builder.add_option(
            hikari.CommandOption(
                type=hikari.OptionType.SUB_COMMAND,
                name=sub["name"],
                description=sub["description"],
                options=options,
            )
        )
    return builder


async def run(settings: BotSettings, *, stop: asyncio.Event | None = None) -> None:
    """Run the bot until SIGTERM/SIGINT (or ``stop``, for in-process tests and benchmarks).

    Posts in flight finish; held events are nak'ed for prompt redelivery.

    Raises:
        ValueError: no usable Discord token.
        common.config.ConfigError: servers.yml or mentions.yml is invalid at start.
    """
    token = settings.discord.resolved_token()
    config_dir = settings.runtime.pipeline.config_dir
    # The bot asks the rcon-poller for RCON operations and never sends an RCON password, so it
    # checks the RCON secret references for shape only: its pod gets no RCON password at all.
    holder = _Holder(load_config(config_dir, resolve_secrets=False), load_mentions(config_dir))
    runtime = ServiceRuntime(
        "bot", settings.runtime, configure_logging=stop is None, handle_signals=stop is None
    )
    async with runtime as rt:
        if stop is not None:
            asyncio.get_running_loop().create_task(_forward(stop, rt.stop))
        topo = rt.topology
        # ServiceRuntime created every bucket of topology.BUCKETS on entry.
        relay_kv = await rt.js.key_value(topo.bucket("relay"))
        user_context = await rt.js.key_value(topo.bucket("user_context"))
        await topo.ensure_consumer(
            rt.js, topo.events_stream, settings.durable, policy=settings.consumer
        )
        has_bridge = any(s.bridge.enabled for s in holder.config.servers.values())
        bot = create_bot(settings, token=token, bridge=has_bridge)
        watch = MetricsWatch()
        commands = CommandHandler(
            rt.nc,
            rt.js,
            topo,
            config=lambda: holder.config,
            user_context=user_context,
            watch=watch,
            timeout_s=settings.command_timeout_s,
            operation_timeouts_s={"save": settings.save_timeout_s},
        )
        bot.subscribe(hikari.InteractionCreateEvent, commands.on_interaction)
        bridge = Bridge(
            rt.nc,
            topo,
            config=lambda: holder.config,
            marker=settings.runtime.pipeline.bridge_marker,
            timeout_s=settings.command_timeout_s,
        )
        if has_bridge:
            bot.subscribe(hikari.GuildMessageCreateEvent, bridge.on_message)
        await bot.start(check_for_updates=False)
        install_rate_guard(bot)
        rt.health.add_check("discord", lambda: _check_discord(bot))
        try:
            if settings.register_commands:
                await _register_commands(bot, holder.config)
            await watch.follow(rt.js, topo, list(holder.config.servers))

            async def on_config(new: IsrConfig) -> None:
                holder.config = new
                await watch.follow(rt.js, topo, list(new.servers))
                log.info("config_reloaded", servers=list(new.servers))

            async def on_mentions(new: MentionsConfig) -> None:
                holder.mentions = MentionResolver(new, time.monotonic)
                log.info("mentions_reloaded")

            poster = _poster(bot)
            relay = Relay(
                rt.nc,
                DeadLetters(rt.js, topo, "bot"),
                stream=topo.events_stream,
                durable=settings.durable,
                consumer=settings.consumer,
                poster=poster,  # type: ignore[arg-type]
                kv=relay_kv,
                config=lambda: holder.config,
                mentions=lambda: holder.mentions,
                embed_kinds=settings.embed_kinds,
                reorder_window_s=settings.reorder_window_s,
                batch_size=settings.batch_size,
                max_buffered=settings.max_buffered,
                recovery_wait_s=settings.recovery_wait_s,
            )

            async def set_presence(text: str) -> None:
                await bot.update_presence(
                    activity=hikari.Activity(name=text, type=hikari.ActivityType.WATCHING)
                )

            async with asyncio.TaskGroup() as tasks:
                watchers: list[ConfigWatcher[Any]] = [
                    ConfigWatcher(
                        config_dir, on_config, resolve_secrets=False, current=holder.config
                    ),
                    ConfigWatcher(
                        config_dir,
                        on_mentions,
                        load=load_mentions,
                        patterns=(MENTIONS_FILE,),
                        current=holder.mentions.config,
                    ),
                ]
                watcher_tasks = [tasks.create_task(w.run()) for w in watchers]
                tasks.create_task(relay.run(rt.stop))
                tasks.create_task(stats_loop(lambda: holder.config, watch, poster, rt.stop))  # type: ignore[arg-type]
                tasks.create_task(
                    presence_loop(lambda: holder.config, watch, set_presence, rt.stop)
                )
                await rt.stop.wait()
                for task in watcher_tasks:
                    task.cancel()
        finally:
            await watch.close()
            await bot.close()


async def _forward(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def _check_discord(bot: hikari.GatewayBot) -> str | None:
    # heartbeat_latency is NaN until the shard has a live, acknowledged connection.
    return None if bot.is_alive and not math.isnan(bot.heartbeat_latency) else "gateway down"


def print_commands(out: object = sys.stdout) -> int:
    """``isr bot commands --json``: the exact command tree the bot registers."""
    json.dump(command_tree(), out, indent=2, ensure_ascii=False)  # type: ignore[arg-type]
    out.write("\n")  # type: ignore[attr-defined]
    return 0


def main(args: argparse.Namespace | None = None) -> int:
    """Entry point used by ``isr bot``."""
    if args is not None and getattr(args, "action", None) == "commands":
        return print_commands()
    from common.config import ConfigError  # noqa: PLC0415
    from common.settings_errors import settings_or_exit  # noqa: PLC0415

    settings = settings_or_exit(BotSettings, program="isr bot")
    try:
        asyncio.run(run(settings))
    except ValueError as exc:
        sys.stderr.write(f"isr bot: {exc}\n")
        return 2
    except ConfigError as exc:
        sys.stderr.write(f"isr bot: {exc}\n")
        return 1
    return 0
