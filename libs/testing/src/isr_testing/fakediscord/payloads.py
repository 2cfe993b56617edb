"""JSON payloads the fake Discord sends, each the smallest shape hikari 2.7 accepts.

The minimal key sets come from shared/research/hikari-fake-discord.md. hikari does not raise when
a payload lacks a key it needs: it drops the event and reports a KeyError to the loop's exception
handler. ``test_fakediscord_contract.py`` feeds every builder here to hikari's own entity factory,
so a hikari upgrade that needs a new key fails there, loudly, instead of timing out elsewhere.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime
from typing import Any

BOT_ID = 123456789012345678
"""The fake application's bot user id (the token's first segment encodes it)."""
APPLICATION_ID = 223456789012345678
"""The fake application id."""
GUILD_ID = 323456789012345678
"""The guild the fake's interactions and messages come from by default."""
TOKEN = base64.b64encode(str(BOT_ID).encode()).decode() + ".fake.token"
"""A bot token hikari accepts (its first segment is base64 of the bot id)."""

_ids = itertools.count(900000000000000000)


def next_id() -> int:
    """A fresh snowflake, unique within the process."""
    return next(_ids)


def now_iso() -> str:
    """The current time as Discord writes it."""
    return datetime.now(UTC).isoformat()


def user(user_id: int, name: str = "user", *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "avatar": None,
        "global_name": name,
        "bot": bot,
    }


def own_user() -> dict[str, Any]:
    """The bot's own user (READY and ``GET /users/@me``)."""
    return {**user(BOT_ID, "fakebot", bot=True), "mfa_enabled": False, "flags": 0}


def application() -> dict[str, Any]:
    """``GET /oauth2/applications/@me``."""
    return {
        "id": str(APPLICATION_ID),
        "name": "fake",
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(1, "owner"),
        "verify_key": "00" * 32,
        "flags": 0,
        "team": None,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
    }


def gateway_bot(url: str) -> dict[str, Any]:
    """``GET /gateway/bot``: where hikari connects its shard."""
    return {
        "url": url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 1000,
            "reset_after": 14_400_000,
            "max_concurrency": 1,
        },
    }


def ready(session_id: str, resume_url: str) -> dict[str, Any]:
    """READY: the resume URL points back at the fake, never at Discord."""
    return {
        "v": 10,
        "user": own_user(),
        "guilds": [],
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "application": {"id": str(APPLICATION_ID), "flags": 0},
    }


def message(
    channel_id: int, body: dict[str, Any], *, message_id: int | None = None
) -> dict[str, Any]:
    """The message object Discord answers a post with (it echoes content and embeds)."""
    return {
        "id": str(message_id or next_id()),
        "channel_id": str(channel_id),
        "author": own_user(),
        "content": body.get("content") or "",
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body.get("embeds") or [],
        "pinned": False,
        "type": 0,
        "flags": body.get("flags") or 0,
        "nonce": body.get("nonce"),
    }


def attachment(index: int, filename: str, size: int, base_url: str) -> dict[str, Any]:
    """An attachment object; its URLs point at the fake (never at Discord's CDN)."""
    url = f"{base_url}/attachments/{index}/{filename}"
    return {
        "id": str(next_id()),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": "image/png" if filename.endswith(".png") else "application/octet-stream",
    }


def member(user_id: int, name: str, roles: list[int]) -> dict[str, Any]:
    """A guild member (as in interactions and MESSAGE_CREATE)."""
    return {
        "user": user(user_id, name),
        "roles": [str(r) for r in roles],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "permissions": "0",
    }


def interaction(
    *,
    name: str,
    options: list[dict[str, Any]],
    user_id: int,
    user_name: str = "tester",
    roles: list[int] | None = None,
    guild_id: int | None = GUILD_ID,
    channel_id: int = 1,
    autocomplete: bool = False,
    interaction_id: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """INTERACTION_CREATE of a slash command (or its autocomplete); ``guild_id=None`` is a DM."""
    iid = interaction_id or next_id()
    payload: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(APPLICATION_ID),
        "type": 4 if autocomplete else 2,
        "token": token or f"itoken-{iid}",
        "version": 1,
        "channel": {"id": str(channel_id), "type": 0 if guild_id else 1},
        "channel_id": str(channel_id),
        "data": {"id": "1", "name": name, "type": 1, "options": options},
        "locale": "en-US",
        "app_permissions": "0",
        "authorizing_integration_owners": {"0": str(guild_id or 0)},
        "context": 0 if guild_id else 1,
        "attachment_size_limit": 8_388_608,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = member(user_id, user_name, roles or [])
    else:
        payload["user"] = user(user_id, user_name)
    return payload


def message_create(
    *,
    channel_id: int,
    content: str,
    user_id: int,
    user_name: str = "tester",
    guild_id: int = GUILD_ID,
    roles: list[int] | None = None,
    bot: bool = False,
) -> dict[str, Any]:
    """MESSAGE_CREATE of a user's message in a guild text channel."""
    author = user(user_id, user_name, bot=bot)
    return {
        "id": str(next_id()),
        "channel_id": str(channel_id),
        "guild_id": str(guild_id),
        "author": author,
        "member": {k: v for k, v in member(user_id, user_name, roles or []).items() if k != "user"},
        "content": content,
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }


def application_command(body: dict[str, Any], *, guild_id: int | None) -> dict[str, Any]:
    """A registered command object, echoing what was sent."""
    command = {
        "id": str(next_id()),
        "application_id": str(APPLICATION_ID),
        "version": str(next_id()),
        "type": body.get("type", 1),
        "name": body["name"],
        "description": body.get("description", ""),
        "default_member_permissions": body.get("default_member_permissions"),
        "options": body.get("options", []),
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types", [0]),
        "nsfw": body.get("nsfw", False),
    }
    if guild_id is not None:
        command["guild_id"] = str(guild_id)
    return command


def error(message: str, code: int) -> dict[str, Any]:
    """An error body (hikari maps the status to its exception types)."""
    return {"message": message, "code": code}
