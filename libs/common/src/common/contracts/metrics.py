"""Metric samples published by the RCON poller on ``<prefix>.metrics.<server>``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from common.contracts._base import WireModel


class MetricSample(WireModel):
    """One sample of a server's state."""

    v: Literal[1] = 1
    """Schema version."""
    id: str
    """Stable id ``<server>:metric:<sampled_at epoch ms>``."""
    server: str
    """Server tag."""
    sampled_at: datetime
    """When the sample was taken (UTC)."""
    players_online: tuple[str, ...] = ()
    """Names of the connected players."""
    player_count: int = 0
    """Number of connected players."""
    game_time_s: float | None = None
    """Game time in seconds."""
    tick: int | None = None
    """Game tick, when Lua metrics are on."""
    ups: float | None = None
    """Updates per second measured over the sampling window; None while unknown or paused."""
    ups_target: float = 60.0
    """What UPS should be (60 x game.speed when known)."""
    is_paused: bool = False
    """True when the game made no progress over the window."""
    evolution: dict[str, float] | None = None
    """Enemy evolution factor per surface."""
    version: str | None = None
    """Factorio version."""
    rcon_up: bool = True
    """False when the sample records that RCON could not be reached."""
    scheduled_at: datetime | None = None
    """When the sample was due; ``sampled_at - scheduled_at`` is the poller's lateness."""
    ups_method: Literal["time_command", "lua_tick"] | None = None
    """How UPS was measured: game time from ``/time`` (achievement-safe) or ``game.tick``."""
    ups_error: float | None = None
    """Bound on the UPS estimate's error (+/- UPS) from the reading's resolution."""
    ups_window_s: float | None = None
    """Wall-clock span the UPS estimate covers."""
    game_speed: float | None = None
    """``game.speed`` when known (Lua metrics, or set through the poller)."""
