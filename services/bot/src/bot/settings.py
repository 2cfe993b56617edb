"""Bot settings (``ISR_BOT_*``, ``ISR_DISCORD_*`` plus the shared runtime groups)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.render import DEFAULT_EMBED_KINDS
from common.redaction import register_secret
from common.settings import RuntimeSettings
from common.topology import DEFAULT_ACK_WAIT_S, DEFAULT_MAX_DELIVER, ConsumerPolicy

DISCORD_API_URL = "https://discord.com/api/v10"


class DiscordSettings(BaseSettings):
    """How to reach Discord (``ISR_DISCORD_*``)."""

    model_config = SettingsConfigDict(env_prefix="ISR_DISCORD_", extra="ignore", frozen=True)

    token: SecretStr | None = None
    """The bot token (``ISR_DISCORD_TOKEN``)."""
    token_file: Path | None = None
    """A file holding the token (``ISR_DISCORD_TOKEN_FILE``), e.g. a mounted secret."""
    api_url: str = DISCORD_API_URL
    """REST base URL without a trailing slash (``ISR_DISCORD_API_URL``); tests point it at the
    fake Discord. The gateway URL comes from ``GET /gateway/bot`` at this URL."""

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = f"ISR_DISCORD_API_URL must start with http:// or https://, got {value!r}"
            raise ValueError(msg)
        return value.rstrip("/")

    def resolved_token(self) -> str:
        """The token from ``token`` or ``token_file``, registered for redaction.

        Raises:
            ValueError: neither or both are set, or the file is missing or empty.
        """
        if (self.token is None) == (self.token_file is None):
            msg = "set exactly one of ISR_DISCORD_TOKEN and ISR_DISCORD_TOKEN_FILE"
            raise ValueError(msg)
        if self.token is not None:
            value = self.token.get_secret_value().strip()
        else:
            assert self.token_file is not None
            try:
                value = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                msg = f"ISR_DISCORD_TOKEN_FILE {self.token_file}: {exc.strerror}"
                raise ValueError(msg) from exc
        if not value:
            raise ValueError("the Discord token is empty")
        register_secret(value)
        return value


class BotSettings(BaseSettings):
    """What the bot needs."""

    model_config = SettingsConfigDict(env_prefix="ISR_BOT_", extra="ignore", frozen=True)

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    durable: str = "bot"
    """Durable consumer of the events stream (``ISR_BOT_DURABLE``)."""
    batch_size: int = Field(default=500, gt=0)
    """Events fetched per pull."""
    reorder_window_s: float = Field(default=0.01, ge=0)
    """How long an event waits for earlier events of its server (several parser workers)."""
    max_buffered: int = Field(default=2000, gt=0)
    """Events held in memory at most; beyond that they wait in the stream."""
    ack_wait_s: float = Field(default=DEFAULT_ACK_WAIT_S, gt=0)
    """Ack wait of the bot's durable consumer (redelivery after a crash takes this long);
    held events are kept alive with in-progress acks meanwhile."""
    max_deliver: int = Field(default=DEFAULT_MAX_DELIVER, ge=-1)
    """Deliveries of an event before it is dead-lettered (``ISR_BOT_MAX_DELIVER``)."""
    recovery_wait_s: float = Field(default=5.0, gt=0)
    """After a restart, how long to wait for every event of an interrupted post."""
    embed_kinds: Annotated[frozenset[str], NoDecode] = DEFAULT_EMBED_KINDS
    """Event kinds posted as embeds, comma-separated (``ISR_BOT_EMBED_KINDS=kick,ban``); every
    other kind is a compact line."""
    command_timeout_s: float = Field(default=10.0, gt=0)
    """How long a command waits for the RCON poller or the query API."""
    save_timeout_s: float = Field(default=130.0, gt=0)
    """How long ``/factorio save`` waits for the RCON poller: a big map saves for minutes; keep
    it above the poller's ``ISR_POLLER_SAVE_TIMEOUT_S`` (120 s) so the poller's own answer wins."""
    register_commands: bool = True
    """Register the slash commands in every guild of ``discord.guild_ids`` at start."""

    @property
    def consumer(self) -> ConsumerPolicy:
        """The durable's delivery settings."""
        return ConsumerPolicy(ack_wait_s=self.ack_wait_s, max_deliver=self.max_deliver)

    @field_validator("embed_kinds", mode="before")
    @classmethod
    def _split_kinds(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(k.strip() for k in value.split(",") if k.strip())
        return value
