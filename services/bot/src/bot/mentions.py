"""``mentions.yml``: which in-game ``@tokens`` may ping which Discord role or user (pure).

Nothing pings unless this file maps the token to an id: ``@everyone``, ``@here``, raw ``<@id>``
and unknown tokens are shown as text. Pings are limited per player (``limit``), so one player
cannot spam a role. Example::

    version: 1
    roles:
      - id: 111111111111111111
        tokens: [admins, admin, mods]
    users:
      - id: 222222222222222222
        tokens: [alice]
    limit: {rate: 2, per_s: 300}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, Strict, model_validator

from bot.ratelimit import SlidingWindowLog
from bot.safety import safe_text, truncate
from common.config import (
    ConfigError,
    ConfigModel,
    FileValidator,
    LoadContext,
    read_yaml,
    rule_error,
    yaml_model_check,
)

MENTIONS_FILE = "mentions.yml"
TOKEN_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$"  # noqa: S105 - a mention token
"""What may follow ``@`` in game to ping (matched case-insensitively)."""
_TOKEN_IN_TEXT = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,31})")
_RESERVED = {"everyone", "here"}

Token = Annotated[str, Field(pattern=TOKEN_PATTERN)]
Snowflake = Annotated[int, Field(gt=0, le=2**63 - 1)]


class MentionTarget(ConfigModel):
    """One Discord role or user and the in-game tokens that ping it."""

    id: Snowflake
    """The role or user id."""
    tokens: Annotated[tuple[Token, ...], Field(min_length=1), Strict(strict=False)]
    """Words typed after ``@`` in game (case-insensitive)."""


class MentionLimit(ConfigModel):
    """At most ``rate`` messages with pings per player in any ``per_s`` seconds."""

    rate: Annotated[int, Field(gt=0)] = 2
    """Messages with pings allowed per window, per player and server."""
    per_s: Annotated[float, Field(gt=0)] = 300.0
    """Window length in seconds."""


class MentionsConfig(ConfigModel):
    """The whole ``mentions.yml``."""

    version: Literal[1] = 1
    """Schema version."""
    roles: Annotated[tuple[MentionTarget, ...], Strict(strict=False)] = ()
    """Roles that may be pinged, with their tokens."""
    users: Annotated[tuple[MentionTarget, ...], Strict(strict=False)] = ()
    """Users that may be pinged, with their tokens."""
    limit: MentionLimit = MentionLimit()
    """Per-player ping limit."""

    @model_validator(mode="after")
    def _tokens_unique(self) -> Self:
        seen: set[str] = set()
        for group, targets in (("roles", self.roles), ("users", self.users)):
            for index, target in enumerate(targets):
                for token in target.tokens:
                    lowered = token.lower()
                    if lowered in _RESERVED:
                        msg = f"@{lowered} can never ping; remove it"
                        raise rule_error(msg, at=f"{group}.{index}.tokens")
                    if lowered in seen:
                        msg = f"token {token!r} is mapped twice"
                        raise rule_error(msg, at=f"{group}.{index}.tokens")
                    seen.add(lowered)
        return self

    def target_of(self, token: str) -> tuple[Literal["role", "user"], int] | None:
        """The role or user a token pings, if any."""
        lowered = token.lower()
        for target in self.roles:
            if lowered in (t.lower() for t in target.tokens):
                return "role", target.id
        for target in self.users:
            if lowered in (t.lower() for t in target.tokens):
                return "user", target.id
        return None


def load_mentions(config_dir: Path) -> MentionsConfig:
    """``mentions.yml`` of the config dir, or an empty config (no pings) when there is none.

    Raises:
        common.config.ConfigError: the file exists and is invalid.
    """
    path = config_dir / MENTIONS_FILE
    if not path.exists():  # a FIFO or device there is refused by read_yaml, not ignored
        return MentionsConfig()
    issues = list(yaml_model_check(MentionsConfig)(path, LoadContext.create(config_dir)))
    if issues:
        raise ConfigError(issues)
    return MentionsConfig.model_validate(read_yaml(path).data)


CONFIG_VALIDATOR = FileValidator(MENTIONS_FILE, yaml_model_check(MentionsConfig))
"""Lets ``isr check-config`` validate mentions.yml (entry point ``isr.config_validators``)."""


@dataclass(frozen=True, slots=True)
class MentionedText:
    """Player text made safe, with the pings it is allowed to make."""

    text: str
    user_ids: tuple[int, ...] = ()
    role_ids: tuple[int, ...] = ()


class MentionResolver:
    """Turns mapped ``@tokens`` into pings, within the per-player limit."""

    def __init__(self, config: MentionsConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._window = SlidingWindowLog()

    def render(self, server: str, player: str | None, raw: str, *, limit: int) -> MentionedText:
        """``raw`` escaped, with each mapped token replaced by a ping when the limit allows."""
        raw = truncate(raw, limit)
        found = [(m, self.config.target_of(m[1])) for m in _TOKEN_IN_TEXT.finditer(raw)]
        if not any(target for _m, target in found):
            return MentionedText(safe_text(raw, limit=limit))
        allowed = (
            self._window.try_acquire(
                (server, player or ""),
                rate=self.config.limit.rate,
                per_s=self.config.limit.per_s,
                now=self._clock(),
            )
            == 0
        )
        parts: list[str] = []
        users: list[int] = []
        roles: list[int] = []
        last = 0
        for match, target in found:
            if target is None or not allowed:
                continue
            parts.append(safe_text(raw[last : match.start()], limit=limit))
            kind, target_id = target
            if kind == "role":
                parts.append(f"<@&{target_id}>")
                roles.append(target_id)
            else:
                parts.append(f"<@{target_id}>")
                users.append(target_id)
            last = match.end()
        parts.append(safe_text(raw[last:], limit=limit))
        return MentionedText(
            "".join(parts), tuple(dict.fromkeys(users)), tuple(dict.fromkeys(roles))
        )
