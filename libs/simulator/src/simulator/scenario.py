"""Scenarios: what happens on a simulated server, as a stream of actions paced in lines/s.

An action (`Join`, `Chat`, `Kick`, `Autosave`, ...) is plain data. A `World` applies it: the
log-only `LogWorld` just writes its console-log lines, the full simulated server also updates
the game state that RCON reports. A `Scenario` is either seeded-random (players join, chat,
leave, now and then get kicked or banned, autosaves happen) or a scripted list; `Scenario.run`
paces it on an injected clock, so a `ManualClock` makes the whole output deterministic.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from simulator import log_lines

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Sequence
    from datetime import datetime

    from simulator.clock import Clock
    from simulator.console_log import ConsoleLogWriter

__all__ = [
    "DEFAULT_CHAT_TEXTS",
    "DEFAULT_PLAYER_NAMES",
    "Action",
    "Autosave",
    "Ban",
    "Chat",
    "Demote",
    "Join",
    "Kick",
    "Leave",
    "LogWorld",
    "LuaCommand",
    "Promote",
    "Scenario",
    "ServerChat",
    "Unban",
    "Wait",
    "World",
    "format_action",
    "player_names",
]

#: Names that break naive parsers (facts §3.3 "Player-name gotchas") come first.
DEFAULT_PLAYER_NAMES: Final = (
    "Cool-Guy",
    "J.R.",
    "grilled ham",
    "Jörg",
    "日本語",
    "foo-bar",
    "xX_Sniper_Xx",
    "Ämelie",
    "bob",
    "Alice",
)

#: Chat texts, including ones that look like other line shapes or carry rich text.
DEFAULT_CHAT_TEXTS: Final = (
    "hi",
    "anyone up for a rocket?",
    "need iron plates at [gps=120,-45,nauvis]",
    "brb",
    "gg",
    "who took my [item=iron-gear-wheel]?",
    "ratio is 3:2, not 2:3",
    "[JOIN] not really a join",
    "Größe der Fabrik: riesig",
    "日本語のチャット",
    "lol: the biters are back",
    "trains deadlocked again (sigh)",
)


@dataclass(frozen=True)
class Join:
    """A player connects: `[JOIN] <name> joined the game`."""

    name: str


@dataclass(frozen=True)
class Leave:
    """A player disconnects; `is_logged=False` omits `[LEAVE]` (facts §3.3: it can be missing)."""

    name: str
    is_logged: bool = True


@dataclass(frozen=True)
class Chat:
    """A player says something: `[CHAT] <name>: <text>`."""

    name: str
    text: str


@dataclass(frozen=True)
class ServerChat:
    """The console says something: `[CHAT] <server>: <text>`."""

    text: str


@dataclass(frozen=True)
class Kick:
    """`[KICK] <name> was kicked by <by>. Reason: <reason>.`; the player goes offline."""

    name: str
    reason: str | None = None
    by: str = log_lines.SERVER_ACTOR


@dataclass(frozen=True)
class Ban:
    """`[BAN] <name> was banned by <by>. Reason: <reason>.`; the player goes offline."""

    name: str
    reason: str | None = None
    by: str = log_lines.SERVER_ACTOR


@dataclass(frozen=True)
class Unban:
    """`[UNBANNED] <name> was unbanned by <by>.`."""

    name: str
    by: str = log_lines.SERVER_ACTOR


@dataclass(frozen=True)
class Promote:
    """`[PROMOTE] <name> was promoted to admin by <by>.`."""

    name: str
    by: str = log_lines.SERVER_ACTOR


@dataclass(frozen=True)
class Demote:
    """`[DEMOTE] <name> was demoted from admin by <by>.`."""

    name: str
    by: str = log_lines.SERVER_ACTOR


@dataclass(frozen=True)
class LuaCommand:
    """A player runs `/c <lua>` in game: `[COMMAND] <name> (command): <lua>`."""

    name: str
    lua: str


@dataclass(frozen=True)
class Autosave:
    """An autosave into `_autosave<slot>`: `Saving to ... (blocking).` then `Saving finished`."""

    slot: int = 1


@dataclass(frozen=True)
class Wait:
    """A scripted pause of `seconds`; writes nothing."""

    seconds: float


#: Everything a scenario can make happen.
Action = (
    Join
    | Leave
    | Chat
    | ServerChat
    | Kick
    | Ban
    | Unban
    | Promote
    | Demote
    | LuaCommand
    | Autosave
    | Wait
)


def format_action(action: Action, when: datetime, uptime_s: float) -> list[str]:  # noqa: PLR0911
    """The console-log lines an action produces (none for `Wait` and unlogged leaves)."""
    match action:
        case Join(name):
            return [log_lines.join_line(when, name)]
        case Leave(name, is_logged):
            return [log_lines.leave_line(when, name)] if is_logged else []
        case Chat(name, text):
            return [log_lines.chat_line(when, name, text)]
        case ServerChat(text):
            return [log_lines.server_chat_line(when, text)]
        case Kick(name, reason, by):
            return [log_lines.kick_line(when, name, by, reason)]
        case Ban(name, reason, by):
            return [log_lines.ban_line(when, name, by, reason)]
        case Unban(name, by):
            return [log_lines.unban_line(when, name, by)]
        case Promote(name, by):
            return [log_lines.promote_line(when, name, by)]
        case Demote(name, by):
            return [log_lines.demote_line(when, name, by)]
        case LuaCommand(name, lua):
            return [log_lines.command_line(when, name, lua)]
        case Autosave(slot):
            return [
                log_lines.saving_to_line(uptime_s, f"_autosave{slot}"),
                log_lines.saving_finished_line(uptime_s + 0.017),
            ]
        case Wait():
            return []


class World(Protocol):
    """Where a scenario's actions land; a random scenario reads the roster from it."""

    def get_online_players(self) -> Collection[str]:
        """Names of the players connected now."""
        ...

    def get_banned_players(self) -> Collection[str]:
        """Names of the players on the ban list."""
        ...

    def apply(self, action: Action) -> None:
        """Carry out one action (update state, write its console-log lines)."""
        ...


class LogWorld:
    """A world that only writes the console log and tracks who is online and banned."""

    def __init__(self, writer: ConsoleLogWriter) -> None:
        self.writer = writer
        self._online: dict[str, None] = {}
        self._banned: dict[str, None] = {}

    def get_online_players(self) -> Collection[str]:
        return tuple(self._online)

    def get_banned_players(self) -> Collection[str]:
        return tuple(self._banned)

    def apply(self, action: Action) -> None:
        match action:
            case Join(name):
                self._online[name] = None
            case Leave(name) | Kick(name):
                self._online.pop(name, None)
            case Ban(name):
                self._online.pop(name, None)
                self._banned[name] = None
            case Unban(name):
                self._banned.pop(name, None)
            case _:
                pass
        self.writer.write_many(format_action(action, self.writer.now(), self.writer.uptime_s()))


def player_names(count: int) -> list[str]:
    """`count` distinct player names: the tricky defaults first, then `Player-<n>`."""
    names = list(DEFAULT_PLAYER_NAMES[:count])
    names.extend(f"Player-{n}" for n in range(len(names) + 1, count + 1))
    return names


class _RandomActions:
    """The seeded choice of the next action given who is online and banned."""

    def __init__(
        self,
        *,
        seed: int | None,
        players: Sequence[str],
        chat_texts: Sequence[str],
        missing_leave_probability: float,
    ) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not cryptography
        self._players = list(players)
        self._chat_texts = list(chat_texts)
        self._missing_leave_probability = missing_leave_probability
        self._autosave_slot = 0

    def next_action(self, world: World) -> Action:  # noqa: PLR0911
        rng = self._rng
        online = [p for p in self._players if p in set(world.get_online_players())]
        banned = set(world.get_banned_players())
        offline = [p for p in self._players if p not in online and p not in banned]
        if not online:
            if offline:
                return Join(rng.choice(offline))
            if banned:
                return Unban(rng.choice(sorted(banned)))
            return ServerChat("nobody here")
        roll = rng.random()
        if roll < 0.55:
            return Chat(rng.choice(online), rng.choice(self._chat_texts))
        if roll < 0.70 and offline:
            return Join(rng.choice(offline))
        if roll < 0.82:
            is_logged = rng.random() >= self._missing_leave_probability
            return Leave(rng.choice(online), is_logged=is_logged)
        if roll < 0.86:
            return ServerChat(rng.choice(self._chat_texts))
        if roll < 0.89:
            return Kick(rng.choice(online), rng.choice((None, "afk", "spamming chat")))
        if roll < 0.905:
            by = rng.choice((log_lines.SERVER_ACTOR, "admin"))
            return Ban(rng.choice(online), "griefing", by)
        if roll < 0.92 and banned:
            return Unban(rng.choice(sorted(banned)))
        if roll < 0.95:
            self._autosave_slot = self._autosave_slot % 5 + 1
            return Autosave(self._autosave_slot)
        if roll < 0.97:
            return LuaCommand(rng.choice(online), "game.player.force.research_all_technologies()")
        return Chat(rng.choice(online), rng.choice(self._chat_texts))


class Scenario:
    """A source of actions, random or scripted, and the loop that paces them into a world.

    Build one with `Scenario.random(...)` or `Scenario.scripted([...])`. `run` applies actions
    at `rate_lines_per_s` on a fixed schedule (no drift), honours `Wait` actions, and stops when
    the script ends, `max_actions` have run, or `stop` is set.
    """

    def __init__(self, source: Iterator[Action] | _RandomActions) -> None:
        self._source = source

    @classmethod
    def random(
        cls,
        *,
        seed: int | None = None,
        players: Sequence[str] | int = DEFAULT_PLAYER_NAMES,
        chat_texts: Sequence[str] = DEFAULT_CHAT_TEXTS,
        missing_leave_probability: float = 0.0,
    ) -> Scenario:
        """A seeded random scenario over a pool of players (a count picks `player_names(n)`)."""
        pool = player_names(players) if isinstance(players, int) else list(players)
        if not pool:
            raise ValueError("a random scenario needs at least one player name")
        return cls(
            _RandomActions(
                seed=seed,
                players=pool,
                chat_texts=chat_texts,
                missing_leave_probability=missing_leave_probability,
            )
        )

    @classmethod
    def scripted(cls, actions: Iterable[Action]) -> Scenario:
        """A scenario that plays `actions` in order and then ends."""
        return cls(iter(actions))

    def next_action(self, world: World) -> Action | None:
        """The next action for `world`, or None when a scripted scenario is over."""
        if isinstance(self._source, _RandomActions):
            return self._source.next_action(world)
        return next(self._source, None)

    async def run(
        self,
        world: World,
        *,
        clock: Clock,
        rate_lines_per_s: float = 2.0,
        max_actions: int | None = None,
        stop: asyncio.Event | None = None,
    ) -> int:
        """Apply actions to `world` at the given rate; returns how many actions were applied."""
        if rate_lines_per_s <= 0:
            raise ValueError(f"rate_lines_per_s must be positive, got {rate_lines_per_s}")
        interval_s = 1.0 / rate_lines_per_s
        next_at = clock.monotonic()
        applied = 0
        while max_actions is None or applied < max_actions:
            if stop is not None and stop.is_set():
                break
            action = self.next_action(world)
            if action is None:
                break
            if isinstance(action, Wait):
                next_at += action.seconds
                await _sleep_or_stop(clock, next_at - clock.monotonic(), stop)
                continue
            world.apply(action)
            applied += 1
            next_at += interval_s
            await _sleep_or_stop(clock, next_at - clock.monotonic(), stop)
        return applied


async def _sleep_or_stop(clock: Clock, seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await clock.sleep(seconds)
        return
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
        await asyncio.gather(sleeper, stopper, return_exceptions=True)
