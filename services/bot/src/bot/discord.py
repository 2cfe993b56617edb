"""The one place the bot meets hikari: the bot factory and the Post → request translation."""

from __future__ import annotations

from collections.abc import Mapping

import hikari

from bot.render import EmbedSpec, Post
from bot.settings import BotSettings

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
