"""Pure formatters for Factorio's console output, one function per line shape.

Shapes and sources are in shared/research/factorio-facts.md §3.2, §3.3 and §5: date-prefixed
`[TAG]` game events (`2026-11-27 14:03:10 [JOIN] Cool-Guy joined the game`), engine lines with
seconds since start right-aligned to eight characters (`   0.567 Hosting game at ...`, growing
past the padding on long runs), and the very first line that carries both. No function here
reads a clock or touches a file; callers pass the time in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

__all__ = [
    "ACHIEVEMENTS_WARNING",
    "FACTORIO_BUILD",
    "FACTORIO_VERSION",
    "SERVER_ACTOR",
    "STARTUP_DURATION_S",
    "achievements_warning_line",
    "ban_line",
    "banner_line",
    "chat_line",
    "command_error_line",
    "command_line",
    "demote_line",
    "engine_line",
    "engine_log_line",
    "event_line",
    "format_date",
    "format_uptime",
    "goodbye_line",
    "hosting_line",
    "join_line",
    "kick_line",
    "leave_line",
    "promote_line",
    "quitting_line",
    "rcon_connection_line",
    "rcon_started_line",
    "saving_finished_line",
    "saving_to_line",
    "server_chat_line",
    "shutdown_lines",
    "startup_lines",
    "unban_line",
]

#: The version the simulator claims everywhere (banner, `/version`); the samples in §5 are 2.0.77.
FACTORIO_VERSION: Final = "2.0.77"
#: Build number printed in the banner next to FACTORIO_VERSION (FactorioReforge sample, §5).
FACTORIO_BUILD: Final = 84539
#: How Factorio names the console, RCON and stdin as an actor (§3.3 `[CHAT] <server>: ...`).
SERVER_ACTOR: Final = "<server>"
#: Text of the achievements warning written to the console log (facts §4.4).
ACHIEVEMENTS_WARNING: Final = (
    "Using Lua console commands will disable achievements. Please repeat the command to proceed."
)

#: Uptime of the last start-up line (the 2.0.77 capture reached InGame at 0.567 s, facts §5).
STARTUP_DURATION_S: Final = 0.567

# Source locations printed after the level. They differ between Factorio versions; parsers must
# not depend on them. 2.0.77 values where a 2.0.77 capture exists (§5 FactorioReforge), else
# the Clusterio fixture's (§5).
_RCON_SOURCE: Final = "RemoteCommandProcessor.cpp:126"
_SAVING_TO_SOURCE: Final = "AppManager.cpp:287"
_SAVING_FINISHED_SOURCE: Final = "AppManager.cpp:419"
_MAINLOOP_SOURCE: Final = "MainLoop.cpp:448"
_MAINLOOP_SAVING_MAP_SOURCE: Final = "MainLoop.cpp:437"
_STATE_SOURCE: Final = "ServerMultiplayerManager.cpp:808"


def format_date(when: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS`, second resolution, no zone marker (facts §3.2)."""
    return when.strftime("%Y-%m-%d %H:%M:%S")


def format_uptime(uptime_s: float) -> str:
    """Seconds since start with three decimals, right-aligned to eight characters."""
    return f"{uptime_s:8.3f}"


def engine_line(uptime_s: float, message: str) -> str:
    """Shape B: `<secs> <message>`, e.g. `   0.567 Hosting game at IP ADDR:({0.0.0.0:34197})`."""
    return f"{format_uptime(uptime_s)} {message}"


def engine_log_line(uptime_s: float, level: str, source: str, message: str) -> str:
    """Shape A: `<secs> <Level> <File.cpp>:<line>: <message>`."""
    return engine_line(uptime_s, f"{level} {source}: {message}")


def event_line(when: datetime, tag: str, text: str) -> str:
    """Shape C: `YYYY-MM-DD HH:MM:SS [TAG] <text>`."""
    return f"{format_date(when)} [{tag}] {text}"


def banner_line(
    started_at: datetime, version: str = FACTORIO_VERSION, build: int = FACTORIO_BUILD
) -> str:
    """The very first line: uptime 0, the start date, version and build (facts §3.2, §5)."""
    platform = "linux64, headless, space-age"
    return engine_line(
        0.0, f"{format_date(started_at)}; Factorio {version} (build {build}, {platform})"
    )


def hosting_line(uptime_s: float, host: str, port: int) -> str:
    """`Hosting game at IP ADDR:({0.0.0.0:34197})`."""
    return engine_line(uptime_s, f"Hosting game at IP ADDR:({{{host}:{port}}})")


def rcon_started_line(uptime_s: float, host: str, port: int) -> str:
    """The RCON ready marker (facts §4.1)."""
    return engine_log_line(
        uptime_s, "Info", _RCON_SOURCE, f"Starting RCON interface at IP ADDR:({{{host}:{port}}})"
    )


def rcon_connection_line(uptime_s: float, host: str, port: int) -> str:
    """Logged once per accepted RCON connection (facts §4.1)."""
    return engine_log_line(
        uptime_s, "Info", _RCON_SOURCE, f"New RCON connection from IP ADDR:({{{host}:{port}}})"
    )


def saving_to_line(uptime_s: float, save_name: str) -> str:
    """`Info AppManager.cpp:287: Saving to _autosave4 (blocking).` (facts §5, Clusterio)."""
    message = f"Saving to {save_name} (blocking)."
    return engine_log_line(uptime_s, "Info", _SAVING_TO_SOURCE, message)


def saving_finished_line(uptime_s: float) -> str:
    """`Info AppManager.cpp:419: Saving finished` (2.0.77, FactorioReforge notes §4)."""
    return engine_log_line(uptime_s, "Info", _SAVING_FINISHED_SOURCE, "Saving finished")


def quitting_line(uptime_s: float, reason: str) -> str:
    """`Quitting: <reason>.`; Factorio uses `signal` and `remote-quit` (facts §5)."""
    return engine_line(uptime_s, f"Quitting: {reason}.")


def goodbye_line(uptime_s: float) -> str:
    """The last line Factorio prints before exiting."""
    return engine_line(uptime_s, "Goodbye")


def join_line(when: datetime, name: str) -> str:
    """`[JOIN] <name> joined the game`."""
    return event_line(when, "JOIN", f"{name} joined the game")


def leave_line(when: datetime, name: str) -> str:
    """`[LEAVE] <name> left the game`."""
    return event_line(when, "LEAVE", f"{name} left the game")


def chat_line(when: datetime, name: str, text: str) -> str:
    """`[CHAT] <name>: <text>`."""
    return event_line(when, "CHAT", f"{name}: {text}")


def server_chat_line(when: datetime, text: str) -> str:
    """`[CHAT] <server>: <text>`: chat typed on the console, stdin or sent over RCON."""
    return chat_line(when, SERVER_ACTOR, text)


def command_line(when: datetime, name: str, lua: str) -> str:
    """`[COMMAND] <name> (command): <lua>`."""
    return event_line(when, "COMMAND", f"{name} (command): {lua}")


def command_error_line(when: datetime, error: str) -> str:
    """`Cannot execute command. Error: <error>`: date-prefixed but untagged (facts §3.2 C)."""
    return f"{format_date(when)} Cannot execute command. Error: {error}"


def _reason(reason: str | None) -> str:
    return reason or "unspecified"


def kick_line(when: datetime, name: str, by: str = SERVER_ACTOR, reason: str | None = None) -> str:
    """`[KICK] <name> was kicked by <by>. Reason: <reason>.` (`unspecified` without a reason)."""
    return event_line(when, "KICK", f"{name} was kicked by {by}. Reason: {_reason(reason)}.")


def ban_line(
    when: datetime,
    name: str,
    by: str = SERVER_ACTOR,
    reason: str | None = None,
    *,
    is_on_map: bool = True,
) -> str:
    """`[BAN] <name> was banned by <by>. Reason: <reason>.`; ` (not on map)` after the name."""
    who = name if is_on_map else f"{name} (not on map)"
    return event_line(when, "BAN", f"{who} was banned by {by}. Reason: {_reason(reason)}.")


def unban_line(when: datetime, name: str, by: str = SERVER_ACTOR) -> str:
    """`[UNBANNED] <name> was unbanned by <by>.`."""
    return event_line(when, "UNBANNED", f"{name} was unbanned by {by}.")


def promote_line(when: datetime, name: str, by: str = SERVER_ACTOR) -> str:
    """`[PROMOTE] <name> was promoted to admin by <by>.` (regex-derived, facts §3.3)."""
    return event_line(when, "PROMOTE", f"{name} was promoted to admin by {by}.")


def demote_line(when: datetime, name: str, by: str = SERVER_ACTOR) -> str:
    """`[DEMOTE] <name> was demoted from admin by <by>.` (regex-derived, facts §3.3)."""
    return event_line(when, "DEMOTE", f"{name} was demoted from admin by {by}.")


def achievements_warning_line(when: datetime) -> str:
    """`[WARNING] Using Lua console commands will disable achievements. ...` (facts §4.4)."""
    return event_line(when, "WARNING", ACHIEVEMENTS_WARNING)


# Offsets (seconds) of the start-up lines, as measured in the 2.0.77 capture (facts §5).
_STARTUP_SCRIPT: Final[Sequence[tuple[float, str]]] = (
    (0.013, "Running in headless mode"),
    (0.013, "Audio is disabled"),
    (0.023, "Loading mod core 0.0.0 (data.lua)"),
    (0.031, "Loading mod base {version} (data.lua)"),
    (0.542, "Factorio initialised"),
    (
        0.542,
        (
            f"Info {_STATE_SOURCE}: updateTick(18446744073709551615) changing state"
            " from(Ready) to(PreparedToHostGame)"
        ),
    ),
    (
        0.542,
        (
            f"Info {_STATE_SOURCE}: updateTick(18446744073709551615) changing state"
            " from(PreparedToHostGame) to(CreatingGame)"
        ),
    ),
    (0.553, "Info Scenario.cpp:154: Map version {version}-0"),
)


def startup_lines(
    started_at: datetime,
    *,
    game_host: str = "0.0.0.0",  # noqa: S104 - printed text, not a bind
    game_port: int = 34197,
    rcon: tuple[str, int] | None = None,
    version: str = FACTORIO_VERSION,
    build: int = FACTORIO_BUILD,
) -> list[str]:
    """The engine preamble of a server start, ending with the RCON marker when RCON is on."""
    lines = [banner_line(started_at, version, build)]
    lines.extend(
        engine_line(offset, text.format(version=version)) for offset, text in _STARTUP_SCRIPT
    )
    lines.append(hosting_line(STARTUP_DURATION_S, game_host, game_port))
    lines.append(
        engine_log_line(
            STARTUP_DURATION_S,
            "Info",
            _STATE_SOURCE,
            "updateTick(0) changing state from(CreatingGame) to(InGame)",
        )
    )
    if rcon is not None:
        lines.append(rcon_started_line(STARTUP_DURATION_S, *rcon))
    return lines


def shutdown_lines(
    uptime_s: float, *, signal_name: str = "SIGINT", save_path: str = "saves/world.zip"
) -> list[str]:
    """A graceful stop on a signal: save, quit, `Goodbye` (facts §5, 2.0.77 capture)."""
    progress = "Saving progress: 100.000000%"
    return [
        engine_line(uptime_s, f"Received {signal_name}, shutting down"),
        quitting_line(uptime_s, "signal"),
        engine_log_line(
            uptime_s, "Info", _MAINLOOP_SAVING_MAP_SOURCE, f"Saving map as {save_path}"
        ),
        engine_log_line(uptime_s + 0.019, "Info", _MAINLOOP_SOURCE, progress),
        goodbye_line(uptime_s + 0.517),
    ]
