"""`SimulatedServer`: one Factorio stand-in, its console log, its RCON and its test controls.

It is the `World` a scenario plays into (joins, chat, kicks and autosaves change the state that
RCON reports) and the handler behind its RCON server (commands change the state and write their
console-log lines). Everything reads time from one injected clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from simulator import log_lines
from simulator.clock import Clock, SystemClock
from simulator.commands import CommandProcessor
from simulator.console_log import ConsoleLogWriter
from simulator.game import GameState
from simulator.lua_env import LuaSandbox
from simulator.rcon_server import DEFAULT_MAX_COMMAND_BYTES, RconServer
from simulator.scenario import (
    Action,
    Autosave,
    Ban,
    Chat,
    Demote,
    Join,
    Kick,
    Leave,
    LuaCommand,
    Promote,
    Unban,
    format_action,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Coroutine, Iterable
    from types import TracebackType

    from simulator.scenario import Scenario

__all__ = ["ServerSettings", "SimulatedServer"]


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """How one simulated server is set up."""

    log_path: Path
    """The `--console-log` file; appended to, parent directories created."""
    name: str = "sim"
    """A label for messages; not written anywhere Factorio would not write it."""
    rcon_port: int | None = None
    """RCON port; None runs without RCON, 0 picks a free port (read it from `rcon_port`)."""
    rcon_host: str = "127.0.0.1"
    """Address RCON binds to and that the RCON marker line prints."""
    rcon_password: str = ""
    """The RCON password."""
    game_port: int = 34197
    """The UDP game port printed in `Hosting game at ...` (nothing listens on it)."""
    ups: float = 60.0
    """Updates per second the server achieves; lower it to trigger low-UPS alerts."""
    auto_pause: bool = True
    """Stop the tick while nobody is online, as Factorio's `auto_pause` does."""
    seed: int = 3_141_592_653
    """The map seed `/seed` prints."""
    save_name: str = "world"
    """The save `/server-save` without a name writes."""
    save_duration_s: float = 0.0
    """How long a save blocks RCON (replies wait, facts §4.4)."""
    is_achievements_enabled: bool = True
    """A fresh save: the first Lua command is swallowed with the achievements warning."""
    is_rcon_connection_logged: bool = True
    """Write `New RCON connection from ...` lines to the console log."""
    max_command_bytes: int = DEFAULT_MAX_COMMAND_BYTES
    """Largest command body RCON accepts before dropping the session."""
    start_tick: int = 0
    """`game.tick` when the server starts."""

    def __post_init__(self) -> None:
        if self.ups < 0:
            raise ValueError(f"ups must not be negative, got {self.ups}")
        if self.save_duration_s < 0:
            raise ValueError(f"save_duration_s must not be negative, got {self.save_duration_s}")


class SimulatedServer:
    """A simulated Factorio headless server; use `async with` or `start()`/`stop()`.

    Controls for tests: `set_ups`, `pause`/`unpause`, `stall_rcon`/`release_rcon`,
    `drop_rcon_connections`, `restart_rcon`, `refuse_rcon`/`accept_rcon`, `set_rcon_password`,
    `add_player`/`remove_player`, `set_evolution`, `research`, `save`, and `apply` for any
    scenario action.
    """

    def __init__(self, settings: ServerSettings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.state = GameState(
            clock=self.clock,
            ups=settings.ups,
            auto_pause=settings.auto_pause,
            seed=settings.seed,
            start_tick=settings.start_tick,
            is_achievements_enabled=settings.is_achievements_enabled,
            save_name=settings.save_name,
        )
        self.commands = CommandProcessor(self.state, LuaSandbox(self.state))
        self.rcon: RconServer | None = None
        self._log: ConsoleLogWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._saves_in_progress = 0
        self._is_stalled_by_control = False

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def log(self) -> ConsoleLogWriter:
        """The console-log writer (exists between `start` and `stop`)."""
        if self._log is None:
            raise RuntimeError(f"simulated server {self.settings.name} is not running")
        return self._log

    @property
    def rcon_port(self) -> int | None:
        """The port RCON listens on, once started (None without RCON)."""
        return None if self.rcon is None else self.rcon.port

    async def start(self) -> None:
        """Write the engine preamble and start RCON (when configured)."""
        settings = self.settings
        self._log = ConsoleLogWriter(settings.log_path, clock=self.clock)
        rcon_address = None
        if settings.rcon_port is not None:
            self.rcon = RconServer(
                self.execute,
                password=settings.rcon_password,
                host=settings.rcon_host,
                port=settings.rcon_port,
                max_command_bytes=settings.max_command_bytes,
                on_connect=self._on_rcon_connect,
            )
            await self.rcon.start()
            rcon_address = (settings.rcon_host, self.rcon.port)
        self._log.start(game_port=settings.game_port, rcon=rcon_address)

    async def stop(self, *, signal_name: str = "SIGINT") -> None:
        """Close RCON and write the graceful-shutdown lines ending with `Goodbye`."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.rcon is not None:
            await self.rcon.close()
        if self._log is not None:
            self._log.stop(
                signal_name=signal_name, save_path=f"saves/{self.settings.save_name}.zip"
            )
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _on_rcon_connect(self, host: str, port: int) -> None:
        if self.settings.is_rcon_connection_logged and self._log is not None:
            self._log.write(log_lines.rcon_connection_line(self._log.uptime_s(), host, port))

    # -- commands -------------------------------------------------------------------------

    async def execute(self, command: str) -> str | None:
        """Run a console command as RCON would; returns the reply body (None: no reply)."""
        outcome = self.commands.execute(command, when=self.clock.now())
        self.log.write_many(outcome.log_lines)
        if outcome.save_name is not None:
            await self.save(outcome.save_name)
        return outcome.reply

    async def save(self, name: str | None = None) -> None:
        """Save: `Saving to <name> (blocking).`, RCON stalled for `save_duration_s`, finished."""
        log = self.log
        log.write(log_lines.saving_to_line(log.uptime_s(), name or self.settings.save_name))
        if self.settings.save_duration_s > 0:
            self._saves_in_progress += 1
            self._sync_stall()
            try:
                await self.clock.sleep(self.settings.save_duration_s)
            finally:
                self._saves_in_progress -= 1
                self._sync_stall()
        if self._log is not None:
            self._log.write(log_lines.saving_finished_line(self._log.uptime_s()))

    # -- the World protocol ---------------------------------------------------------------------

    def get_online_players(self) -> Collection[str]:
        return self.state.get_online_players()

    def get_banned_players(self) -> Collection[str]:
        return self.state.get_banned_players()

    def apply(self, action: Action) -> None:
        """Carry out a scenario action: change the state and write its console-log lines."""
        state = self.state
        match action:
            case Join(name):
                state.connect(name)
            case Leave(name) | Kick(name):
                state.disconnect(name)
            case Chat(name) if name in state.mutes:
                return
            case Ban(name, reason):
                state.ban(name, reason)
            case Unban(name):
                state.unban(name)
            case Promote(name):
                state.add_admin(name)
            case Demote(name):
                state.remove_admin(name)
            case LuaCommand():
                state.is_achievements_enabled = False
                state.is_achievements_warning_shown = True
            case Autosave(slot):
                self._spawn(self.save(f"_autosave{slot}"))
                return
            case _:
                pass
        log = self.log
        log.write_many(format_action(action, log.now(), log.uptime_s()))

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_scenario(
        self,
        scenario: Scenario,
        *,
        rate_lines_per_s: float = 2.0,
        max_actions: int | None = None,
        stop: asyncio.Event | None = None,
    ) -> int:
        """Play `scenario` into this server; returns the number of actions applied."""
        return await scenario.run(
            self,
            clock=self.clock,
            rate_lines_per_s=rate_lines_per_s,
            max_actions=max_actions,
            stop=stop,
        )

    # -- controls -----------------------------------------------------------------------------

    def set_ups(self, ups: float) -> None:
        """Change the achieved UPS (the tick rate at speed 1)."""
        self.state.set_ups(ups)

    def pause(self) -> None:
        """Stop the tick (as `game.tick_paused = true`)."""
        self.state.set_paused(True)

    def unpause(self) -> None:
        """Let the tick run again."""
        self.state.set_paused(False)

    def add_player(self, name: str) -> None:
        """A player joins (`[JOIN]` line; created on first join)."""
        self.apply(Join(name))

    def remove_player(self, name: str, *, is_logged: bool = True) -> None:
        """A player leaves (`[LEAVE]` line unless `is_logged` is False)."""
        self.apply(Leave(name, is_logged=is_logged))

    def set_evolution(self, surface: str, factor: float) -> None:
        """Set one surface's evolution factor."""
        self.state.set_evolution(surface, factor)

    def research(self, technologies: Iterable[str]) -> None:
        """Mark technologies researched."""
        self.state.research(technologies)

    def _rcon_server(self) -> RconServer:
        if self.rcon is None:
            raise RuntimeError(f"simulated server {self.settings.name} runs without RCON")
        return self.rcon

    def _sync_stall(self) -> None:
        rcon = self.rcon
        if rcon is None:
            return
        if self._is_stalled_by_control or self._saves_in_progress:
            rcon.stall()
        else:
            rcon.release()

    def stall_rcon(self) -> None:
        """Accept and read RCON, answer nothing until `release_rcon()`."""
        self._rcon_server()
        self._is_stalled_by_control = True
        self._sync_stall()

    def release_rcon(self) -> None:
        """Answer RCON again (unless a save is still running)."""
        self._rcon_server()
        self._is_stalled_by_control = False
        self._sync_stall()

    async def drop_rcon_connections(self) -> None:
        """Close every open RCON connection; the listener stays up."""
        await self._rcon_server().drop_connections()

    async def restart_rcon(self) -> None:
        """Drop all RCON connections and listen again on the same port."""
        await self._rcon_server().restart()

    async def refuse_rcon(self) -> None:
        """Close the RCON listener: connects are refused until `accept_rcon()`."""
        await self._rcon_server().refuse()

    async def accept_rcon(self) -> None:
        """Listen for RCON again on the same port."""
        await self._rcon_server().start()

    def set_rcon_password(self, password: str) -> None:
        """Require `password` for RCON logins from now on."""
        self._rcon_server().set_password(password)
