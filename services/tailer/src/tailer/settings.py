"""Tailer settings (``ISR_TAILER_*`` plus the shared runtime groups)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import RuntimeSettings


class TailerSettings(BaseSettings):
    """What one tailer process needs."""

    model_config = SettingsConfigDict(env_prefix="ISR_TAILER_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    server: str = ""
    """Tag of the server to follow (``ISR_TAILER_SERVER`` or ``isr tailer --server``)."""
    log_path: Path | None = None
    """Override of the server's ``log_path`` from servers.yml."""
    poll_interval_s: float = Field(default=2.0, gt=0)
    """Longest wait between checks when no change notification arrives (the safety net)."""
    use_inotify: bool = True
    """Wake on inotify events; ``false`` for filesystems without them (then poll)."""
    max_in_flight: int = Field(default=16, gt=0)
    """Batches published but not yet acknowledged, at most."""
