"""The one place the bot meets hikari: the bot factory, Post → request, the rate-limit guard.

Every REST request (posts, interaction answers, follow-ups, command registration) goes through
the guard :func:`install_rate_guard` puts under hikari's HTTP session.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import aiohttp
import hikari
import structlog

from bot.rate_guard import RateLimitGuard, read_429, route_of
from bot.render import EmbedSpec, Post
from bot.settings import BotSettings
from common.metric_names import Metric
from common.telemetry import counter

log = structlog.get_logger()

BASE_INTENTS = hikari.Intents.GUILDS
"""Enough for slash commands and presence (interactions need no intent)."""
BRIDGE_INTENTS = hikari.Intents.GUILD_MESSAGES | hikari.Intents.MESSAGE_CONTENT
"""Added only when a server enables the chat bridge; Message Content is privileged."""


def create_bot(settings: BotSettings, *, token: str, bridge: bool) -> hikari.GatewayBot:
    """The GatewayBot, talking to ``settings.discord.api_url`` (the fake Discord in tests)."""
    return hikari.GatewayBot(
        token,
        rest_url=settings.discord.api_url,
        intents=BASE_INTENTS | BRIDGE_INTENTS if bridge else BASE_INTENTS,
        banner=None,
        logs=None,
        suppress_optimization_warning=True,
    )


ATTACHMENT_SCHEME = "attachment://"


def to_embed(spec: EmbedSpec, files: Mapping[str, bytes] | None = None) -> hikari.Embed:
    """A hikari embed from an :class:`EmbedSpec`.

    An ``attachment://<name>`` image is uploaded from ``files[name]`` with the message (hikari
    turns an embed's resource into an attachment and references it).
    """
    embed = hikari.Embed(
        title=spec.title,
        description=spec.description or None,
        color=spec.color,
        timestamp=spec.timestamp,
    )
    for field in spec.fields:
        embed.add_field(field.name, field.value, inline=field.inline)
    if spec.footer:
        embed.set_footer(spec.footer)
    if spec.image and spec.image.startswith(ATTACHMENT_SCHEME):
        name = spec.image.removeprefix(ATTACHMENT_SCHEME)
        embed.set_image(hikari.Bytes((files or {})[name], name))
    elif spec.image:
        embed.set_image(spec.image)
    return embed


async def create_message(
    rest: hikari.api.RESTClient, channel_id: int, post: Post, *, nonce: str | None
) -> hikari.Message:
    """Post ``post`` with explicit allowed mentions: only its own user and role ids may ping.

    With a nonce, hikari sets ``enforce_nonce``: a retried request returns the first message
    instead of creating a second one.
    """
    attachments = [hikari.Bytes(data, name) for name, data in post.files]
    return await rest.create_message(
        channel_id,
        post.content or hikari.UNDEFINED,
        embeds=[to_embed(e) for e in post.embeds] or hikari.UNDEFINED,
        attachments=attachments or hikari.UNDEFINED,
        nonce=nonce or hikari.UNDEFINED,
        mentions_everyone=False,
        mentions_reply=False,
        user_mentions=list(post.user_ids) if post.user_ids else False,
        role_mentions=list(post.role_ids) if post.role_ids else False,
    )


def rate_guard_trace(
    guard: RateLimitGuard, *, clock: Callable[[], float] = time.monotonic
) -> aiohttp.TraceConfig:
    """Aiohttp hooks that hold each request for the global limit and watch every 429.

    They run inside hikari's own request loop, before each attempt goes out and when its answer
    arrives, so hikari's immediate retries wait too (see :mod:`bot.rate_guard`).
    """
    limited_counter = counter(Metric.DISCORD_RATE_LIMITED)

    async def on_start(
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        authenticated = "Authorization" in params.headers
        # Re-checked after each wait: a later global 429 may have moved the time on.
        while (wait_s := guard.delay_s(authenticated=authenticated, now=clock())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait_s)  # the wait Discord asked for, not synchronisation

    async def on_end(
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        route = route_of(params.method, params.url.path)
        authenticated = "Authorization" in params.headers
        if response.status != 429:
            for ended in guard.on_answer(route, authenticated=authenticated, now=clock()):
                log.info(
                    "discord_rate_limit_ended",
                    scope=ended.scope,
                    route=ended.route,
                    responses_429=ended.responses_429,
                    lasted_s=round(ended.lasted_s, 3),
                )
            return
        try:
            # read() keeps the body, so hikari reads the same bytes after this hook.
            body = json.loads(await response.read())
        except (ValueError, aiohttp.ClientError):
            body = None
        limited = read_429(response.headers, body)
        limited_counter.add(1, {"scope": limited.scope, "route": route})
        started = guard.on_429(route, limited, authenticated=authenticated, now=clock())
        if started is not None:
            log.warning(
                "discord_rate_limited",
                scope=started.scope,
                route=started.route,
                retry_after_s=started.retry_after_s,
            )

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.freeze()
    return trace


def install_rate_guard(
    bot: hikari.GatewayBot, guard: RateLimitGuard | None = None
) -> RateLimitGuard:
    """Put the guard under every REST request of a started bot (one HTTP session: ``bot.rest``).

    Posts, interaction answers, follow-ups and command registration all use that session.

    Raises:
        RuntimeError: the bot is not started (hikari creates its HTTP session in ``start``).
    """
    guard = guard or RateLimitGuard()
    # hikari 2.7 has no public hook for its HTTP session; the attribute is checked here and by
    # tests/test_bot_ratelimits.py, so a hikari upgrade that renames it fails loudly.
    session = getattr(bot.rest, "_client_session", None)
    if not isinstance(session, aiohttp.ClientSession):
        msg = "install_rate_guard: the bot's REST client has no HTTP session (start the bot first)"
        raise RuntimeError(msg)  # noqa: TRY004 - a lifecycle error, not a caller's wrong type
    session.trace_configs.append(rate_guard_trace(guard))
    return guard
