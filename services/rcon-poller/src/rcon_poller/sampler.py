"""One metric sample of a server: the commands, pipelined, and their replies read.

Without Lua (the default) a sample is ``/players online``, ``/time``, ``/evolution`` (when
``metrics.evolution``) and ``/version`` (once per connection): plain console commands, so
achievements stay enabled. With ``metrics.lua_metrics`` it adds one ``/sc`` line printing
``game.tick``, ``game.speed`` and ``game.tick_paused``. The commands go out together on the one
connection and are answered in order, so a sample costs one round trip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from common.config import MetricsConfig
from rcon_poller import commands, replies
from rcon_poller.game_time import parse_game_time
from rcon_poller.rcon.link import RconLink
from rcon_poller.ups import TICK_RESOLUTION_TICKS, TIME_RESOLUTION_TICKS, Reading


@dataclass(frozen=True, slots=True)
class Sample:
    """What one sample read from the game."""

    players_online: tuple[str, ...]
    game_time_s: int
    evolution: dict[str, float] | None
    version: str | None
    tick: int | None
    game_speed: float | None
    is_tick_paused: bool
    reading: Reading
    """The progress reading for the UPS estimator."""


class Sampler:
    """Takes samples of one server through its link."""

    def __init__(self, link: RconLink) -> None:
        self._link = link
        self._version: tuple[datetime | None, str] | None = None

    async def take(self, metrics: MetricsConfig) -> Sample:
        """Run the sample's commands and read them.

        Raises:
            RconUnavailable, RconTimeout, RconConnectError: RCON could not be used.
            UnexpectedReply, GameTimeError: a reply could not be read.
        """
        connected_since = self._link.state.connected_since
        cached = self._version
        need_version = cached is None or cached[0] != connected_since or connected_since is None
        use_lua = metrics.lua_metrics and metrics.ups
        batch = [commands.PLAYERS_ONLINE, commands.TIME]
        if metrics.evolution:
            batch.append(commands.EVOLUTION)
        if need_version:
            batch.append(commands.VERSION)
        if use_lua:
            batch.append(commands.LUA_TICK)
        started_s = time.monotonic()
        replies_ = await self._link.execute_many(batch)
        if use_lua and not replies_[-1].strip():
            # The first Lua command of a save is swallowed (facts §4.4); repeat it once.
            replies_[-1] = await self._link.execute(commands.LUA_TICK)
        finished_s = time.monotonic()
        by_command = dict(zip(batch, replies_, strict=True))
        for reply in replies_:
            error = replies.find_error(reply)
            if error is not None:
                raise replies.UnexpectedReply("a metric sample", error.message)
        players = replies.parse_online_players(by_command[commands.PLAYERS_ONLINE])
        game_time_s = parse_game_time(by_command[commands.TIME])
        evolution = (
            replies.parse_evolution(by_command[commands.EVOLUTION]) if metrics.evolution else None
        )
        if need_version:
            version = replies.parse_version(by_command[commands.VERSION])
            self._version = (self._link.state.connected_since, version)
        else:
            assert cached is not None
            version = cached[1]
        tick = game_speed = None
        is_tick_paused = False
        if use_lua:
            tick, game_speed, is_tick_paused = _parse_lua_tick(by_command[commands.LUA_TICK])
        reading = Reading(
            wall_s=(started_s + finished_s) / 2,
            ticks=float(tick) if tick is not None else game_time_s * 60.0,
            resolution_ticks=TICK_RESOLUTION_TICKS if tick is not None else TIME_RESOLUTION_TICKS,
            uncertainty_s=(finished_s - started_s) / 2,
            is_paused_flag=is_tick_paused,
            players_online=len(players),
        )
        return Sample(
            players_online=players,
            game_time_s=game_time_s,
            evolution=evolution,
            version=version,
            tick=tick,
            game_speed=game_speed,
            is_tick_paused=is_tick_paused,
            reading=reading,
        )


def _parse_lua_tick(reply: str) -> tuple[int, float, bool]:
    fields = replies.parse_lua_reply(reply, what="game.tick")
    if len(fields) != 3 or fields[2] not in ("true", "false"):
        raise replies.UnexpectedReply("game.tick", reply)
    try:
        return int(fields[0]), float(fields[1]), fields[2] == "true"
    except ValueError as exc:
        raise replies.UnexpectedReply("game.tick", reply) from exc
