"""Allow-listed RCON operations: requests on ``<prefix>.rcon.<server>.<caller>``, their replies.

A calling service (the bot, later the web service: :class:`common.vocabulary.Caller`) sends one
request model as JSON to :meth:`common.topology.Topology.rcon_subject` of the server and its own
NATS identity, and gets one :class:`RconReply` back. The poller takes the caller from the
subject's last token, which the authorisation config lets no service forge, and answers only
known callers (``unknown_caller`` otherwise); a request on the old ``<prefix>.rcon.<server>``
has no responder. Only these operations exist: nothing on this subject builds a console
command by pasting user text. Every free-text parameter is checked here, at decode time, so a
hostile value is refused before anything reaches the game:

- player names: letters, digits (any script), ``_``, ``.``, ``-`` and single inner spaces, at
  most 60 characters;
- surface, force, technology and save names: a fixed ASCII charset (surfaces may also contain
  inner spaces), bounded length;
- reasons, messages and chat text: printable text without newlines or other control or format
  characters, bounded length; text that Factorio would treat as a command (a leading ``/``) is
  refused where it would be sent as console text.

The rcon-poller validates again (it decodes with these models) and also checks names against
the game where it can (the player is online, the surface, force or technology exists). Values
that end up in Lua are passed as escaped string literals, never spliced into code.

Requests and the reply carry ``v`` (schema version); each request is discriminated by ``op``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, Field, TypeAdapter, model_validator

from common.contracts._base import WireModel, decode_json

# -- parameter types ---------------------------------------------------------------------------

PLAYER_NAME_MAX: Final = 60
"""Longest player name accepted."""
REASON_MAX: Final = 200
"""Longest kick or ban reason accepted."""
MESSAGE_MAX: Final = 1000
"""Longest whisper, broadcast or chat text accepted."""
RAW_COMMAND_MAX_BYTES: Final = 4000
"""Longest raw command (UTF-8 bytes); Factorio drops sessions on commands over ~4 KB."""

_PLAYER = re.compile(r"[\w.\-]+(?: [\w.\-]+)*")
_SURFACE = re.compile(r"[A-Za-z0-9_\-]+(?: [A-Za-z0-9_\-]+)*")
_IDENT = re.compile(r"[A-Za-z0-9_\-]+")
# Control (Cc), format (Cf: zero-width, bidi overrides), line and paragraph separators,
# surrogates and unassigned code points never belong in a message sent to the game.
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn", "Co"})


def _check_printable(value: str, what: str) -> str:
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            msg = f"{what} must not contain control characters or newlines (found {char!r})"
            raise ValueError(msg)
    return value


def _check_player(value: str) -> str:
    if not _PLAYER.fullmatch(value):
        msg = (
            "a player name is letters, digits, '_', '.', '-' and single inner spaces "
            f"(at most {PLAYER_NAME_MAX} characters), got {value[:80]!r}"
        )
        raise ValueError(msg)
    return value


def _checker(pattern: re.Pattern[str], what: str, rule: str) -> Any:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            msg = f"{what} must be {rule}, got {value[:80]!r}"
            raise ValueError(msg)
        return value

    return check


def _check_text(what: str, *, is_console_text: bool) -> Any:
    def check(value: str) -> str:
        _check_printable(value, what)
        if not value.strip():
            msg = f"{what} must not be blank"
            raise ValueError(msg)
        if is_console_text and value.lstrip().startswith("/"):
            msg = f"{what} must not start with '/' (Factorio would run it as a command)"
            raise ValueError(msg)
        return value

    return check


PlayerName = Annotated[
    str, Field(min_length=1, max_length=PLAYER_NAME_MAX), AfterValidator(_check_player)
]
"""A Factorio player name."""
SurfaceName = Annotated[
    str,
    Field(min_length=1, max_length=100),
    AfterValidator(
        _checker(_SURFACE, "a surface name", "ASCII letters, digits, '_', '-' and inner spaces")
    ),
]
"""A surface (planet or platform) name, e.g. ``nauvis``."""
ForceName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    AfterValidator(_checker(_IDENT, "a force name", "ASCII letters, digits, '_' and '-'")),
]
"""A force name, e.g. ``player``."""
TechnologyName = Annotated[
    str,
    Field(min_length=1, max_length=100),
    AfterValidator(_checker(_IDENT, "a technology name", "ASCII letters, digits, '_' and '-'")),
]
"""A technology prototype name, e.g. ``automation-2``."""
SaveName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    AfterValidator(_checker(_IDENT, "a save name", "ASCII letters, digits, '_' and '-'")),
]
"""A save name (no dots or slashes: it becomes a file name on the server)."""
Reason = Annotated[
    str,
    Field(min_length=1, max_length=REASON_MAX),
    AfterValidator(_check_text("a reason", is_console_text=True)),
]
"""A kick or ban reason (console text)."""
ConsoleMessage = Annotated[
    str,
    Field(min_length=1, max_length=MESSAGE_MAX),
    AfterValidator(_check_text("a message", is_console_text=True)),
]
"""Text sent as console text (whisper, chat)."""
LuaMessage = Annotated[
    str,
    Field(min_length=1, max_length=MESSAGE_MAX),
    AfterValidator(_check_text("a message", is_console_text=False)),
]
"""Text passed to Lua as an escaped string literal (broadcast)."""


def _check_raw(value: str) -> str:
    if not value.strip():
        raise ValueError("a raw command must not be blank (Factorio never answers an empty one)")
    if "\x00" in value:
        raise ValueError("a raw command must not contain NUL characters")
    size = len(value.encode("utf-8"))
    if size > RAW_COMMAND_MAX_BYTES:
        msg = f"a raw command is at most {RAW_COMMAND_MAX_BYTES} bytes, got {size}"
        raise ValueError(msg)
    return value


RawCommand = Annotated[str, AfterValidator(_check_raw)]
"""A console command typed by an admin with the danger permission, sent as is."""


# -- requests ----------------------------------------------------------------------------------


class RconRequestBase(WireModel):
    """Fields every request has."""

    v: Literal[1] = 1
    """Schema version."""
    request_id: Annotated[str, Field(max_length=100)] | None = None
    """Caller's id for this request (echoed in logs and the reply)."""
    requested_by: Annotated[str, Field(max_length=100)] | None = None
    """Who asked (e.g. ``discord:<user id>``), for the audit log: the calling service's word
    about its user. Which service asked is never a payload field: the poller reads it from the
    subject."""


class StatusRequest(RconRequestBase):
    """A fresh status: players, game time, evolution, version, plus the poller's UPS."""

    op: Literal["status"] = "status"


class PlayersRequest(RconRequestBase):
    """Players online (``/players online``)."""

    op: Literal["players"] = "players"


class VersionRequest(RconRequestBase):
    """Factorio version (``/version``)."""

    op: Literal["version"] = "version"


class SeedRequest(RconRequestBase):
    """Map seed (``/seed``)."""

    op: Literal["seed"] = "seed"


class EvolutionRequest(RconRequestBase):
    """Enemy evolution per surface (``/evolution``), for all surfaces or one."""

    op: Literal["evolution"] = "evolution"
    surface: SurfaceName | None = None
    """One surface (as ``/evolution`` names it, e.g. ``Nauvis``), or None for all."""


class AdminsRequest(RconRequestBase):
    """The admin list (``/admins``)."""

    op: Literal["admins"] = "admins"


class HealthRequest(RconRequestBase):
    """The poller's view of this server's RCON connection; sends nothing to the game."""

    op: Literal["health"] = "health"


class KickRequest(RconRequestBase):
    """Kick an online player (``/kick``)."""

    op: Literal["kick"] = "kick"
    player: PlayerName
    """Who."""
    reason: Reason | None = None
    """Why; shown to the player and in the log."""


class BanRequest(RconRequestBase):
    """Ban a player, online or not (``/ban``)."""

    op: Literal["ban"] = "ban"
    player: PlayerName
    """Who."""
    reason: Reason | None = None
    """Why."""


class UnbanRequest(RconRequestBase):
    """Lift a ban (``/unban``)."""

    op: Literal["unban"] = "unban"
    player: PlayerName
    """Who."""


class MuteRequest(RconRequestBase):
    """Mute a player who has been on the map (``/mute``)."""

    op: Literal["mute"] = "mute"
    player: PlayerName
    """Who."""


class UnmuteRequest(RconRequestBase):
    """Unmute a player (``/unmute``)."""

    op: Literal["unmute"] = "unmute"
    player: PlayerName
    """Who."""


class PromoteRequest(RconRequestBase):
    """Put a player on the admin list (``/promote``)."""

    op: Literal["promote"] = "promote"
    player: PlayerName
    """Who."""


class DemoteRequest(RconRequestBase):
    """Take a player off the admin list (``/demote``)."""

    op: Literal["demote"] = "demote"
    player: PlayerName
    """Who."""


class SaveRequest(RconRequestBase):
    """Save the game (``/server-save``); with a name, a separate save, the live one untouched."""

    op: Literal["save"] = "save"
    name: SaveName | None = None
    """Save name, or None for the server's current save."""


class BroadcastRequest(RconRequestBase):
    """A highlighted message to every player (Lua ``game.print``; disables achievements)."""

    op: Literal["broadcast"] = "broadcast"
    message: LuaMessage
    """The text."""


class WhisperRequest(RconRequestBase):
    """A private message to one online player (``/whisper``)."""

    op: Literal["whisper"] = "whisper"
    player: PlayerName
    """Who."""
    message: ConsoleMessage
    """The text."""


WhitelistAction = Literal["list", "add", "remove", "enable", "disable"]
"""What a whitelist request does."""


class WhitelistRequest(RconRequestBase):
    """Read or change the whitelist (``/whitelist``)."""

    op: Literal["whitelist"] = "whitelist"
    action: WhitelistAction
    """``list``, ``add``, ``remove``, ``enable`` or ``disable``."""
    player: PlayerName | None = None
    """Required for ``add`` and ``remove``, refused otherwise."""

    @model_validator(mode="after")
    def _player_for_add_remove(self) -> Self:
        needs_player = self.action in ("add", "remove")
        if needs_player and self.player is None:
            raise ValueError(f"whitelist {self.action} needs a player")
        if not needs_player and self.player is not None:
            raise ValueError(f"whitelist {self.action} takes no player")
        return self


ClockAction = Literal["get", "day", "night", "set"]
"""What a clock request does."""


class ClockRequest(RconRequestBase):
    """Read or set a surface's time of day (Lua; disables achievements).

    ``day`` freezes at noon (daytime 0), ``night`` at midnight (daytime 0.5), ``set`` sets
    ``daytime`` and lets the clock run.
    """

    op: Literal["clock"] = "clock"
    action: ClockAction = "get"
    """``get``, ``day``, ``night`` or ``set``."""
    daytime: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    """Time of day in [0, 1) for ``set`` (0 = noon, 0.5 = midnight)."""
    surface: SurfaceName = "nauvis"
    """Which surface (internal name)."""

    @model_validator(mode="after")
    def _daytime_for_set(self) -> Self:
        if self.action == "set" and self.daytime is None:
            raise ValueError("clock set needs a daytime in [0, 1)")
        if self.action != "set" and self.daytime is not None:
            raise ValueError(f"clock {self.action} takes no daytime")
        return self


class SpeedRequest(RconRequestBase):
    """Set ``game.speed`` (Lua; disables achievements)."""

    op: Literal["speed"] = "speed"
    speed: Annotated[float, Field(ge=0.1, le=10.0)]
    """New game speed, 0.1 to 10 (1 = normal)."""


ResearchAction = Literal["status", "all", "undo_all", "undo", "research"]
"""What a research request does."""


class ResearchRequest(RconRequestBase):
    """Research status or changes for a force (Lua; disables achievements)."""

    op: Literal["research"] = "research"
    action: ResearchAction = "status"
    """``status`` (counts), ``all``, ``undo_all``, ``undo`` (one) or ``research`` (one)."""
    force: ForceName = "player"
    """Which force."""
    technology: TechnologyName | None = None
    """Required for ``undo`` and ``research``, refused otherwise."""

    @model_validator(mode="after")
    def _technology_when_needed(self) -> Self:
        needs_tech = self.action in ("undo", "research")
        if needs_tech and self.technology is None:
            raise ValueError(f"research {self.action} needs a technology")
        if not needs_tech and self.technology is not None:
            raise ValueError(f"research {self.action} takes no technology")
        return self


class ChatRequest(RconRequestBase):
    """Say something in game chat as ``<server>`` (plain console text; achievement-safe)."""

    op: Literal["chat"] = "chat"
    text: ConsoleMessage
    """The line (the bridge puts its marker and the author in front)."""


class RawRequest(RconRequestBase):
    """Send a console command as typed (danger permission only)."""

    op: Literal["raw"] = "raw"
    command: RawCommand
    """The command, e.g. ``/players`` or ``/sc rcon.print(game.tick)``."""


AnyRconRequest = (
    StatusRequest
    | PlayersRequest
    | VersionRequest
    | SeedRequest
    | EvolutionRequest
    | AdminsRequest
    | HealthRequest
    | KickRequest
    | BanRequest
    | UnbanRequest
    | MuteRequest
    | UnmuteRequest
    | PromoteRequest
    | DemoteRequest
    | SaveRequest
    | BroadcastRequest
    | WhisperRequest
    | WhitelistRequest
    | ClockRequest
    | SpeedRequest
    | ResearchRequest
    | ChatRequest
    | RawRequest
)
"""The union of every request model."""

RconRequest = Annotated[AnyRconRequest, Field(discriminator="op")]
"""Any allow-listed operation, discriminated by ``op``."""

RconOp = Literal[
    "status",
    "players",
    "version",
    "seed",
    "evolution",
    "admins",
    "health",
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "promote",
    "demote",
    "save",
    "broadcast",
    "whisper",
    "whitelist",
    "clock",
    "speed",
    "research",
    "chat",
    "raw",
]
"""Every operation name."""

ModerationOp = Literal["kick", "ban", "unban", "mute", "unmute", "promote", "demote"]
"""Operations on one player that answer with a :class:`ModerationResult`."""

# -- results -----------------------------------------------------------------------------------


class StatusResult(WireModel):
    """What ``status`` found."""

    op: Literal["status"] = "status"
    players_online: tuple[str, ...]
    """Connected players."""
    game_time_s: float | None
    """Game time in seconds (from ``/time``)."""
    evolution: dict[str, float]
    """Evolution factor per surface."""
    version: str | None
    """Factorio version."""
    ups: float | None
    """The poller's latest UPS estimate (None while unknown or paused)."""
    ups_target: float
    """What UPS should be (60 x game speed when known)."""
    is_paused: bool
    """True when the game made no progress over the latest sampling interval."""
    ups_sampled_at: datetime | None
    """When the UPS estimate was computed."""


class PlayersResult(WireModel):
    """What ``players`` found."""

    op: Literal["players"] = "players"
    players: tuple[str, ...]
    """Connected players, as Factorio lists them."""


class VersionResult(WireModel):
    """What ``version`` found."""

    op: Literal["version"] = "version"
    version: str
    """e.g. ``2.0.77``."""


class SeedResult(WireModel):
    """What ``seed`` found."""

    op: Literal["seed"] = "seed"
    seed: int
    """The map seed."""


class EvolutionResult(WireModel):
    """What ``evolution`` found."""

    op: Literal["evolution"] = "evolution"
    surfaces: dict[str, float]
    """Evolution factor per surface, named as ``/evolution`` prints them."""


class AdminsResult(WireModel):
    """What ``admins`` found."""

    op: Literal["admins"] = "admins"
    admins: tuple[str, ...]
    """Names on the admin list."""
    online: tuple[str, ...]
    """The admins among them who are connected."""


class HealthResult(WireModel):
    """The poller's view of the RCON connection."""

    op: Literal["health"] = "health"
    is_connected: bool
    """An authenticated connection is open."""
    connected_since: datetime | None
    """When the current connection was authenticated."""
    last_error: str | None
    """The last connection problem (never the password)."""
    retry_in_s: float | None
    """Seconds until the next connection attempt while disconnected."""
    last_sample_at: datetime | None
    """When the last metric sample succeeded."""
    poller: str
    """Id of the poller replica holding this server's lease."""


class ModerationResult(WireModel):
    """A moderation operation was carried out."""

    op: ModerationOp
    player: str
    """Who it applied to."""
    detail: str | None = None
    """Factorio's own words when it said something that is not an error, e.g. "will be
    promoted upon joining the game"."""


class SaveResult(WireModel):
    """The save finished."""

    op: Literal["save"] = "save"
    name: str | None
    """The save's name (None: the server's current save)."""


class BroadcastResult(WireModel):
    """The message was printed to every player."""

    op: Literal["broadcast"] = "broadcast"


class WhisperResult(WireModel):
    """The whisper was delivered."""

    op: Literal["whisper"] = "whisper"
    player: str
    """Who received it."""


class WhitelistResult(WireModel):
    """What ``whitelist`` did or found."""

    op: Literal["whitelist"] = "whitelist"
    action: WhitelistAction
    """The action carried out."""
    players: tuple[str, ...] | None = None
    """For ``list``: the whitelisted players."""
    player: str | None = None
    """For ``add`` / ``remove``: who."""


class ClockResult(WireModel):
    """The surface's time of day after the request."""

    op: Literal["clock"] = "clock"
    action: ClockAction
    """The action carried out."""
    surface: str
    """The surface."""
    daytime: float
    """Time of day in [0, 1) (0 = noon, 0.5 = midnight)."""
    is_frozen: bool
    """True when the time of day does not advance."""


class SpeedResult(WireModel):
    """The game speed after the request."""

    op: Literal["speed"] = "speed"
    speed: float
    """``game.speed`` as the game reports it."""


class ResearchResult(WireModel):
    """Research counts after the request."""

    op: Literal["research"] = "research"
    action: ResearchAction
    """The action carried out."""
    force: str
    """The force."""
    technology: str | None = None
    """The technology, for ``undo`` and ``research``."""
    researched: int
    """Technologies researched."""
    total: int
    """Technologies in total."""


class ChatResult(WireModel):
    """The chat line was said."""

    op: Literal["chat"] = "chat"


class RawResult(WireModel):
    """The reply to a raw command, as Factorio sent it."""

    op: Literal["raw"] = "raw"
    reply: str
    """The reply body (may be empty: many commands answer nothing)."""


RconResult = Annotated[
    StatusResult
    | PlayersResult
    | VersionResult
    | SeedResult
    | EvolutionResult
    | AdminsResult
    | HealthResult
    | ModerationResult
    | SaveResult
    | BroadcastResult
    | WhisperResult
    | WhitelistResult
    | ClockResult
    | SpeedResult
    | ResearchResult
    | ChatResult
    | RawResult,
    Field(discriminator="op"),
]
"""The structured result of a successful operation, discriminated by ``op``."""


class RconErrorCode(enum.StrEnum):
    """Why an operation failed."""

    INVALID_REQUEST = "invalid_request"
    """The request does not fit its contract (bad name, missing field, unknown op)."""
    COMMAND_TOO_LONG = "command_too_long"
    """The console command would be longer than Factorio accepts."""
    RCON_UNAVAILABLE = "rcon_unavailable"
    """No RCON connection (server down, wrong password, backing off)."""
    TIMEOUT = "timeout"
    """Factorio did not answer in time (saving, overloaded)."""
    UNKNOWN_PLAYER = "unknown_player"
    """No such player (or not online, where the operation needs them online)."""
    NOT_BANNED = "not_banned"
    """Unban of a player who is not banned."""
    NOT_ADMIN = "not_admin"
    """Demote of a player who is not on the admin list."""
    UNKNOWN_SURFACE = "unknown_surface"
    """No such surface."""
    UNKNOWN_FORCE = "unknown_force"
    """No such force."""
    UNKNOWN_TECHNOLOGY = "unknown_technology"
    """No such technology."""
    LUA_ERROR = "lua_error"
    """Factorio answered ``Cannot execute command. Error: ...``."""
    COMMAND_FAILED = "command_failed"
    """Factorio refused the command (unknown command, invalid usage, other error text)."""
    UNEXPECTED_REPLY = "unexpected_reply"
    """Factorio answered something the poller cannot read."""
    UNKNOWN_CALLER = "unknown_caller"
    """The subject's caller token is not a known :class:`~common.vocabulary.Caller`."""
    INTERNAL = "internal"
    """A bug in the poller; it was logged."""


class RconError(WireModel):
    """Why an operation failed, in words for admins."""

    code: RconErrorCode
    """Machine-readable reason."""
    message: str
    """One line for humans (Factorio's own text where it gave one)."""


class RconReply(WireModel):
    """The answer to one request: a result or an error, never both."""

    v: Literal[1] = 1
    """Schema version."""
    server: str
    """Server tag the request was for."""
    op: str
    """The requested operation (``?`` when the request could not be read)."""
    request_id: str | None = None
    """Echo of the request's ``request_id``."""
    ok: bool
    """True when ``result`` is set."""
    result: RconResult | None = None
    """The structured result when ``ok``."""
    error: RconError | None = None
    """The error when not ``ok``."""
    elapsed_ms: float = 0.0
    """Time the poller spent on the request."""

    @model_validator(mode="after")
    def _result_xor_error(self) -> Self:
        if self.ok != (self.result is not None) or self.ok == (self.error is not None):
            raise ValueError("a reply has a result when ok and an error otherwise")
        return self


READ_ONLY_OPS: Final = frozenset(
    {"status", "players", "version", "seed", "evolution", "admins", "health"}
)
"""Operations that only read the game (never audited by the poller)."""
_READ_ACTIONS: Final = {"whitelist": "list", "clock": "get", "research": "status"}


def is_audited(request: AnyRconRequest) -> bool:
    """True when the poller writes an audit record for this request: it changes the game.

    Reads (:data:`READ_ONLY_OPS`, ``whitelist list``, ``clock get``, ``research status``) are
    not audited, nor is bridged ``chat``: one record per Discord chat line would bury the
    moderation in the log, and Factorio logs the line itself (a ``bridged`` chat event).
    """
    if request.op in READ_ONLY_OPS or request.op == "chat":
        return False
    read_action = _READ_ACTIONS.get(request.op)
    return read_action is None or getattr(request, "action", None) != read_action


_request_adapter: TypeAdapter[AnyRconRequest] = TypeAdapter(RconRequest)


def decode_rcon_request(
    data: bytes | str, *, strict: bool = False, subject: str = ""
) -> AnyRconRequest:
    """Decode one request; raise :class:`InvalidMessage` naming every problem when it is bad."""
    return decode_json(_request_adapter.validate_json, data, strict=strict, subject=subject)


def encode_rcon_request(request: RconRequestBase) -> bytes:
    """The JSON bytes of a request (what a client sends)."""
    return request.to_json()
