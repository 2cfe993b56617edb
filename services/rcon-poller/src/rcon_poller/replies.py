"""Reading Factorio's console replies into values, and its error texts into errors. Pure.

Formats are those of shared/research/factorio-facts.md §4.3 (and docs/simulator.md where the
facts are silent). Every parser raises :class:`UnexpectedReply` on text it does not recognise
rather than guessing, so a format change in a Factorio release shows up as an error result,
not as silently wrong data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.contracts import RconErrorCode


class UnexpectedReply(ValueError):
    """Factorio answered something this parser does not understand."""

    def __init__(self, what: str, reply: str) -> None:
        self.what = what
        self.reply = reply
        super().__init__(f"unexpected reply to {what}: {reply[:120]!r}")


@dataclass(frozen=True, slots=True)
class FactorioError:
    """An error Factorio reported in a reply."""

    code: RconErrorCode
    message: str


_LUA_ERROR = "Cannot execute command. Error: "
_ERROR_SHAPES: tuple[tuple[re.Pattern[str], RconErrorCode], ...] = (
    (re.compile(r'^Player "(?P<name>.*)" doesn\'t exist\.$'), RconErrorCode.UNKNOWN_PLAYER),
    (re.compile(r"^(?P<name>.+) is not banned\.$"), RconErrorCode.NOT_BANNED),
    (re.compile(r"^(?P<name>.+) is not in the admin list\.$"), RconErrorCode.NOT_ADMIN),
    (re.compile(r'^Surface "(?P<name>.*)" does not exist\.$'), RconErrorCode.UNKNOWN_SURFACE),
    (re.compile(r'^Unknown command "(?P<name>.*)"\.$'), RconErrorCode.COMMAND_FAILED),
    (re.compile(r"^Invalid usage of /(?P<name>\S+)\.$"), RconErrorCode.COMMAND_FAILED),
)


def find_error(reply: str) -> FactorioError | None:
    """The error a reply reports (Lua errors, unknown players, ...), or None."""
    text = reply.strip()
    index = text.find(_LUA_ERROR)
    if index >= 0:
        return FactorioError(RconErrorCode.LUA_ERROR, text[index:])
    first_line = text.split("\n", 1)[0]
    for pattern, code in _ERROR_SHAPES:
        if pattern.match(first_line):
            return FactorioError(code, first_line)
    return None


def _lines(reply: str) -> list[str]:
    return [line for line in reply.split("\n") if line.strip()]


_PLAYERS_HEADER = re.compile(r"^(?:Online players|Players) \((\d+)\):$")
_ONLINE = " (online)"


def parse_player_list(reply: str) -> tuple[tuple[str, bool], ...]:
    """``/players`` or ``/players online``: (name, is_online) for every listed player.

    The header's count must match the lines that follow. Names are taken verbatim after the
    two-space indent (they may contain spaces, dots or any script; facts §3.3).
    """
    lines = _lines(reply)
    if not lines:
        raise UnexpectedReply("/players", reply)
    header = _PLAYERS_HEADER.match(lines[0].strip())
    if header is None:
        raise UnexpectedReply("/players", reply)
    players = tuple(_listed_player(line) for line in lines[1:])
    if len(players) != int(header[1]):
        raise UnexpectedReply("/players", reply)
    return players


def _listed_player(line: str) -> tuple[str, bool]:
    name = line.removeprefix("  ")
    if name.endswith(_ONLINE):
        return name[: -len(_ONLINE)], True
    return name, False


def parse_online_players(reply: str) -> tuple[str, ...]:
    """Names of connected players from ``/players online``."""
    return tuple(name for name, is_online in parse_player_list(reply) if is_online)


def parse_admins(reply: str) -> tuple[tuple[str, bool], ...]:
    """``/admins``: (name, is_online) per admin; ``There are no admins.`` is an empty list."""
    lines = _lines(reply)
    if len(lines) == 1 and lines[0].strip() == "There are no admins.":
        return ()
    if not all(line.startswith("  ") for line in lines):
        raise UnexpectedReply("/admins", reply)
    return tuple(_listed_player(line) for line in lines)


_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def parse_version(reply: str) -> str:
    """``/version``: e.g. ``2.0.77``."""
    text = reply.strip()
    if not _VERSION.match(text):
        raise UnexpectedReply("/version", reply)
    return text


def parse_seed(reply: str) -> int:
    """``/seed``: the map seed."""
    text = reply.strip()
    if not text.isdigit():
        raise UnexpectedReply("/seed", reply)
    return int(text)


_EVOLUTION_2X = re.compile(r"^(?P<surface>.+?) - Evolution factor: (?P<factor>\d+(?:\.\d+)?)\.")
_EVOLUTION_1X = re.compile(r"^Evolution factor: (?P<factor>\d+(?:\.\d+)?)\.")


def parse_evolution(reply: str) -> dict[str, float]:
    """``/evolution``: factor per surface (2.x prints one line per surface; 1.1 one line).

    A 1.1 reply (no surface) is reported for ``Nauvis``.
    """
    result: dict[str, float] = {}
    for line in _lines(reply):
        match = _EVOLUTION_2X.match(line.strip())
        if match is not None:
            result[match["surface"]] = float(match["factor"])
            continue
        match = _EVOLUTION_1X.match(line.strip())
        if match is None:
            raise UnexpectedReply("/evolution", reply)
        result["Nauvis"] = float(match["factor"])
    if not result:
        raise UnexpectedReply("/evolution", reply)
    return result


_NAME_LIST = re.compile(r"^(?P<head>Whitelisted players|Banned players): (?P<names>.*)$")


def parse_name_list(reply: str, *, what: str) -> tuple[str, ...]:
    """``/whitelist get`` (``Whitelisted players: A, B and C``; ``The whitelist is empty.``).

    Names containing ``, `` or `` and `` cannot be told apart in this format; the poller
    refuses such names on input, so they never get on the list through it.
    """
    text = reply.strip()
    if text in ("The whitelist is empty.", "There are no banned players."):
        return ()
    match = _NAME_LIST.match(text)
    if match is None:
        raise UnexpectedReply(what, reply)
    head, _, last = match["names"].rpartition(" and ")
    names = [*head.split(", "), last] if head else [last]
    return tuple(n for n in names if n)


_LUA_OK = "ok"
_LUA_ERR = "err "


def parse_lua_reply(reply: str, *, what: str) -> list[str]:
    """The fields after ``ok`` of a reply printed by one of our Lua snippets.

    Our snippets print one line ``ok <fields...>`` or ``err <code>``. Lua errors become
    :class:`FactorioLuaError`; ``err`` lines become :class:`LuaRefusal`.
    """
    error = find_error(reply)
    if error is not None:
        raise FactorioLuaError(error)
    lines = _lines(reply)
    if len(lines) != 1:
        raise UnexpectedReply(what, reply)
    line = lines[0].strip()
    if line.startswith(_LUA_ERR):
        raise LuaRefusal(line[len(_LUA_ERR) :].strip())
    fields = line.split(" ")
    if fields[0] != _LUA_OK:
        raise UnexpectedReply(what, reply)
    return fields[1:]


class FactorioLuaError(Exception):
    """A Lua snippet failed in game (``Cannot execute command``)."""

    def __init__(self, error: FactorioError) -> None:
        self.error = error
        super().__init__(error.message)


class LuaRefusal(Exception):
    """A Lua snippet refused the request (``err <code>``: an unknown force, surface, ...)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)
