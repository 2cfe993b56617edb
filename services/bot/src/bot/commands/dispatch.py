"""Deciding what to do with one command invocation (pure): refuse it, or run it.

The checks run in this order, each with its own specific message:

1. the command exists; it comes from a guild (never a DM) on the ``discord.guild_ids`` list;
2. the target server: the ``server`` option, else the user's default from ``connect``, else
   the first server in servers.yml; it must exist (and have RCON for RCON commands);
3. permission: the user has a role listed for the command's class on that server
   (``query`` null = everyone; ``admin``/``danger`` empty = nobody); then, for RCON
   commands, the server must have RCON;
4. arguments: turned into the allow-listed request, whose contract rejects bad values;
5. cooldown: per user, server and class, with that server's limits. A refused or invalid
   command does not use up the cooldown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.commands.table import BadArgument, CommandSpec, PermClass, find
from bot.ratelimit import SlidingWindowLog, whole_seconds
from common.config import IsrConfig, ServerConfig
from common.contracts import rcon


@dataclass(frozen=True, slots=True)
class Invocation:
    """What Discord told us about one slash command."""

    root: str
    name: str
    args: Mapping[str, Any]
    user_id: int
    role_ids: frozenset[int] = field(default_factory=frozenset)
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """The command is not run; ``message`` is shown to the user only."""

    title: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The command may run against ``server``; ``request`` is its RCON request (if any)."""

    spec: CommandSpec
    server: str
    request: rcon.RconRequestBase | None = None


def is_allowed(server: ServerConfig, perm: PermClass, role_ids: frozenset[int]) -> bool:
    """Whether a member with ``role_ids`` may run commands of class ``perm`` on ``server``."""
    if perm is PermClass.NONE:
        return True
    if perm is PermClass.QUERY:
        allowed = server.permissions.query
        return allowed is None or bool(role_ids.intersection(allowed))
    roles = server.permissions.admin if perm is PermClass.ADMIN else server.permissions.danger
    return bool(role_ids.intersection(roles))


def resolve_server(
    config: IsrConfig, requested: str | None, default: str | None
) -> tuple[str | None, str | None]:
    """(server tag, None) or (None, why not)."""
    if requested:
        tag = requested.strip().lower()
        if tag in config.servers:
            return tag, None
        known = ", ".join(config.servers)
        return None, f"There is no server `{tag[:40]}`. Known servers: {known}."
    if default in config.servers:
        return default, None
    return next(iter(config.servers)), None


def summarise_validation(exc: ValidationError) -> str:
    """The first problems of a rejected request, in words for users."""
    parts = []
    for error in exc.errors()[:3]:
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def plan(  # noqa: PLR0911 - one return per check, in order
    invocation: Invocation,
    config: IsrConfig,
    *,
    default_server: str | None,
    cooldowns: SlidingWindowLog,
    now: float,
) -> Plan | Refusal:
    """Check an invocation (see the module doc) and say what to run, or why not."""
    spec = find(invocation.root, invocation.name)
    if spec is None:
        return Refusal(
            "❌ Unknown command", f"/{invocation.root} {invocation.name} does not exist."
        )
    if invocation.guild_id is None:
        return Refusal("❌ Not here", "Commands work only in a server's channels, not in DMs.")
    if invocation.guild_id not in config.discord.guild_ids:
        return Refusal("❌ Not here", "This Discord server is not allowed to use this bot.")
    requested = invocation.args.get("server")
    tag, problem = resolve_server(config, str(requested) if requested else None, default_server)
    if tag is None:
        return Refusal("❌ Unknown server", problem or "")
    server = config.servers[tag]
    if not is_allowed(server, spec.perm, invocation.role_ids):
        return Refusal(
            "🔒 Permission denied",
            f"You need a role allowed to run {spec.perm.value} commands on {server.name} "
            f"(permissions.{spec.perm.value} in servers.yml).",
        )
    if spec.build is not None and server.rcon is None:
        return Refusal("❌ No RCON", f"{server.name} is log-only (RCON is off in servers.yml).")
    request = None
    if spec.build is not None:
        try:
            request = spec.build(invocation.args)
        except BadArgument as exc:
            return Refusal("❌ Bad argument", str(exc))
        except ValidationError as exc:
            return Refusal("❌ Bad argument", summarise_validation(exc))
    if spec.cooldown is not None:
        limit = getattr(server.cooldowns, spec.cooldown.value)
        wait_s = cooldowns.try_acquire(
            (invocation.user_id, tag, spec.cooldown.value),
            rate=limit.rate,
            per_s=limit.per_s,
            now=now,
        )
        if wait_s > 0:
            return Refusal(
                "⏱️ Slow down!",
                f"You're using {spec.cooldown.value} commands too quickly on {server.name}.\n"
                f"Try again in {whole_seconds(wait_s)} seconds.",
            )
    return Plan(spec, tag, request)
