# ruff: noqa: FBT003 - the table reads best with positional defers flags, one row per command
"""The command table: every slash command declared once (pure).

One :class:`CommandSpec` per subcommand says its options, permission class, cooldown class,
whether it defers, how its arguments become an allow-listed RCON request (or a local action)
and which reply builder answers it. Registration (:func:`command_tree`), dispatch
(``bot.commands.dispatch``), ``/factorio help`` and docs/discord.md are all generated from it.

The 25 subcommands of the original live under ``/factorio`` with the same names and parameters
(original-isr.md §1.1); Discord allows at most 25 subcommands per command, so the new history
commands live under ``/factorio-stats``. Every command also takes an optional ``server`` with
autocomplete (``connect`` takes it as its required argument).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from common.contracts import rcon

ROOT = "factorio"
STATS_ROOT = "factorio-stats"


class OptionType(enum.IntEnum):
    """Discord option types used here."""

    STRING = 3
    INTEGER = 4
    NUMBER = 10


class PermClass(enum.StrEnum):
    """Who may run a command (per server, from ``permissions`` in servers.yml)."""

    NONE = "none"
    """Anyone in an allowed guild (servers, connect, help)."""
    QUERY = "query"
    ADMIN = "admin"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option of a subcommand."""

    name: str
    description: str
    type: OptionType = OptionType.STRING
    required: bool = False
    choices: tuple[str, ...] = ()
    autocomplete: bool = False
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None


class BadArgument(ValueError):
    """An option value the command cannot use; the message is shown to the user."""


Args = Mapping[str, Any]
LocalAction = Literal["servers", "connect", "help", "history"]
RequestBuilder = Callable[[Args], rcon.RconRequestBase]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One subcommand."""

    name: str
    description: str
    options: tuple[OptionSpec, ...]
    perm: PermClass
    cooldown: PermClass | None
    """Cooldown bucket (query/admin/danger), None for none."""
    defers: bool
    """Answers after I/O that may take longer than Discord's 3 s: defer first."""
    build: RequestBuilder | None = None
    """Arguments → RCON request; None for local commands."""
    local: LocalAction | None = None
    root: str = ROOT
    usage_note: str = ""
    timeout_s: float | None = None
    """How long to wait for the answer when longer than the bot's command timeout."""

    @property
    def path(self) -> str:
        """``/factorio status``."""
        return f"/{self.root} {self.name}"


SERVER_OPTION = OptionSpec(
    "server", "Server tag (default: yours from /factorio connect)", autocomplete=True
)
_PLAYER = OptionSpec("player", "Player name", required=True, max_length=rcon.PLAYER_NAME_MAX)


def _player(args: Args) -> str:
    return str(args["player"]).strip()


def _opt(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _evolution(args: Args) -> rcon.RconRequestBase:
    target = str(args["target"]).strip()
    if target.lower() == "all":
        return rcon.EvolutionRequest()
    return rcon.EvolutionRequest(surface=target)


def _whitelist(args: Args) -> rcon.RconRequestBase:
    action = str(args["action"]).strip().lower()
    actions = ("add", "remove", "list", "enable", "disable")
    if action not in actions:
        raise BadArgument(f"unknown whitelist action {action!r}; use one of {', '.join(actions)}")
    player = _opt(args, "player")
    if action in ("add", "remove") and player is None:
        raise BadArgument(f"whitelist {action} needs a player")
    return rcon.WhitelistRequest(
        action=action,
        player=player if action in ("add", "remove") else None,
    )


def _clock(args: Args) -> rcon.RconRequestBase:
    value = _opt(args, "value")
    if value is None:
        return rcon.ClockRequest(action="get")
    lowered = value.lower()
    if lowered in ("day", "eternal-day"):
        return rcon.ClockRequest(action="day")
    if lowered in ("night", "eternal-night"):
        return rcon.ClockRequest(action="night")
    try:
        daytime = float(value)
    except ValueError:
        raise BadArgument(
            f"clock value {value!r} is not day, night, eternal-day, eternal-night or 0.0-1.0"
        ) from None
    if not 0.0 <= daytime <= 1.0:
        raise BadArgument(f"clock value must be between 0.0 and 1.0, got {daytime}")
    return rcon.ClockRequest(action="set", daytime=0.0 if daytime == 1.0 else daytime)


def _speed(args: Args) -> rcon.RconRequestBase:
    value = float(args["value"])
    if not 0.1 <= value <= 10.0:
        raise BadArgument(f"speed must be between 0.1 and 10.0, got {value:g}")
    return rcon.SpeedRequest(speed=value)


def _research(args: Args) -> rcon.RconRequestBase:
    force = (_opt(args, "force") or "player").lower()
    action = (_opt(args, "action") or "").lower()
    technology = _opt(args, "technology")
    if not action and technology is None:
        return rcon.ResearchRequest(action="status", force=force)
    if action == "all" and technology is None:
        return rcon.ResearchRequest(action="all", force=force)
    if action == "undo":
        if technology is None or technology.lower() == "all":
            return rcon.ResearchRequest(action="undo_all", force=force)
        return rcon.ResearchRequest(action="undo", force=force, technology=technology)
    return rcon.ResearchRequest(action="research", force=force, technology=technology or action)


def _save(args: Args) -> rcon.RconRequestBase:
    return rcon.SaveRequest(name=_opt(args, "name"))


Q, A, D, N = PermClass.QUERY, PermClass.ADMIN, PermClass.DANGER, PermClass.NONE

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("servers", "List the Factorio servers and which is yours", (), N, None, False,
                local="servers"),
    CommandSpec(
        "connect", "Choose the server your commands target",
        (OptionSpec("server", "Server tag", required=True, autocomplete=True),),
        N, None, False, local="connect",
    ),
    CommandSpec("status", "Server status: UPS, players, game time, evolution", (), Q, Q, True,
                build=lambda _a: rcon.StatusRequest()),
    CommandSpec("players", "Players online", (), Q, Q, True,
                build=lambda _a: rcon.PlayersRequest()),
    CommandSpec("version", "Factorio version", (), Q, Q, True,
                build=lambda _a: rcon.VersionRequest()),
    CommandSpec("seed", "Map seed", (), Q, Q, True, build=lambda _a: rcon.SeedRequest()),
    CommandSpec(
        "evolution", "Enemy evolution: 'all' or one surface",
        (OptionSpec("target", "'all' or a surface name", required=True),),
        Q, Q, True, build=_evolution,
    ),
    CommandSpec("admins", "Server administrators", (), Q, Q, True,
                build=lambda _a: rcon.AdminsRequest()),
    CommandSpec("health", "Bot and RCON connection health", (), Q, Q, True,
                build=lambda _a: rcon.HealthRequest()),
    CommandSpec(
        "kick", "Kick a player",
        (_PLAYER, OptionSpec("reason", "Why", max_length=rcon.REASON_MAX)),
        A, A, True, build=lambda a: rcon.KickRequest(player=_player(a), reason=_opt(a, "reason")),
    ),
    CommandSpec(
        "ban", "Ban a player",
        (_PLAYER, OptionSpec("reason", "Why", max_length=rcon.REASON_MAX)),
        D, D, True, build=lambda a: rcon.BanRequest(player=_player(a), reason=_opt(a, "reason")),
    ),
    CommandSpec("unban", "Lift a ban", (_PLAYER,), D, D, True,
                build=lambda a: rcon.UnbanRequest(player=_player(a))),
    CommandSpec("mute", "Mute a player", (_PLAYER,), A, A, True,
                build=lambda a: rcon.MuteRequest(player=_player(a))),
    CommandSpec("unmute", "Unmute a player", (_PLAYER,), A, A, True,
                build=lambda a: rcon.UnmuteRequest(player=_player(a))),
    CommandSpec("promote", "Make a player an admin", (_PLAYER,), D, D, True,
                build=lambda a: rcon.PromoteRequest(player=_player(a))),
    CommandSpec("demote", "Remove a player from the admins", (_PLAYER,), D, D, True,
                build=lambda a: rcon.DemoteRequest(player=_player(a))),
    CommandSpec("save", "Save the game", (OptionSpec("name", "Save name (optional)"),), A, A, True,
                build=_save, timeout_s=130.0),  # a big map saves for minutes
    CommandSpec(
        "broadcast", "Message every player (highlighted)",
        (OptionSpec("message", "The text", required=True, max_length=rcon.MESSAGE_MAX),),
        A, A, True, build=lambda a: rcon.BroadcastRequest(message=str(a["message"])),
        usage_note="uses Lua: disables achievements on the save",
    ),
    CommandSpec(
        "whisper", "Private message to one player",
        (_PLAYER, OptionSpec("message", "The text", required=True, max_length=rcon.MESSAGE_MAX)),
        A, A, True,
        build=lambda a: rcon.WhisperRequest(player=_player(a), message=str(a["message"])),
    ),
    CommandSpec(
        "whitelist", "Show or change the whitelist",
        (
            OptionSpec("action", "add, remove, list, enable or disable", required=True,
                       choices=("add", "remove", "list", "enable", "disable")),
            OptionSpec("player", "Player (for add and remove)", max_length=rcon.PLAYER_NAME_MAX),
        ),
        A, A, True, build=_whitelist,
    ),
    CommandSpec(
        "clock", "Show or set the time of day",
        (OptionSpec("value", "day, night, eternal-day, eternal-night or 0.0-1.0"),),
        A, A, True, build=_clock, usage_note="uses Lua: disables achievements on the save",
    ),
    CommandSpec(
        "speed", "Set the game speed",
        (OptionSpec("value", "0.1 to 10.0 (1 = normal)", OptionType.NUMBER, required=True,
                    min_value=0.1, max_value=10.0),),
        A, A, True, build=_speed, usage_note="uses Lua: disables achievements on the save",
    ),
    CommandSpec(
        "research", "Research status, or research / undo technologies",
        (
            OptionSpec("force", "Force (default player)"),
            OptionSpec("action", "all, undo, or a technology name"),
            OptionSpec("technology", "Technology name (or 'all' with undo)"),
        ),
        A, A, True, build=_research, usage_note="uses Lua: disables achievements on the save",
    ),
    CommandSpec(
        "rcon", "Run a raw console command (dangerous)",
        (OptionSpec("command", "The console command", required=True, max_length=2000),),
        D, D, True, build=lambda a: rcon.RawRequest(command=str(a["command"])),
    ),
    CommandSpec("help", "List the commands", (), N, None, False, local="help"),
    # -- new: history from the query API (a second command: /factorio has 25 already) ---
    CommandSpec(
        "ups", "UPS history as a chart",
        (OptionSpec("hours", "How far back (default 24)", OptionType.INTEGER, min_value=1,
                    max_value=720),),
        Q, Q, True, local="history", root=STATS_ROOT,
    ),
    CommandSpec(
        "players", "Players-online history as a chart",
        (OptionSpec("hours", "How far back (default 24)", OptionType.INTEGER, min_value=1,
                    max_value=720),),
        Q, Q, True, local="history", root=STATS_ROOT,
    ),
    CommandSpec("playtime", "A player's total playtime", (_PLAYER,), Q, Q, True, local="history",
                root=STATS_ROOT),
    CommandSpec("leaderboard", "Top players by playtime", (), Q, Q, True, local="history",
                root=STATS_ROOT),
    CommandSpec("seen", "When a player was last seen", (_PLAYER,), Q, Q, True, local="history",
                root=STATS_ROOT),
    CommandSpec("alerts", "Alerts active now", (), Q, Q, True, local="history", root=STATS_ROOT),
)  # fmt: skip


def find(root: str, name: str) -> CommandSpec | None:
    """The spec of ``/root name``."""
    for spec in COMMANDS:
        if spec.root == root and spec.name == name:
            return spec
    return None


def options_of(spec: CommandSpec) -> tuple[OptionSpec, ...]:
    """The spec's options plus the optional ``server`` (connect has it already)."""
    if any(o.name == "server" for o in spec.options):
        return spec.options
    return (*spec.options, SERVER_OPTION)


def _option_json(option: OptionSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": int(option.type),
        "name": option.name,
        "description": option.description,
        "required": option.required,
    }
    if option.choices:
        data["choices"] = [{"name": c, "value": c} for c in option.choices]
    if option.autocomplete:
        data["autocomplete"] = True
    if option.min_value is not None:
        data["min_value"] = option.min_value
    if option.max_value is not None:
        data["max_value"] = option.max_value
    if option.max_length is not None:
        data["max_length"] = option.max_length
    return data


ROOT_DESCRIPTIONS = {ROOT: "Factorio servers", STATS_ROOT: "Factorio history and statistics"}


def command_tree() -> list[dict[str, Any]]:
    """The exact command tree registered in each guild (Discord's JSON shape).

    Guild-only (``contexts: [0]``), installed to guilds; no ``default_member_permissions``:
    who may run what is decided per server by servers.yml, and guild admins can still narrow
    it in Server Settings → Integrations.
    """
    tree = []
    for root, description in ROOT_DESCRIPTIONS.items():
        subcommands = [
            {
                "type": 1,
                "name": spec.name,
                "description": spec.description,
                "options": [_option_json(o) for o in options_of(spec)],
            }
            for spec in COMMANDS
            if spec.root == root
        ]
        tree.append(
            {
                "type": 1,
                "name": root,
                "description": description,
                "options": subcommands,
                "contexts": [0],
                "integration_types": [0],
            }
        )
    return tree
