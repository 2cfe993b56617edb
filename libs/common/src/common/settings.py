"""Settings groups shared by every service, read from the environment once at start-up.

Nothing else in the code base reads environment variables: services build their ``Settings``
from these groups and pass them down explicitly. Validation happens at construction, so a bad
value stops the service at start with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.redaction import register_secret
from common.vocabulary import DEFAULT_BRIDGE_MARKER


def _env(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class NatsSettings(BaseSettings):
    """How to reach NATS (``ISR_NATS_*``)."""

    model_config = _env("ISR_NATS_")

    url: str = "nats://127.0.0.1:4222"
    """Server URL(s), comma-separated (``ISR_NATS_URL``)."""
    connect_timeout_s: float = Field(default=5.0, gt=0)
    """Timeout of one connection attempt."""
    reconnect_wait_s: float = Field(default=0.5, gt=0)
    """Pause between reconnection attempts."""

    @field_validator("url")
    @classmethod
    def _looks_like_nats(cls, value: str) -> str:
        for part in value.split(","):
            if not part.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                msg = f"ISR_NATS_URL must start with nats://, tls://, ws:// or wss://, got {part!r}"
                raise ValueError(msg)
        return value


class PipelineSettings(BaseSettings):
    """Names shared by every service (``ISR_*``)."""

    model_config = SettingsConfigDict(**_env("ISR_"), populate_by_name=True)

    prefix: str = Field(default="isr", pattern=r"^[A-Za-z0-9_-]+$")
    """Prefix of every subject, stream and bucket (``ISR_PREFIX``)."""
    config_dir: Path = Path("config")
    """Directory holding servers.yml and friends (``ISR_CONFIG_DIR``)."""
    bridge_marker: str = Field(
        default=DEFAULT_BRIDGE_MARKER,
        validation_alias=AliasChoices(
            "ISR_BRIDGE_MARKER", "ISR_PARSER_BRIDGE_MARKER", "ISR_BOT_BRIDGE_MARKER"
        ),
    )
    """Prefix the Discord chat bridge puts on the chat it writes into the game
    (``ISR_BRIDGE_MARKER``). The bot writes it and the parser flags ``<server>`` chat that
    starts with it as bridged, so both read this one setting. ``ISR_PARSER_BRIDGE_MARKER`` and
    ``ISR_BOT_BRIDGE_MARKER`` are deprecated aliases, read only when it is unset."""


class PostgresSettings(BaseSettings):
    """How to reach Postgres (``ISR_DATABASE_*``)."""

    model_config = _env("ISR_DATABASE_")

    url: SecretStr | None = None
    """``postgresql://user:password@host:port/db`` (``ISR_DATABASE_URL``); unset = no database."""
    pool_max_size: int = Field(default=4, gt=0)
    """Largest number of pooled connections."""

    @field_validator("url")
    @classmethod
    def _check_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if not raw.startswith(("postgresql://", "postgres://")):
            msg = "ISR_DATABASE_URL must start with postgresql:// or postgres://"
            raise ValueError(msg)
        register_secret(raw)
        return value


class LogSettings(BaseSettings):
    """Log output (``ISR_LOG_*``)."""

    model_config = _env("ISR_LOG_")

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level written (``ISR_LOG_LEVEL``)."""
    format: Literal["auto", "console", "json"] = "auto"
    """``console`` for people, ``json`` for collectors, ``auto`` picks console on a terminal."""
    color: Literal["auto", "always", "never"] = "auto"
    """Colours of the console format (``ISR_LOG_COLOR``): ``auto`` colours a terminal only;
    ``isr up`` sets ``always`` for its children when it runs on a terminal without ``NO_COLOR``,
    because their output reaches that terminal through a pipe."""


class OtelSettings(BaseSettings):
    """OpenTelemetry export; a no-op unless an endpoint is set."""

    model_config = _env("ISR_OTLP_")

    endpoint: str | None = None
    """OTLP/HTTP base URL, e.g. ``http://otel-collector:4318`` (``ISR_OTLP_ENDPOINT``)."""
    export_interval_s: float = Field(default=15.0, gt=0)
    """How often metrics are pushed."""


class HealthSettings(BaseSettings):
    """The per-service health server (``ISR_HEALTH_*``)."""

    model_config = _env("ISR_HEALTH_")

    host: str = "127.0.0.1"
    """Bind address (``ISR_HEALTH_HOST``); the Helm chart sets 0.0.0.0 inside the pod."""
    port: int = Field(default=8080, ge=0, le=65535)
    """Port (``ISR_HEALTH_PORT``); 0 picks a free port."""
    enabled: bool = True
    """Set ``ISR_HEALTH_ENABLED=false`` to run without the health server."""


class RuntimeSettings(BaseSettings):
    """Everything the shared runtime needs; each service's Settings embeds one."""

    model_config = _env("ISR_RUNTIME_")

    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    otel: OtelSettings = Field(default_factory=OtelSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    """How long in-flight work may take to finish after SIGTERM."""
