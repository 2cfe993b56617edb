"""Parser settings (``ISR_PARSER_*`` plus the shared runtime groups)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.settings import RuntimeSettings
from common.topology import DEFAULT_ACK_WAIT_S, DEFAULT_MAX_DELIVER, ConsumerPolicy


class ParserSettings(BaseSettings):
    """What one parser worker needs."""

    model_config = SettingsConfigDict(env_prefix="ISR_PARSER_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    batch_size: int = Field(default=8, gt=0)
    """Raw batches fetched per pull (``ISR_PARSER_BATCH_SIZE``). A raw batch holds up to
    64 KiB of lines during a burst, so 8 bounds one pull (and the worker's memory) while
    still handing it thousands of lines at a time."""
    concurrency: int = Field(default=1, gt=0)
    """Pull loops per worker process (``ISR_PARSER_CONCURRENCY``); overlaps parsing with waits."""
    event_batch_max: int = Field(default=500, gt=0)
    """Most events in one events-stream message (``ISR_PARSER_EVENT_BATCH_MAX``). The events
    of one raw batch go out as one message per event type; ``1`` publishes every event as its
    own message, for consumers of ``isr.events.>`` that do not read batches."""
    durable: str = "parser"
    """Name of the durable consumer all workers share."""
    ack_wait_s: float = Field(default=DEFAULT_ACK_WAIT_S, gt=0)
    """Ack wait of the durable (``ISR_PARSER_ACK_WAIT_S``): how late a crashed worker's raw
    batches are redelivered. Workers send in-progress acks while they work on a batch."""
    max_deliver: int = Field(default=DEFAULT_MAX_DELIVER, ge=-1)
    """Deliveries of a raw batch before it is dead-lettered (``ISR_PARSER_MAX_DELIVER``)."""
    packs: Annotated[tuple[str, ...], NoDecode] = ("vanilla", "engine")
    """Shipped pattern packs, comma-separated (``ISR_PARSER_PACKS=vanilla,engine,mods``)."""
    reload_interval_s: float = Field(default=0.5, gt=0)
    """How often the pattern files are checked for changes."""

    @property
    def consumer(self) -> ConsumerPolicy:
        """The durable's delivery settings."""
        return ConsumerPolicy(ack_wait_s=self.ack_wait_s, max_deliver=self.max_deliver)

    @field_validator("packs", mode="before")
    @classmethod
    def _split_packs(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value
