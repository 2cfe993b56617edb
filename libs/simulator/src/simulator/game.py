"""The simulated game: players, admins, bans, mutes, whitelist, tick, evolution, research.

The tick is computed from the clock, never counted in a loop: it advances at `ups * speed`
ticks per second of clock time, and stands still while paused (by a control, by
`game.tick_paused`, or by `auto_pause` when nobody is online). Changing any of those re-anchors
the computation at the current tick, so the tick never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from simulator import log_lines

if TYPE_CHECKING:
    from collections.abc import Iterable

    from simulator.clock import Clock

__all__ = [
    "DEFAULT_SURFACES",
    "DEFAULT_TECHNOLOGIES",
    "Evolution",
    "GameState",
    "Player",
    "Surface",
]


@dataclass
class Evolution:
    """One surface's enemy evolution, as `/evolution` reports it (percentages are shares)."""

    factor: float = 0.0
    time_pct: int = 100
    pollution_pct: int = 0
    spawner_kills_pct: int = 0


@dataclass
class Surface:
    """A surface: internal name, the name `/evolution` prints, day length and evolution."""

    name: str
    display_name: str
    ticks_per_day: int = 25000
    evolution: Evolution = field(default_factory=Evolution)
    daytime_offset: float = 0.0
    """Added to the tick-derived daytime (set by writing `surface.daytime`)."""
    frozen_daytime: float | None = None
    """The daytime while `freeze_daytime` is true."""


def _default_surfaces() -> list[Surface]:
    return [
        Surface("nauvis", "Nauvis", 25000, Evolution(0.4213, 10, 84, 6)),
        Surface("vulcanus", "Vulcanus", 5400, Evolution(0.2101, 100, 0, 0)),
        Surface("gleba", "Gleba", 36000, Evolution(0.1352, 65, 16, 19)),
        Surface("platform-1", "platform-1", 25000, Evolution(0.0, 100, 0, 0)),
    ]


#: Surfaces of a fresh simulated Space Age save: three planets and one space platform.
DEFAULT_SURFACES: Final = tuple(s.name for s in _default_surfaces())

#: A few real technology names; the rest of a save's technologies are numbered after them.
DEFAULT_TECHNOLOGIES: Final = (
    "automation",
    "logistics",
    "electronics",
    "steel-processing",
    "military",
    "optics",
    "turrets",
    "stone-wall",
    "logistic-science-pack",
    "fast-inserter",
    "automation-2",
    "oil-processing",
    "advanced-circuit",
    "railway",
    "space-platform",
)


@dataclass
class Player:
    """A player who has been on the map; `is_online` while connected."""

    name: str
    index: int
    is_online: bool = False
    online_since_tick: int = 0
    online_time_ticks: int = 0


class GameState:
    """Everything RCON can ask about one simulated save, driven by an injected clock.

    Names are matched case-insensitively where Factorio's admin list does (facts §4.3 shows
    `/promote test_RCON_admin` finding `test_rcon_admin`); lists keep first-seen order.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        ups: float = 60.0,
        auto_pause: bool = True,
        seed: int = 3_141_592_653,
        version: str = log_lines.FACTORIO_VERSION,
        start_tick: int = 0,
        technologies_total: int = 231,
        technologies_researched: int = 42,
        is_achievements_enabled: bool = True,
        save_name: str = "world",
    ) -> None:
        self.clock = clock
        self.version = version
        self.seed = seed
        self.save_name = save_name
        self.auto_pause = auto_pause
        self.players: dict[str, Player] = {}
        self.admins: dict[str, str] = {}  # folded name -> name as listed
        self.bans: dict[str, str | None] = {}  # name -> reason
        self.mutes: dict[str, None] = {}
        self.whitelist: dict[str, None] = {}
        self.is_whitelist_enabled = False
        self.surfaces: dict[str, Surface] = {s.name: s for s in _default_surfaces()}
        self.technologies = _technologies(technologies_total, technologies_researched)
        self.is_achievements_enabled = is_achievements_enabled
        self.is_achievements_warning_shown = False
        self._ups = ups
        self._speed = 1.0
        self._is_paused = False
        self._anchor_tick = float(start_tick)
        self._anchor_s = clock.monotonic()

    # -- tick -------------------------------------------------------------------------------

    @property
    def is_paused(self) -> bool:
        """True while the tick stands still, for whatever reason."""
        return self._is_paused or (self.auto_pause and not self.get_online_players())

    @property
    def is_tick_paused(self) -> bool:
        """The explicit pause (`game.tick_paused`, or the pause control), not auto-pause."""
        return self._is_paused

    @property
    def ups(self) -> float:
        """Updates per second the simulated server achieves at speed 1."""
        return self._ups

    @property
    def speed(self) -> float:
        """`game.speed`."""
        return self._speed

    def _tick_float(self) -> float:
        rate = 0.0 if self.is_paused else self._ups * self._speed
        return self._anchor_tick + (self.clock.monotonic() - self._anchor_s) * rate

    @property
    def tick(self) -> int:
        """`game.tick` now."""
        return int(self._tick_float())

    def _reanchor(self) -> None:
        self._anchor_tick = self._tick_float()
        self._anchor_s = self.clock.monotonic()

    def set_ups(self, ups: float) -> None:
        """Change how many updates per second the server manages (to trigger low-UPS alerts)."""
        if ups < 0:
            raise ValueError(f"ups must not be negative, got {ups}")
        self._reanchor()
        self._ups = ups

    def set_speed(self, speed: float) -> None:
        """`game.speed = speed` (must be positive, as in Factorio)."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._reanchor()
        self._speed = speed

    def set_paused(self, is_paused: bool) -> None:
        """Pause or unpause the tick explicitly (`game.tick_paused`)."""
        self._reanchor()
        self._is_paused = is_paused

    def set_auto_pause(self, auto_pause: bool) -> None:
        """Turn the server's `auto_pause` setting on or off."""
        self._reanchor()
        self.auto_pause = auto_pause

    def daytime(self, surface: Surface) -> float:
        """`surface.daytime` in [0, 1), derived from the tick and the surface's day length."""
        if surface.frozen_daytime is not None:
            return surface.frozen_daytime
        running = (self.tick % surface.ticks_per_day) / surface.ticks_per_day
        return (running + surface.daytime_offset) % 1.0

    def set_daytime(self, surface: Surface, daytime: float) -> None:
        """`surface.daytime = daytime`: the clock continues from there (unless frozen)."""
        if surface.frozen_daytime is not None:
            surface.frozen_daytime = daytime
            return
        running = (self.tick % surface.ticks_per_day) / surface.ticks_per_day
        surface.daytime_offset = (daytime - running) % 1.0

    def set_freeze_daytime(self, surface: Surface, is_frozen: bool) -> None:
        """`surface.freeze_daytime = is_frozen`: stop or restart the surface's clock."""
        if is_frozen and surface.frozen_daytime is None:
            surface.frozen_daytime = self.daytime(surface)
        elif not is_frozen and surface.frozen_daytime is not None:
            daytime = surface.frozen_daytime
            surface.frozen_daytime = None
            self.set_daytime(surface, daytime)

    # -- players ----------------------------------------------------------------------------

    def get_player(self, name: str) -> Player | None:
        """The player called exactly `name`, if they have ever been on the map."""
        return self.players.get(name)

    def get_online_players(self) -> list[str]:
        """Names of connected players, in first-join order."""
        return [p.name for p in self.players.values() if p.is_online]

    def get_banned_players(self) -> list[str]:
        """Names on the ban list, in the order they were banned."""
        return list(self.bans)

    def connect(self, name: str) -> Player:
        """Mark `name` online, creating the player on first join."""
        self._reanchor()
        player = self.players.get(name)
        if player is None:
            player = Player(name, index=len(self.players) + 1)
            self.players[name] = player
        if not player.is_online:
            player.is_online = True
            player.online_since_tick = self.tick
        return player

    def disconnect(self, name: str) -> None:
        """Mark `name` offline (no-op when unknown or already offline)."""
        player = self.players.get(name)
        if player is None or not player.is_online:
            return
        player.online_time_ticks += self.tick - player.online_since_tick
        self._reanchor()
        player.is_online = False

    def remove_player(self, name: str) -> None:
        """Forget `name` entirely, as if they had never been on the map."""
        self.disconnect(name)
        self.players.pop(name, None)

    def online_time_ticks(self, player: Player) -> int:
        """`player.online_time` now."""
        live = self.tick - player.online_since_tick if player.is_online else 0
        return player.online_time_ticks + live

    # -- lists ------------------------------------------------------------------------------

    def is_admin(self, name: str) -> bool:
        """Whether `name` is on the admin list (case-insensitive)."""
        return name.casefold() in self.admins

    def add_admin(self, name: str) -> None:
        """Put `name` on the admin list."""
        self.admins.setdefault(name.casefold(), name)

    def remove_admin(self, name: str) -> None:
        """Take `name` off the admin list."""
        self.admins.pop(name.casefold(), None)

    def get_admins(self) -> list[str]:
        """Names on the admin list as first listed."""
        return list(self.admins.values())

    def ban(self, name: str, reason: str | None) -> None:
        """Ban `name` (disconnecting them)."""
        self.disconnect(name)
        self.bans[name] = reason

    def unban(self, name: str) -> bool:
        """Lift a ban; False if `name` was not banned."""
        return self.bans.pop(name, ...) is not ...

    # -- evolution ----------------------------------------------------------------------------

    def find_surface(self, key: str) -> Surface | None:
        """A surface by internal name or by the name `/evolution` prints (case-insensitive)."""
        folded = key.casefold()
        for surface in self.surfaces.values():
            if folded in (surface.name.casefold(), surface.display_name.casefold()):
                return surface
        return None

    def set_evolution(self, surface: str, factor: float) -> None:
        """Set one surface's evolution factor (0..1)."""
        found = self.find_surface(surface)
        if found is None:
            raise KeyError(surface)
        found.evolution.factor = factor

    def research(self, names: Iterable[str]) -> None:
        """Mark technologies researched."""
        for name in names:
            self.technologies[name] = True


def _technologies(total: int, researched: int) -> dict[str, bool]:
    names = list(DEFAULT_TECHNOLOGIES[:total])
    names.extend(f"technology-{n}" for n in range(len(names) + 1, total + 1))
    return {name: index < researched for index, name in enumerate(names)}
