"""The console commands and Lua snippets behind each allow-listed operation. Pure.

Console commands take validated arguments only (see :mod:`common.contracts.rcon`): a player
name, a reason or a message can never carry a newline or start a new command. Lua snippets
are fixed code; every user value enters them through :func:`~rcon_poller.lua.lua_string` or
:func:`~rcon_poller.lua.lua_number`. Each snippet prints exactly one line, ``ok <fields>`` or
``err <code>``, read by :func:`rcon_poller.replies.parse_lua_reply`. Lua commands use
``/sc`` (``/silent-command``), which returns Lua errors in the reply (facts §4.4) and keeps
the console log quiet.

Achievement-safe operations use plain console commands: status, players, version, seed,
evolution, admins, kick, ban, unban, mute, unmute, promote, demote, save, whisper,
whitelist, chat. Broadcast, clock, speed and research need Lua, and any Lua command disables
achievements on the save.
"""

from __future__ import annotations

from typing import Final

from common.contracts.rcon import (
    BroadcastRequest,
    ClockRequest,
    ResearchRequest,
    SpeedRequest,
)
from rcon_poller.lua import lua_number, lua_string

PLAYERS_ONLINE: Final = "/players online"
ALL_PLAYERS: Final = "/players"
TIME: Final = "/time"
VERSION: Final = "/version"
EVOLUTION: Final = "/evolution"
SEED: Final = "/seed"
ADMINS: Final = "/admins"
WHITELIST_GET: Final = "/whitelist get"
LUA_TICK: Final = (
    '/sc rcon.print("ok " .. game.tick .. " " .. game.speed .. " " .. tostring(game.tick_paused))'
)
"""Lua metrics: tick, speed and the explicit pause flag in one line."""

_COUNT_RESEARCH: Final = (
    "local r, n = 0, 0 for _, x in pairs(f.technologies) do n = n + 1 "
    "if x.researched then r = r + 1 end end "
    'rcon.print("ok " .. r .. " " .. n)'
)


def with_argument(command: str, *args: str | None) -> str:
    """``/command arg1 arg2`` skipping None; the arguments are validated text."""
    return " ".join([command, *(a for a in args if a is not None)])


def evolution(surface: str | None) -> str:
    """``/evolution`` for every surface, or one."""
    return EVOLUTION if surface is None else f"{EVOLUTION} {surface}"


def broadcast(request: BroadcastRequest) -> str:
    """Print a highlighted line to every player."""
    text = lua_string(f"[color=pink]{request.message}[/color]")
    return f'/sc game.print({text}) rcon.print("ok")'


def clock(request: ClockRequest) -> str:
    """Read or set a surface's daytime (``freeze_daytime`` is a boolean in the API)."""
    change = {
        "get": "",
        "day": "s.daytime = 0 s.freeze_daytime = true ",
        "night": "s.daytime = 0.5 s.freeze_daytime = true ",
        "set": (
            f"s.daytime = {lua_number(request.daytime or 0.0)} s.freeze_daytime = false "
            if request.action == "set"
            else ""
        ),
    }[request.action]
    return (
        f"/sc local s = game.get_surface({lua_string(request.surface)}) "
        'if s == nil then rcon.print("err unknown_surface") return end '
        f"{change}"
        'rcon.print("ok " .. s.daytime .. " " .. tostring(s.freeze_daytime))'
    )


def speed(request: SpeedRequest) -> str:
    """Set ``game.speed`` and print what the game now reports."""
    return f'/sc game.speed = {lua_number(request.speed)} rcon.print("ok " .. game.speed)'


def research(request: ResearchRequest) -> str:
    """Research counts for a force, after the requested change."""
    head = (
        f"/sc local f = game.forces[{lua_string(request.force)}] "
        'if f == nil then rcon.print("err unknown_force") return end '
    )
    if request.action in ("undo", "research"):
        assert request.technology is not None  # the contract requires it for these actions
        head += (
            f"local t = f.technologies[{lua_string(request.technology)}] "
            'if t == nil then rcon.print("err unknown_technology") return end '
            f"t.researched = {'true' if request.action == 'research' else 'false'} "
        )
    elif request.action == "all":
        head += "f.research_all_technologies() "
    elif request.action == "undo_all":
        head += "for _, x in pairs(f.technologies) do x.researched = false end "
    return head + _COUNT_RESEARCH
