"""The ``servers.yml`` schema: frozen, strict pydantic models, one per group of settings.

Strict means what YAML says is what you get: the string ``"false"`` is not a boolean, ``"10"``
is not a number, an unknown key is an error (the original silently ignored all three; see
shared/research/original-isr.md §6.2 R9). Cross-field rules that make a combination
impossible (recovery threshold below the warning threshold, a bridge without RCON, two
passwords) are errors too. docs/configuration.md is the user-facing reference for every field;
keep the two in step (a test checks that every field is documented there).

Validators that need the config directory or the environment read them from the
:class:`~common.config.context.LoadContext` passed as pydantic's validation context.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from common.config.context import LoadContext
from common.config.secrets import SecretFromEnv, SecretFromFile, SecretRef

RULE_ERROR = "isr_rule"
"""pydantic error type of a broken cross-field rule; its ``at`` context names the field."""
TAG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
"""A server tag: it becomes a NATS subject token, so no dots, wildcards or upper case."""
CHANNEL_KEY_PATTERN = r"^[a-z0-9_-]+$"
"""A ``channels`` key: ``default``, an event kind, or a pattern's channel name."""

_TAG = re.compile(TAG_PATTERN)
_SNOWFLAKE_MAX = 2**63 - 1


def rule_error(message: str, *, at: str | None = None) -> PydanticCustomError:
    """A broken cross-field rule; ``at`` is the field (relative to the model) to point at."""
    context: dict[str, str] = {"detail": message}
    if at is not None:
        context["at"] = at
    return PydanticCustomError(RULE_ERROR, "{detail}", context)


def _check_tag(value: str) -> str:
    if not _TAG.fullmatch(value):
        raise PydanticCustomError(
            "isr_tag",
            "{detail}",
            {
                "detail": f"server tag {value!r} must match {TAG_PATTERN} (lower-case letters, "
                "digits, '_' and '-', at most 32 characters): the tag becomes a NATS subject "
                "token, as in isr.events.<tag>.chat"
            },
        )
    return value


ServerTag = Annotated[str, AfterValidator(_check_tag)]
"""Key of ``servers:``; see :data:`TAG_PATTERN`."""
Snowflake = Annotated[int, Field(gt=0, le=_SNOWFLAKE_MAX)]
"""A Discord id (channel, role, guild): a positive 64-bit integer, written unquoted."""
SnowflakeList = Annotated[tuple[Snowflake, ...], Strict(strict=False)]
"""A YAML list of Discord ids, kept as a tuple (the items stay strict integers)."""
ChannelKey = Annotated[str, Field(pattern=CHANNEL_KEY_PATTERN)]
"""Key of ``channels:``."""
PositiveSeconds = Annotated[float, Field(gt=0)]
"""A duration in seconds that must be above zero (zero would make a hot loop)."""
PositiveInt = Annotated[int, Field(gt=0)]
"""A count that must be at least one."""


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: not a key at all (an absolute path, "..", a NUL); the other: no such zone.
        raise PydanticCustomError(
            "isr_time_zone",
            "{detail}",
            {
                "detail": f"{value!r} is not a known IANA time zone name (such as UTC, "
                "Europe/Berlin or America/New_York)"
            },
        ) from None
    return value


TimeZoneName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_check_time_zone)]
"""An IANA time zone name (``UTC``, ``Europe/Berlin``), checked against the zone database."""


class ConfigModel(BaseModel):
    """Base of every config model: frozen, strict, no unknown keys, no NaN or infinity."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


class RconConfig(ConfigModel):
    """How the rcon-poller reaches the server's RCON port (Source RCON over TCP)."""

    enabled: bool = True
    """False makes a log-only server: no metrics, stats, alerts or commands."""
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    """Host name or address of the Factorio server's RCON listener."""
    port: Annotated[int, Field(ge=1, le=65535)] = 27015
    """RCON TCP port (Factorio's ``--rcon-port``)."""
    password_env: SecretFromEnv | None = None
    """Environment variable holding the RCON password (``--rcon-password``)."""
    password_file: SecretFromFile | None = None
    """File holding the RCON password, relative to the config directory."""
    timeout_s: PositiveSeconds = 10.0
    """Timeout of one RCON command, connect and authentication included."""

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        if not self.enabled:
            return self
        if self.password_env is None and self.password_file is None:
            msg = (
                "RCON is enabled, so it needs a password: set password_env (an environment "
                "variable name) or password_file (a file path); or set enabled: false for a "
                "log-only server"
            )
            raise rule_error(msg)
        if self.password_env is not None and self.password_file is not None:
            msg = "set only one of password_env and password_file"
            raise rule_error(msg, at="password_file")
        return self

    @property
    def password_ref(self) -> SecretRef:
        """Where the password came from (``env:VAR`` or ``file:/path``)."""
        ref = self.password_env or self.password_file
        if ref is None:
            raise LookupError("RCON is disabled; there is no password")
        return ref

    @property
    def password(self) -> SecretStr:
        """The resolved RCON password.

        Raises:
            LookupError: RCON is disabled, or servers.yml was loaded with
                ``resolve_secrets=False`` (every service but the rcon-poller loads it so).
        """
        value = self.password_ref.value
        if value is None:
            if not self.enabled:
                raise LookupError("RCON is disabled; its password was not resolved")
            msg = (
                f"the RCON password ({self.password_ref}) was not resolved: this process "
                "loaded servers.yml without secrets; only the rcon-poller reads them"
            )
            raise LookupError(msg)
        return value


class MetricsConfig(ConfigModel):
    """What the rcon-poller samples, and how often; alerts evaluate every sample."""

    interval_s: PositiveSeconds = 10.0
    """Seconds between two metric samples."""
    lua_metrics: bool = False
    """Allow ``/sc`` Lua for sampling (exact game ticks). Lua commands disable achievements."""
    ups: bool = True
    """Sample UPS (updates per second)."""
    evolution: bool = True
    """Sample the enemy evolution factor."""


class StatsConfig(ConfigModel):
    """The periodic status post (UPS, players, game time, evolution)."""

    enabled: bool = True
    """Post the stats embed every ``interval_s``."""
    interval_s: PositiveSeconds = 300.0
    """Seconds between two stats posts."""


class AlertsConfig(ConfigModel):
    """Low-UPS alerts (consecutive samples, hysteresis, cooldown) and RCON up/down alerts."""

    enabled: bool = True
    """Raise alerts for this server."""
    samples_required: PositiveInt = 3
    """Consecutive low samples before a low-UPS alert fires."""
    ups_warning_threshold: Annotated[float, Field(gt=0)] = 55.0
    """UPS below this value counts as a low sample."""
    ups_recovery_threshold: Annotated[float, Field(gt=0)] = 58.0
    """UPS at or above this value recovers an active alert (>= ups_warning_threshold)."""
    cooldown_s: Annotated[float, Field(ge=0)] = 300.0
    """Minimum seconds between the recovery of one low-UPS alert and the next alert."""
    ups_ema_alpha: Annotated[float, Field(gt=0, le=1)] = 0.2
    """Smoothing factor of the UPS moving average the alerts decide on (1 = no smoothing)."""
    rcon_status_mode: Literal["transition", "interval"] = "transition"
    """``transition``: report RCON up/down when it changes; ``interval``: also every interval."""
    rcon_status_interval_s: PositiveSeconds = 300.0
    """Seconds between RCON status reports in ``interval`` mode."""

    @field_validator("ups_recovery_threshold")
    @classmethod
    def _recovery_above_warning(cls, value: float, info: ValidationInfo) -> float:
        warning = info.data.get("ups_warning_threshold")
        if warning is not None and value < warning:
            msg = f"must be >= ups_warning_threshold ({warning}), got {value}"
            raise rule_error(msg)
        return value


class PermissionsConfig(ConfigModel):
    """Discord role ids allowed to run each class of command (deny by default)."""

    query: SnowflakeList | None = None
    """Roles for read-only commands (status, players, ...); null lets everyone query."""
    admin: SnowflakeList = ()
    """Roles for moderation commands (kick, mute, save, broadcast, ...); empty denies everyone."""
    danger: SnowflakeList = ()
    """Roles for dangerous commands (ban, promote, raw RCON, ...); empty denies everyone."""


class CommandCooldown(ConfigModel):
    """A sliding-window limit per Discord user: at most ``rate`` commands per ``per_s`` seconds."""

    rate: PositiveInt
    """Commands allowed in one window."""
    per_s: PositiveSeconds
    """Window length in seconds."""


class CooldownsConfig(ConfigModel):
    """Per-user command limits, one bucket per command class, for this server."""

    query: CommandCooldown = CommandCooldown(rate=5, per_s=30)
    """Read-only commands."""
    admin: CommandCooldown = CommandCooldown(rate=3, per_s=60)
    """Moderation commands."""
    danger: CommandCooldown = CommandCooldown(rate=1, per_s=120)
    """Dangerous commands."""


class BridgeConfig(ConfigModel):
    """The Discord -> game chat bridge: messages in one channel are said in game over RCON."""

    enabled: bool = False
    """Relay the channel's messages into the game."""
    channel_id: Snowflake | None = None
    """Discord channel whose messages are relayed (required when enabled)."""
    max_length: Annotated[int, Field(ge=1, le=2000)] = 256
    """Longer messages are cut to this many characters."""
    rate: PositiveInt = 5
    """Messages relayed per window, across all users."""
    per_s: PositiveSeconds = 10.0
    """Window length in seconds."""

    @model_validator(mode="after")
    def _channel_when_enabled(self) -> Self:
        if self.enabled and self.channel_id is None:
            raise rule_error("required when the bridge is enabled", at="channel_id")
        return self


class SimulatorConfig(ConfigModel):
    """The built-in Factorio simulator; only ``isr up`` reads this."""

    enabled: bool = False
    """``isr up`` starts a simulated Factorio server writing ``log_path`` and serving RCON."""


class ServerConfig(ConfigModel):
    """One Factorio server (an entry of ``servers:``), with ``defaults:`` merged under it."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    """Display name (the loader defaults it to the tag)."""
    description: Annotated[str, Field(max_length=1024)] = ""
    """One line shown by the server list and autocomplete."""
    log_path: Annotated[Path, Strict(strict=False)]
    """Factorio's ``--console-log`` file; absolute after loading (relative to the config dir)."""
    log_start: Literal["end", "beginning"] = "end"
    """Where the tailer starts in a log it has no checkpoint for."""
    log_timezone: TimeZoneName = "UTC"
    """Time zone of the dates in the log (Factorio writes local time without a zone)."""
    # A missing `rcon:` is validated as `{}`, so the missing password is reported like any
    # other problem instead of surfacing later in the poller.
    rcon: RconConfig | None = Field(default_factory=dict, validate_default=True)
    """RCON connection; None when ``rcon.enabled`` is false."""
    channels: dict[ChannelKey, Snowflake] = Field(default_factory=dict)
    """Discord channel id per event kind; ``default`` receives every kind not listed."""
    metrics: MetricsConfig = MetricsConfig()
    """Metric sampling."""
    stats: StatsConfig = StatsConfig()
    """Periodic stats posts."""
    alerts: AlertsConfig = AlertsConfig()
    """UPS and RCON alerts."""
    permissions: PermissionsConfig = PermissionsConfig()
    """Who may run which commands against this server."""
    cooldowns: CooldownsConfig = CooldownsConfig()
    """Per-user command rate limits."""
    bridge: BridgeConfig = BridgeConfig()
    """Discord -> game chat bridge."""
    simulator: SimulatorConfig = SimulatorConfig()
    """Simulated server for ``isr up``."""

    @field_validator("log_path", mode="before")
    @classmethod
    def _log_path_text(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError("string_too_short", "String should have at least 1 character")
        if not isinstance(value, (str, Path)):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        return value

    @field_validator("log_path")
    @classmethod
    def _absolute_log_path(cls, value: Path, info: ValidationInfo) -> Path:
        config_dir = LoadContext.of(info.context).config_dir
        # normpath folds `..` without following symlinks (mounted log volumes are often links).
        return Path(os.path.normpath(config_dir / value))

    @field_validator("rcon")
    @classmethod
    def _drop_disabled_rcon(cls, value: RconConfig | None) -> RconConfig | None:
        return value if value is not None and value.enabled else None

    @field_validator("bridge")
    @classmethod
    def _bridge_needs_rcon(cls, value: BridgeConfig, info: ValidationInfo) -> BridgeConfig:
        if value.enabled and "rcon" in info.data and info.data["rcon"] is None:
            msg = "the bridge sends chat over RCON, so it needs rcon.enabled: true"
            raise rule_error(msg, at="enabled")
        return value

    def channel_for(self, kind: str) -> int | None:
        """The channel an event of ``kind`` goes to: its own, else ``default``, else None."""
        return self.channels.get(kind, self.channels.get("default"))


class DiscordConfig(ConfigModel):
    """Bot-wide Discord settings (the token is not here: it is a bot setting)."""

    guild_ids: SnowflakeList = ()
    """Guilds (Discord servers) the bot serves; commands elsewhere are refused. Empty = none."""
    presence: bool = True
    """Show "Watching n/m servers online" as the bot's status."""


class IsrConfig(ConfigModel):
    """The whole validated ``servers.yml``: Discord settings and every server by tag."""

    version: Literal[1] = 1
    """Schema version of the file."""
    discord: DiscordConfig = DiscordConfig()
    """Bot-wide Discord settings."""
    servers: Annotated[dict[ServerTag, ServerConfig], Field(min_length=1)]
    """Servers by tag, in file order."""
