"""Persistence settings (``ISR_PERSISTENCE_*`` plus the shared groups)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import PostgresSettings, RuntimeSettings


class PersistenceSettings(BaseSettings):
    """What the writer and query service need."""

    model_config = SettingsConfigDict(env_prefix="ISR_PERSISTENCE_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    database: PostgresSettings = Field(default_factory=PostgresSettings)
    batch_size: int = Field(default=2000, gt=0)
    """Messages fetched and written per transaction."""
    durable: str = "persistence-events"
    """Durable consumer on the events stream shared by every replica."""
