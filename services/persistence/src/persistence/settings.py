"""Persistence settings (``ISR_PERSISTENCE_*`` plus the shared groups)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import PostgresSettings, RuntimeSettings
from common.topology import DEFAULT_ACK_WAIT_S, DEFAULT_MAX_DELIVER, ConsumerPolicy


class TableRetentionSettings(BaseSettings):
    """How many days each table keeps (``ISR_PERSISTENCE_RETENTION_*``); 0 keeps forever.

    A row is deleted once it is older than its table's retention. Partitioned tables
    (``metric_samples``, ``metric_minute``) lose whole UTC days, so they keep up to one day more.
    """

    model_config = SettingsConfigDict(
        env_prefix="ISR_PERSISTENCE_RETENTION_", extra="ignore", frozen=True
    )

    events_days: float = Field(default=90, ge=0)
    """``events``, by ``observed_at`` (``ISR_PERSISTENCE_RETENTION_EVENTS_DAYS``)."""
    metric_samples_days: float = Field(default=14, ge=0)
    """Raw ``metric_samples``, by ``sampled_at``; charts of older ranges use the roll-ups."""
    metric_minute_days: float = Field(default=90, ge=0)
    """Per-minute roll-ups ``metric_minute``, by ``bucket``."""
    metric_hour_days: float = Field(default=730, ge=0)
    """Per-hour roll-ups ``metric_hour``, by ``bucket``."""
    alerts_days: float = Field(default=365, ge=0)
    """``alerts``, by ``raised_at``."""
    sessions_days: float = Field(default=365, ge=0)
    """``player_sessions``, by ``left_at`` (``joined_at`` while open); playtime forgets them."""
    audit_days: float = Field(default=0, ge=0)
    """``audit_log``, by ``at``; kept forever unless set."""
    interval_s: float = Field(default=3600.0, gt=0)
    """How often retention and partition upkeep run (one replica at a time)."""
    delete_chunk_rows: int = Field(default=10_000, gt=0)
    """Rows deleted per statement from unpartitioned tables (keeps each lock short)."""


class PersistenceSettings(BaseSettings):
    """What the writer and query service need."""

    model_config = SettingsConfigDict(env_prefix="ISR_PERSISTENCE_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    database: PostgresSettings = Field(default_factory=PostgresSettings)
    retention: TableRetentionSettings = Field(default_factory=TableRetentionSettings)
    batch_size: int = Field(default=2000, gt=0, le=10_000)
    """Most messages fetched and written per transaction (``ISR_PERSISTENCE_BATCH_SIZE``)."""
    batch_max_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    """Most bytes of messages per transaction (``ISR_PERSISTENCE_BATCH_MAX_BYTES``): an event
    batch message holds up to 500 events, so this, not the message count, bounds a
    transaction (2 MiB is ~5,000 events). Never less than the server's ``max_payload``, so
    the largest message still fits."""
    fetch_concurrency: int = Field(default=2, ge=1, le=8)
    """Batches of the events stream in flight at once (one fetches while another commits)."""
    durable: str = "persistence-events"
    """Durable consumer on the events stream (events and alerts) shared by every replica."""
    metrics_durable: str = "persistence-metrics"
    """Durable consumer on the metrics stream."""
    audit_durable: str = "persistence-audit"
    """Durable consumer on the audit stream."""
    ack_wait_s: float = Field(default=DEFAULT_ACK_WAIT_S, gt=0)
    """Ack wait of the three durables (``ISR_PERSISTENCE_ACK_WAIT_S``): how late a crashed
    replica's batch is redelivered. In-progress acks keep a slow commit's batch alive."""
    max_deliver: int = Field(default=DEFAULT_MAX_DELIVER, ge=-1)
    """Deliveries of a message before it is dead-lettered (``ISR_PERSISTENCE_MAX_DELIVER``)."""
    queue_group: str = "persistence"
    """Queue group of the query API: each request is answered by one replica."""
    query_timeout_s: float = Field(default=5.0, gt=0)
    """Longest a query may run before it is cancelled and answered with ``timeout``."""
    query_concurrency: int = Field(default=8, ge=1)
    """Queries answered at once per replica; more wait their turn."""
    sample_interval_s: float = Field(default=10.0, gt=0)
    """Expected spacing of metric samples, used to decide when a chart can be raw."""
    write_timeout_s: float = Field(default=30.0, gt=0)
    """Longest one batch write may take before it counts as a database failure."""
    retry_max_s: float = Field(default=30.0, gt=0)
    """Longest pause between retries while Postgres is unreachable."""

    @property
    def consumer(self) -> ConsumerPolicy:
        """The durables' delivery settings."""
        return ConsumerPolicy(ack_wait_s=self.ack_wait_s, max_deliver=self.max_deliver)
