"""rcon-poller settings (``ISR_RCON_POLLER_*`` plus the shared runtime groups).

Per-server settings (interval, thresholds, RCON endpoint) are in servers.yml; these are the
replica's own.
"""

from __future__ import annotations

import os
import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import RuntimeSettings


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class PollerSettings(BaseSettings):
    """What one rcon-poller replica needs."""

    model_config = SettingsConfigDict(env_prefix="ISR_RCON_POLLER_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    instance_id: str = Field(default_factory=_default_instance_id, min_length=1, max_length=100)
    """Name of this replica in leases and health replies (default ``<hostname>-<pid>``)."""
    lease_ttl_s: float = Field(default=10.0, gt=0)
    """A server whose lease was not renewed for this long is taken over by another replica."""
    lease_check_interval_s: float = Field(default=1.0, gt=0)
    """How often leases are renewed (every ttl/3) and free ones looked for."""
    queue_group: str = Field(default="rcon-poller", pattern=r"^[A-Za-z0-9_-]+$")
    """Queue group of the command subscriptions."""
    reload_interval_s: float = Field(default=1.0, gt=0)
    """How often servers.yml is checked for changes."""
    backoff_initial_s: float = Field(default=1.0, gt=0)
    """Delay before the first reconnect attempt after a failed one (then doubling)."""
    backoff_max_s: float = Field(default=30.0, gt=0)
    """Longest delay between reconnect attempts."""
    auth_failure_backoff_s: float = Field(default=300.0, gt=0)
    """Delay after a refused password (no hammering; fix the password to retry at once)."""
    down_after_failures: int = Field(default=2, gt=0)
    """Consecutive failed samples before an ``rcon_down`` alert."""
    ups_window_s: float = Field(default=60.0, gt=0)
    """Sliding window of the UPS estimate."""
    ups_max_error: float = Field(default=2.0, gt=0)
    """An estimate is published once its error bound (+/- UPS) is at most this."""
    reconcile_grace_s: float = Field(default=30.0, ge=0)
    """How long the log may lag RCON before a missing join/leave is synthesised."""
    save_timeout_s: float = Field(default=120.0, gt=0)
    """Timeout of a ``save`` operation (RCON answers nothing while saving)."""
