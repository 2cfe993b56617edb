"""A Factorio headless-server stand-in: real-format console logs and Source RCON."""

from simulator import log_lines
from simulator.clock import Clock, ManualClock, SystemClock
from simulator.console_log import ConsoleLogWriter
from simulator.scenario import (
    Action,
    Autosave,
    Ban,
    Chat,
    Demote,
    Join,
    Kick,
    Leave,
    LogWorld,
    LuaCommand,
    Promote,
    Scenario,
    ServerChat,
    Unban,
    Wait,
    World,
    format_action,
    player_names,
)

__all__ = [
    "Action",
    "Autosave",
    "Ban",
    "Chat",
    "Clock",
    "ConsoleLogWriter",
    "Demote",
    "Join",
    "Kick",
    "Leave",
    "LogWorld",
    "LuaCommand",
    "ManualClock",
    "Promote",
    "Scenario",
    "ServerChat",
    "SystemClock",
    "Unban",
    "Wait",
    "World",
    "format_action",
    "log_lines",
    "player_names",
]
