"""The console-command processor: what one RCON command does and what it answers.

`CommandProcessor.execute` is synchronous and does no I/O: it mutates the `GameState`, and
returns the reply body (None when Factorio sends no packet at all) and the console-log lines
the command produced. Reply formats are quoted from facts §4.3 where a source exists; the rest
are our assumptions, listed in docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from simulator import log_lines

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from simulator.game import GameState
    from simulator.lua_env import LuaSandbox

__all__ = [
    "LUA_COMMANDS",
    "CommandOutcome",
    "CommandProcessor",
    "format_game_time",
    "join_names",
    "split_player_argument",
]

#: Console commands whose argument is Lua; `/c` and `/command` are echoed to the log.
LUA_COMMANDS: Final = frozenset({"c", "command", "sc", "silent-command"})
_ECHOED_LUA_COMMANDS: Final = frozenset({"c", "command"})
_TICKS_PER_SECOND: Final = 60


@dataclass(frozen=True)
class CommandOutcome:
    """The effect of one command: reply body (None = no packet), log lines, save request."""

    reply: str | None
    log_lines: list[str] = field(default_factory=list)
    save_name: str | None = None


def format_game_time(seconds: int) -> str:
    """`/time` wording: `7 seconds`, `1 day, 11 hours, 1 minute and 26 seconds` (facts §4.3)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second"))
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    if not parts:
        return "0 seconds"
    return join_names(parts)


def join_names(names: Sequence[str]) -> str:
    """`A`, `A and B`, `A, B and C`: how Factorio lists names (facts §4.3 `/whitelist get`)."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def split_player_argument(rest: str, known: Sequence[str]) -> tuple[str, str]:
    """Split `rest` into a player name and the remainder.

    Names may contain spaces (facts §3.3), so the longest known name that `rest` starts with
    (followed by a space or the end) wins; otherwise the first word is the name.
    """
    matches = [n for n in known if rest == n or rest.startswith(f"{n} ")]
    if matches:
        name = max(matches, key=len)
        return name, rest[len(name) :].strip()
    name, _, remainder = rest.partition(" ")
    return name, remainder.strip()


class CommandProcessor:
    """Executes console commands against one game state as `<server>` (the RCON actor)."""

    def __init__(self, state: GameState, lua: LuaSandbox) -> None:
        self.state = state
        self.lua = lua
        self._handlers: dict[str, Callable[[str, datetime], CommandOutcome]] = {
            "players": self._players,
            "p": self._players,
            "time": self._time,
            "version": self._version,
            "evolution": self._evolution,
            "seed": self._seed,
            "admins": self._admins,
            "bans": self._bans,
            "banlist": self._banlist,
            "kick": self._kick,
            "ban": self._ban,
            "unban": self._unban,
            "mute": self._mute,
            "unmute": self._unmute,
            "mutes": self._mutes,
            "promote": self._promote,
            "demote": self._demote,
            "whisper": self._whisper,
            "w": self._whisper,
            "whitelist": self._whitelist,
            "server-save": self._server_save,
        }

    def execute(self, command: str, *, when: datetime) -> CommandOutcome:
        """Run one command received over RCON at wall time `when`."""
        if not command.strip():
            # Factorio never answers an empty command (facts §4.2).
            return CommandOutcome(None)
        if not command.startswith("/"):
            return CommandOutcome("", [log_lines.server_chat_line(when, command)])
        name, _, rest = command[1:].partition(" ")
        rest = rest.strip()
        if name in LUA_COMMANDS:
            return self._lua_command(name, rest, when)
        handler = self._handlers.get(name)
        if handler is None:
            return CommandOutcome(f'Unknown command "{name}".\n')
        return handler(rest, when)

    # -- Lua ------------------------------------------------------------------------------

    def _lua_command(self, name: str, code: str, when: datetime) -> CommandOutcome:
        state = self.state
        if state.is_achievements_enabled and not state.is_achievements_warning_shown:
            # RCON swallows the first Lua command of a save: empty reply, warning in the log,
            # and the repeat runs (facts §4.4).
            state.is_achievements_warning_shown = True
            return CommandOutcome("", [log_lines.achievements_warning_line(when)])
        state.is_achievements_enabled = False
        lines = []
        if name in _ECHOED_LUA_COMMANDS:
            lines.append(log_lines.command_line(when, log_lines.SERVER_ACTOR, code))
        result = self.lua.run(code)
        if result.error is None:
            return CommandOutcome(result.output, lines)
        if name in _ECHOED_LUA_COMMANDS:
            # `/c` errors go to the log, not the reply (facts §4.4, TheLQ).
            lines.append(log_lines.command_error_line(when, result.error))
            return CommandOutcome(result.output, lines)
        return CommandOutcome(
            f"{result.output}Cannot execute command. Error: {result.error}\n", lines
        )

    # -- queries ------------------------------------------------------------------------------

    def _player_list(self, names: Sequence[str]) -> str:
        state = self.state
        lines = []
        for name in names:
            player = state.get_player(name)
            suffix = " (online)" if player is not None and player.is_online else ""
            lines.append(f"  {name}{suffix}\n")
        return "".join(lines)

    def _players(self, rest: str, _when: datetime) -> CommandOutcome:
        state = self.state
        if rest in ("online", "o"):
            online = state.get_online_players()
            return CommandOutcome(f"Online players ({len(online)}):\n{self._player_list(online)}")
        names = list(state.players)
        return CommandOutcome(f"Players ({len(names)}):\n{self._player_list(names)}")

    def _time(self, _rest: str, _when: datetime) -> CommandOutcome:
        return CommandOutcome(f"{format_game_time(self.state.tick // _TICKS_PER_SECOND)}\n")

    def _version(self, _rest: str, _when: datetime) -> CommandOutcome:
        return CommandOutcome(f"{self.state.version}\n")

    def _seed(self, _rest: str, _when: datetime) -> CommandOutcome:
        return CommandOutcome(f"{self.state.seed}\n")

    def _evolution(self, rest: str, _when: datetime) -> CommandOutcome:
        surfaces = list(self.state.surfaces.values())
        if rest:
            found = self.state.find_surface(rest)
            if found is None:
                return CommandOutcome(f'Surface "{rest}" does not exist.\n')
            surfaces = [found]
        lines = []
        for surface in surfaces:
            evo = surface.evolution
            lines.append(
                f"{surface.display_name} - Evolution factor: {evo.factor:.4f}."
                f" (Time {evo.time_pct}%) (Pollution {evo.pollution_pct}%)"
                f" (Spawner kills {evo.spawner_kills_pct}%)\n"
            )
        return CommandOutcome("".join(lines))

    def _admins(self, _rest: str, _when: datetime) -> CommandOutcome:
        admins = self.state.get_admins()
        if not admins:
            return CommandOutcome("There are no admins.\n")
        return CommandOutcome(self._player_list(admins))

    def _bans(self, _rest: str, _when: datetime) -> CommandOutcome:
        banned = self.state.get_banned_players()
        if not banned:
            return CommandOutcome("There are no banned players.\n")
        return CommandOutcome(f"Banned players: {join_names(banned)}\n")

    def _mutes(self, _rest: str, _when: datetime) -> CommandOutcome:
        return CommandOutcome(self._player_list(list(self.state.mutes)))

    # -- moderation ---------------------------------------------------------------------------

    def _name_and_rest(self, rest: str) -> tuple[str, str]:
        known = [*self.state.players, *self.state.bans, *self.state.whitelist]
        return split_player_argument(rest, known)

    def _usage(self, command: str) -> CommandOutcome:
        return CommandOutcome(f"Invalid usage of /{command}.\n")

    def _missing_player(self, name: str) -> CommandOutcome:
        return CommandOutcome(f'Player "{name}" doesn\'t exist.\n')

    def _kick(self, rest: str, when: datetime) -> CommandOutcome:
        name, reason = self._name_and_rest(rest)
        if not name:
            return self._usage("kick")
        player = self.state.get_player(name)
        if player is None or not player.is_online:
            return self._missing_player(name)
        self.state.disconnect(name)
        return CommandOutcome("", [log_lines.kick_line(when, name, reason=reason or None)])

    def _ban(self, rest: str, when: datetime) -> CommandOutcome:
        name, reason = self._name_and_rest(rest)
        if not name:
            return self._usage("ban")
        is_on_map = self.state.get_player(name) is not None
        self.state.ban(name, reason or None)
        line = log_lines.ban_line(when, name, reason=reason or None, is_on_map=is_on_map)
        return CommandOutcome("", [line])

    def _unban(self, rest: str, when: datetime) -> CommandOutcome:
        name, _ = self._name_and_rest(rest)
        if not name:
            return self._usage("unban")
        if not self.state.unban(name):
            return CommandOutcome(f"{name} is not banned.\n")
        return CommandOutcome("", [log_lines.unban_line(when, name)])

    def _banlist(self, rest: str, when: datetime) -> CommandOutcome:
        action, _, argument = rest.partition(" ")
        argument = argument.strip()
        if action == "get" and argument:
            state = "banned" if argument in self.state.bans else "not banned"
            return CommandOutcome(f"{argument} is {state}.\n")
        if action == "get":
            return self._bans("", when)
        if action == "add" and argument:
            return self._ban(argument, when)
        if action == "remove" and argument:
            return self._unban(argument, when)
        if action == "clear":
            self.state.bans.clear()
            return CommandOutcome("")
        return self._usage("banlist")

    def _mute(self, rest: str, _when: datetime) -> CommandOutcome:
        name, _ = self._name_and_rest(rest)
        if self.state.get_player(name) is None:
            return self._missing_player(name)
        self.state.mutes[name] = None
        return CommandOutcome("")

    def _unmute(self, rest: str, _when: datetime) -> CommandOutcome:
        name, _ = self._name_and_rest(rest)
        if self.state.get_player(name) is None:
            return self._missing_player(name)
        self.state.mutes.pop(name, None)
        return CommandOutcome("")

    def _promote(self, rest: str, when: datetime) -> CommandOutcome:
        name, _ = self._name_and_rest(rest)
        if not name:
            return self._usage("promote")
        state = self.state
        player = state.get_player(name)
        is_online = player is not None and player.is_online
        if state.is_admin(name):
            if is_online:
                return CommandOutcome(f"{name} is already an admin.\n")
            return CommandOutcome(
                f"{name} is already in the admin list and will be promoted upon joining the game.\n"
            )
        state.add_admin(name)
        if player is None:
            return CommandOutcome(
                f"{name} is not on the map and will be promoted upon joining the game.\n"
            )
        return CommandOutcome("", [log_lines.promote_line(when, name)])

    def _demote(self, rest: str, when: datetime) -> CommandOutcome:
        name, _ = self._name_and_rest(rest)
        if not name:
            return self._usage("demote")
        state = self.state
        if not state.is_admin(name):
            return CommandOutcome(f"{name} is not in the admin list.\n")
        state.remove_admin(name)
        if state.get_player(name) is None:
            return CommandOutcome("")
        return CommandOutcome("", [log_lines.demote_line(when, name)])

    def _whisper(self, rest: str, _when: datetime) -> CommandOutcome:
        name, message = self._name_and_rest(rest)
        if not name or not message:
            return self._usage("whisper")
        player = self.state.get_player(name)
        if player is None or not player.is_online:
            return self._missing_player(name)
        return CommandOutcome("")

    def _whitelist(self, rest: str, _when: datetime) -> CommandOutcome:
        action, _, argument = rest.partition(" ")
        argument = argument.strip()
        whitelist = self.state.whitelist
        match action:
            case "get" if argument:
                state = "whitelisted" if argument in whitelist else "not whitelisted"
                return CommandOutcome(f"{argument} is {state}.\n")
            case "get":
                if not whitelist:
                    return CommandOutcome("The whitelist is empty.\n")
                return CommandOutcome(f"Whitelisted players: {join_names(list(whitelist))}\n")
            case "add" if argument:
                whitelist[argument] = None
            case "remove" if argument:
                whitelist.pop(argument, None)
            case "clear":
                whitelist.clear()
            case "enable":
                self.state.is_whitelist_enabled = True
            case "disable":
                self.state.is_whitelist_enabled = False
            case _:
                return self._usage("whitelist")
        return CommandOutcome("")

    def _server_save(self, rest: str, _when: datetime) -> CommandOutcome:
        # With a name Factorio writes a separate complete save (facts §4.3); the lines are the
        # same either way, so only the name differs.
        return CommandOutcome("", save_name=rest or self.state.save_name)
