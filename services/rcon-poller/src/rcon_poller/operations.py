"""Carrying out one allow-listed operation against a server, and turning failures into errors.

:func:`perform` takes a decoded request and an :class:`OperationContext` (how to run console
commands on this server, plus the poller's own knowledge for ``status`` and ``health``), runs
the commands of :mod:`rcon_poller.commands`, reads the replies with :mod:`rcon_poller.replies`
and returns a structured result. Anything that goes wrong raises :class:`OperationFailed` with
an :class:`~common.contracts.RconErrorCode`; :func:`error_for` maps the client's exceptions.

Names are checked against the game where it knows them, without Lua: ``kick`` and ``whisper``
need the player in ``/players online``; ``mute`` and ``unmute`` need them in ``/players``; a
name with a space (ambiguous as a console argument) must be a player the game knows. Forces,
technologies and surfaces are checked by the Lua snippets themselves (``err unknown_force``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from common.contracts import RconErrorCode
from common.contracts import rcon as c
from rcon_poller import commands, replies
from rcon_poller.game_time import GameTimeError, parse_game_time
from rcon_poller.rcon.client import CommandTooLong, RconConnectError, RconTimeout
from rcon_poller.rcon.link import RconUnavailable


class CommandRunner(Protocol):
    """Runs console commands on one server (an :class:`~rcon_poller.rcon.link.RconLink`)."""

    async def execute(self, command: str, *, timeout_s: float | None = None) -> str:
        """Run one command and return its reply body."""
        ...


@dataclass(frozen=True, slots=True)
class UpsSnapshot:
    """The poller's latest UPS conclusion for a server."""

    ups: float | None
    target: float
    is_paused: bool
    sampled_at: datetime | None
    """When the estimate was made (None before the first one)."""


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What an operation needs besides the request."""

    runner: CommandRunner
    get_ups: Callable[[], UpsSnapshot]
    get_health: Callable[[], c.HealthResult]
    on_game_speed: Callable[[float], None]
    save_timeout_s: float = 120.0
    """Saving a large map takes a while and RCON answers nothing meanwhile (facts §4.4)."""


class OperationFailed(Exception):
    """The operation did not succeed; ``code`` says why."""

    def __init__(self, code: RconErrorCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code.value}: {message}")


_LUA_REFUSALS = {
    "unknown_surface": RconErrorCode.UNKNOWN_SURFACE,
    "unknown_force": RconErrorCode.UNKNOWN_FORCE,
    "unknown_technology": RconErrorCode.UNKNOWN_TECHNOLOGY,
}


def error_for(exc: BaseException) -> c.RconError | None:  # noqa: PLR0911 - one per kind
    """The error result for an exception an operation raised, or None for a bug."""
    match exc:
        case OperationFailed(code=code, message=message):
            return c.RconError(code=code, message=message)
        case RconUnavailable():
            return c.RconError(code=RconErrorCode.RCON_UNAVAILABLE, message=str(exc))
        case RconConnectError():
            return c.RconError(
                code=RconErrorCode.RCON_UNAVAILABLE, message=f"RCON connection lost: {exc}"
            )
        case RconTimeout():
            return c.RconError(code=RconErrorCode.TIMEOUT, message=str(exc))
        case CommandTooLong():
            return c.RconError(code=RconErrorCode.COMMAND_TOO_LONG, message=str(exc))
        case replies.FactorioLuaError(error=error):
            return c.RconError(code=error.code, message=error.message)
        case replies.LuaRefusal(code=code):
            return c.RconError(
                code=_LUA_REFUSALS.get(code, RconErrorCode.COMMAND_FAILED),
                message=code.replace("_", " "),
            )
        case replies.UnexpectedReply() | GameTimeError():
            return c.RconError(code=RconErrorCode.UNEXPECTED_REPLY, message=str(exc))
    return None


def _check(reply: str) -> str:
    error = replies.find_error(reply)
    if error is not None:
        raise OperationFailed(error.code, error.message)
    return reply


async def _run(ctx: OperationContext, command: str, *, timeout_s: float | None = None) -> str:
    return _check(await ctx.runner.execute(command, timeout_s=timeout_s))


async def _run_lua(ctx: OperationContext, command: str, *, what: str) -> list[str]:
    reply = await ctx.runner.execute(command)
    if not reply.strip():
        # The first Lua command on a save with achievements is swallowed with a warning and
        # an empty reply; the repeat runs (facts §4.4). Our snippets always print a line, so
        # an empty reply means exactly that.
        reply = await ctx.runner.execute(command)
    return replies.parse_lua_reply(reply, what=what)


async def _players(ctx: OperationContext, *, online_only: bool) -> tuple[tuple[str, bool], ...]:
    command = commands.PLAYERS_ONLINE if online_only else commands.ALL_PLAYERS
    return replies.parse_player_list(await _run(ctx, command))


async def _require_online(ctx: OperationContext, player: str) -> None:
    online = {name for name, is_online in await _players(ctx, online_only=True) if is_online}
    if player not in online:
        raise OperationFailed(RconErrorCode.UNKNOWN_PLAYER, f"{player} is not online")


async def _require_known(ctx: OperationContext, player: str) -> None:
    known = {name for name, _ in await _players(ctx, online_only=False)}
    if player not in known:
        raise OperationFailed(RconErrorCode.UNKNOWN_PLAYER, f"{player} has never been on the map")


async def _require_unambiguous(ctx: OperationContext, player: str) -> None:
    if " " in player:
        await _require_known(ctx, player)


async def _moderate(
    ctx: OperationContext, op: c.ModerationOp, player: str, *args: str | None
) -> c.ModerationResult:
    reply = await _run(ctx, commands.with_argument(f"/{op}", player, *args))
    detail = reply.strip() or None
    return c.ModerationResult(op=op, player=player, detail=detail)


async def perform(request: c.AnyRconRequest, ctx: OperationContext) -> c.RconResult:  # noqa: PLR0911 - one per operation
    """Carry out ``request``; raises :class:`OperationFailed` or a client error on failure."""
    match request:
        case c.StatusRequest():
            return await _status(ctx)
        case c.PlayersRequest():
            return c.PlayersResult(
                players=replies.parse_online_players(await _run(ctx, commands.PLAYERS_ONLINE))
            )
        case c.VersionRequest():
            return c.VersionResult(version=replies.parse_version(await _run(ctx, commands.VERSION)))
        case c.SeedRequest():
            return c.SeedResult(seed=replies.parse_seed(await _run(ctx, commands.SEED)))
        case c.EvolutionRequest(surface=surface):
            reply = await _run(ctx, commands.evolution(surface))
            return c.EvolutionResult(surfaces=replies.parse_evolution(reply))
        case c.AdminsRequest():
            admins = replies.parse_admins(await _run(ctx, commands.ADMINS))
            return c.AdminsResult(
                admins=tuple(name for name, _ in admins),
                online=tuple(name for name, is_online in admins if is_online),
            )
        case c.HealthRequest():
            return ctx.get_health()
        case c.KickRequest(player=player, reason=reason):
            await _require_online(ctx, player)
            return await _moderate(ctx, "kick", player, reason)
        case c.BanRequest(player=player, reason=reason):
            await _require_unambiguous(ctx, player)
            return await _moderate(ctx, "ban", player, reason)
        case c.MuteRequest(player=player) | c.UnmuteRequest(player=player):
            await _require_known(ctx, player)
            return await _moderate(ctx, request.op, player)
        case (
            c.UnbanRequest(player=player)
            | c.PromoteRequest(player=player)
            | c.DemoteRequest(player=player)
        ):
            await _require_unambiguous(ctx, player)
            return await _moderate(ctx, request.op, player)
        case c.SaveRequest(name=name):
            command = commands.with_argument("/server-save", name)
            await _run(ctx, command, timeout_s=ctx.save_timeout_s)
            return c.SaveResult(name=name)
        case c.BroadcastRequest():
            await _run_lua(ctx, commands.broadcast(request), what="broadcast")
            return c.BroadcastResult()
        case c.WhisperRequest(player=player, message=message):
            await _require_online(ctx, player)
            await _run(ctx, commands.with_argument("/whisper", player, message))
            return c.WhisperResult(player=player)
        case c.WhitelistRequest():
            return await _whitelist(ctx, request)
        case c.ClockRequest():
            return await _clock(ctx, request)
        case c.SpeedRequest():
            fields = await _run_lua(ctx, commands.speed(request), what="speed")
            new_speed = _float(fields, 0, "speed")
            ctx.on_game_speed(new_speed)
            return c.SpeedResult(speed=new_speed)
        case c.ResearchRequest():
            fields = await _run_lua(ctx, commands.research(request), what="research")
            return c.ResearchResult(
                action=request.action,
                force=request.force,
                technology=request.technology,
                researched=int(_float(fields, 0, "research")),
                total=int(_float(fields, 1, "research")),
            )
        case c.ChatRequest(text=text):
            await _run(ctx, text)
            return c.ChatResult()
        case c.RawRequest(command=command):
            return c.RawResult(reply=await _run(ctx, command))
    raise OperationFailed(RconErrorCode.INVALID_REQUEST, f"unsupported operation {request.op}")


async def _status(ctx: OperationContext) -> c.StatusResult:
    # Pipelined on the one connection: one round trip, not four.
    players, time_reply, evolution, version = await asyncio.gather(
        _run(ctx, commands.PLAYERS_ONLINE),
        _run(ctx, commands.TIME),
        _run(ctx, commands.EVOLUTION),
        _run(ctx, commands.VERSION),
    )
    ups = ctx.get_ups()
    return c.StatusResult(
        players_online=replies.parse_online_players(players),
        game_time_s=float(parse_game_time(time_reply)),
        evolution=replies.parse_evolution(evolution),
        version=replies.parse_version(version),
        ups=ups.ups,
        ups_target=ups.target,
        is_paused=ups.is_paused,
        ups_sampled_at=ups.sampled_at,
    )


async def _whitelist(ctx: OperationContext, request: c.WhitelistRequest) -> c.WhitelistResult:
    if request.action == "list":
        names = replies.parse_name_list(
            await _run(ctx, commands.WHITELIST_GET), what="/whitelist get"
        )
        return c.WhitelistResult(action="list", players=names)
    if request.player is not None:
        await _require_unambiguous(ctx, request.player)
    await _run(ctx, commands.with_argument(f"/whitelist {request.action}", request.player))
    return c.WhitelistResult(action=request.action, player=request.player)


async def _clock(ctx: OperationContext, request: c.ClockRequest) -> c.ClockResult:
    fields = await _run_lua(ctx, commands.clock(request), what="clock")
    if len(fields) != 2 or fields[1] not in ("true", "false"):
        raise replies.UnexpectedReply("clock", " ".join(fields))
    return c.ClockResult(
        action=request.action,
        surface=request.surface,
        daytime=_float(fields, 0, "clock"),
        is_frozen=fields[1] == "true",
    )


def _float(fields: list[str], index: int, what: str) -> float:
    try:
        return float(fields[index])
    except (IndexError, ValueError) as exc:
        raise replies.UnexpectedReply(what, " ".join(fields)) from exc
