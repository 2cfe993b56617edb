"""Parser settings (``ISR_PARSER_*`` plus the shared runtime groups)."""

from __future__ import annotations

from common.settings import RuntimeSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ParserSettings(BaseSettings):
    """What one parser worker needs."""

    model_config = SettingsConfigDict(env_prefix="ISR_PARSER_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    batch_size: int = Field(default=200, gt=0)
    """Raw batches fetched per pull."""
    durable: str = "parser"
    """Name of the durable consumer all workers share."""
