"""A Factorio headless-server stand-in: real-format console logs and Source RCON."""

from simulator import log_lines
from simulator.clock import Clock, ManualClock, SystemClock
from simulator.commands import CommandOutcome, CommandProcessor
from simulator.console_log import ConsoleLogWriter
from simulator.game import GameState
from simulator.lua_env import LuaResult, LuaSandbox
from simulator.rcon_protocol import Packet, RconProtocolError, decode_packet, encode_packet
from simulator.rcon_server import RconServer
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
from simulator.server import ServerSettings, SimulatedServer

__all__ = [
    "Action",
    "Autosave",
    "Ban",
    "Chat",
    "Clock",
    "CommandOutcome",
    "CommandProcessor",
    "ConsoleLogWriter",
    "Demote",
    "GameState",
    "Join",
    "Kick",
    "Leave",
    "LogWorld",
    "LuaCommand",
    "LuaResult",
    "LuaSandbox",
    "ManualClock",
    "Packet",
    "Promote",
    "RconProtocolError",
    "RconServer",
    "Scenario",
    "ServerChat",
    "ServerSettings",
    "SimulatedServer",
    "SystemClock",
    "Unban",
    "Wait",
    "World",
    "decode_packet",
    "encode_packet",
    "format_action",
    "log_lines",
    "player_names",
]
