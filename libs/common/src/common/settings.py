"""Settings groups shared by every service, read from the environment once at start-up.

Nothing else in the code base reads environment variables: services build their ``Settings``
from these groups and pass them down explicitly. Validation happens at construction, so a bad
value stops the service at start with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.redaction import register_secret
from common.topology import RetentionSettings, StreamLimits
from common.vocabulary import DEFAULT_BRIDGE_MARKER


def _env(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class NatsSettings(BaseSettings):
    """How to reach NATS and who to be there (``ISR_NATS_*``).

    One identity at most: a credentials file (JWT + NKey seed, decentralised auth), an NKey
    seed file, or a user with a password from a file or the environment. Secrets come only from
    files or the environment; a URL carrying ``user:password@`` is refused, because URLs get
    logged. TLS is used for ``tls://`` URLs or whenever a CA or client certificate is given.
    """

    model_config = _env("ISR_NATS_")

    url: str = "nats://127.0.0.1:4222"
    """Server URL(s), comma-separated (``ISR_NATS_URL``): list every node of a cluster."""
    connect_timeout_s: float = Field(default=5.0, gt=0)
    """Timeout of one connection attempt."""
    reconnect_wait_s: float = Field(default=0.5, gt=0)
    """Pause between reconnection attempts."""
    creds_file: Path | None = None
    """A NATS credentials file (user JWT + NKey seed, as ``nsc`` writes it)
    (``ISR_NATS_CREDS_FILE``)."""
    nkey_seed_file: Path | None = None
    """A file holding an NKey user seed (``SU...``) (``ISR_NATS_NKEY_SEED_FILE``)."""
    user: str | None = None
    """User name for user/password auth (``ISR_NATS_USER``)."""
    password_file: Path | None = None
    """File holding the password of ``ISR_NATS_USER`` (``ISR_NATS_PASSWORD_FILE``)."""
    password: SecretStr | None = None
    """The password itself, from the environment (``ISR_NATS_PASSWORD``); prefer the file."""
    tls_ca_file: Path | None = None
    """CA bundle that signs the server's certificate (``ISR_NATS_TLS_CA_FILE``)."""
    tls_cert_file: Path | None = None
    """Client certificate for mutual TLS (``ISR_NATS_TLS_CERT_FILE``); needs the key file."""
    tls_key_file: Path | None = None
    """Private key of the client certificate (``ISR_NATS_TLS_KEY_FILE``)."""

    @field_validator("url")
    @classmethod
    def _looks_like_nats(cls, value: str) -> str:
        for raw_part in value.split(","):
            part = raw_part.strip()
            if not part.startswith(("nats://", "tls://", "ws://", "wss://")):
                msg = f"ISR_NATS_URL must start with nats://, tls://, ws:// or wss://, got {part!r}"
                raise ValueError(msg)
            if "@" in part.split("://", 1)[1].split("/", 1)[0]:
                msg = (
                    "ISR_NATS_URL must not carry credentials (URLs get logged): use "
                    "ISR_NATS_CREDS_FILE, ISR_NATS_NKEY_SEED_FILE or ISR_NATS_USER with "
                    "ISR_NATS_PASSWORD_FILE"
                )
                raise ValueError(msg)
        return value

    @field_validator("password")
    @classmethod
    def _hide_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        chosen = [
            name
            for name, on in (
                ("ISR_NATS_CREDS_FILE", self.creds_file is not None),
                ("ISR_NATS_NKEY_SEED_FILE", self.nkey_seed_file is not None),
                ("ISR_NATS_USER", self.user is not None),
            )
            if on
        ]
        if len(chosen) > 1:
            msg = f"set one NATS identity, not {' and '.join(chosen)}"
            raise ValueError(msg)
        has_password = self.password_file is not None or self.password is not None
        if has_password and self.user is None:
            msg = "ISR_NATS_PASSWORD_FILE / ISR_NATS_PASSWORD need ISR_NATS_USER"
            raise ValueError(msg)
        if self.password_file is not None and self.password is not None:
            msg = "set ISR_NATS_PASSWORD_FILE or ISR_NATS_PASSWORD, not both"
            raise ValueError(msg)
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            msg = "ISR_NATS_TLS_CERT_FILE and ISR_NATS_TLS_KEY_FILE go together"
            raise ValueError(msg)
        return self

    @property
    def servers(self) -> list[str]:
        """Every server URL, in the order given."""
        return [s.strip() for s in self.url.split(",") if s.strip()]

    @property
    def wants_tls(self) -> bool:
        """Tell whether the connection must use TLS."""
        return (
            any(s.startswith(("tls://", "wss://")) for s in self.servers)
            or self.tls_ca_file is not None
            or self.tls_cert_file is not None
        )

    @property
    def identity_kind(self) -> str:
        """How this connection authenticates (for logs): creds, nkey, user or anonymous."""
        if self.creds_file is not None:
            return "creds"
        if self.nkey_seed_file is not None:
            return "nkey"
        if self.user is not None:
            return "user"
        return "anonymous"


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


_STREAM_DEFAULTS = RetentionSettings()
"""The topology's defaults: the one source of each stream's default max age."""


class StreamSettings(BaseSettings):
    """Replicas and limits of the streams and KV buckets (``ISR_STREAM_*``).

    Services create a missing stream or bucket with these; an existing one is never changed
    (an operator's ``nats stream edit`` stays as set): a difference is logged as
    ``stream_config_differs`` at start. ``max_bytes`` ``-1`` means no size limit.
    """

    model_config = _env("ISR_STREAM_")

    replicas: int = Field(default=1, ge=1, le=5)
    """Replicas of every stream and bucket unless overridden below (``ISR_STREAM_REPLICAS``);
    3 on a three-node JetStream cluster."""
    raw_replicas: int | None = Field(default=None, ge=1, le=5)
    raw_max_age_s: float = Field(default=_STREAM_DEFAULTS.raw.max_age_s, gt=0)
    raw_max_bytes: int = Field(default=-1, ge=-1)
    events_replicas: int | None = Field(default=None, ge=1, le=5)
    events_max_age_s: float = Field(default=_STREAM_DEFAULTS.events.max_age_s, gt=0)
    events_max_bytes: int = Field(default=-1, ge=-1)
    metrics_replicas: int | None = Field(default=None, ge=1, le=5)
    metrics_max_age_s: float = Field(default=_STREAM_DEFAULTS.metrics.max_age_s, gt=0)
    metrics_max_bytes: int = Field(default=-1, ge=-1)
    dlq_replicas: int | None = Field(default=None, ge=1, le=5)
    dlq_max_age_s: float = Field(default=_STREAM_DEFAULTS.dead_letter.max_age_s, gt=0)
    dlq_max_bytes: int = Field(default=-1, ge=-1)
    audit_replicas: int | None = Field(default=None, ge=1, le=5)
    audit_max_age_s: float = Field(default=_STREAM_DEFAULTS.audit.max_age_s, gt=0)
    audit_max_bytes: int = Field(default=-1, ge=-1)
    kv_replicas: int | None = Field(default=None, ge=1, le=5)
    """Replicas of the KV buckets (checkpoints, leases, alert state, ...)."""
    duplicate_window_s: float = Field(default=300.0, gt=0)
    """JetStream drops a re-published ``Nats-Msg-Id`` within this window."""

    @field_validator(
        "raw_max_bytes", "events_max_bytes", "metrics_max_bytes", "dlq_max_bytes", "audit_max_bytes"
    )
    @classmethod
    def _no_zero_bytes(cls, value: int) -> int:
        # The topology's StreamLimits refuses 0 too; refusing it here names the variable at
        # start instead of a ValueError from deep in the runtime.
        if value == 0:
            msg = "must be -1 (no limit) or a positive number of bytes, not 0"
            raise ValueError(msg)
        return value

    def retention(self) -> RetentionSettings:
        """The topology's view of these settings."""

        def limits(name: str) -> StreamLimits:
            replicas = getattr(self, f"{name}_replicas")
            return StreamLimits(
                max_age_s=getattr(self, f"{name}_max_age_s"),
                max_bytes=getattr(self, f"{name}_max_bytes"),
                replicas=self.replicas if replicas is None else replicas,
            )

        return RetentionSettings(
            raw=limits("raw"),
            events=limits("events"),
            metrics=limits("metrics"),
            dead_letter=limits("dlq"),
            audit=limits("audit"),
            kv_replicas=self.replicas if self.kv_replicas is None else self.kv_replicas,
            duplicate_window_s=self.duplicate_window_s,
        )


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
    """How often metrics are pushed (``ISR_OTLP_EXPORT_INTERVAL_S``)."""
    traces_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of new traces kept (``ISR_OTLP_TRACES_SAMPLE_RATIO``), 0..1. Parent-based: a
    message or request carrying a sampled context is always traced, so a kept trace stays
    whole across services; only where a trace starts (a tailer's raw batch, a slash command)
    is the ratio applied."""
    instance_id: str | None = None
    """``service.instance.id`` (``ISR_OTLP_INSTANCE_ID``); default ``<hostname>-<pid>``. The
    Helm chart sets the pod name."""


class HealthSettings(BaseSettings):
    """The per-service health server (``ISR_HEALTH_*``)."""

    model_config = _env("ISR_HEALTH_")

    host: str = "127.0.0.1"
    """Bind address (``ISR_HEALTH_HOST``); the Helm chart sets 0.0.0.0 inside the pod."""
    port: int = Field(default=8080, ge=0, le=65535)
    """Port (``ISR_HEALTH_PORT``); 0 picks a free port."""
    enabled: bool = True
    """Set ``ISR_HEALTH_ENABLED=false`` to run without the health server."""
    metrics: bool = False
    """Serve Prometheus text format on ``/metrics`` of the health port
    (``ISR_HEALTH_METRICS=true``), for operators who scrape instead of running a collector."""


class RuntimeSettings(BaseSettings):
    """Everything the shared runtime needs; each service's Settings embeds one."""

    model_config = _env("ISR_RUNTIME_")

    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    otel: OtelSettings = Field(default_factory=OtelSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    streams: StreamSettings = Field(default_factory=StreamSettings)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    """How long in-flight work may take to finish after SIGTERM."""
