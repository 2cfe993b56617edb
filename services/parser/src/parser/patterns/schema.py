r"""The pattern-file schema (YAML), validated strictly at load.

A pattern file::

    version: 1
    pack: my-scenario            # optional label shown in messages
    disable: [chat_tagged]       # optional: shipped patterns to switch off
    patterns:
      - name: player_join        # unique across every loaded file
        type: join               # event type; becomes the subject token isr.events.<server>.join
        shape: dated             # dated | engine | bare | any (see parser.line_shapes)
        priority: 100            # LOWER runs first; ties keep load order
        regex: '^\\[JOIN\\] (?P<player>.+) joined the game$'
        channel: joins           # optional routing key (a channels: key in servers.yml)
        enabled: true
        description: A player connected.
        examples:                # at least one; each must be claimed by THIS pattern
          - line: '2019-01-20 10:30:04 [JOIN] User joined the game'
            expect: {player: User}

The regex runs on RE2 against the line's *body* (without its date or seconds prefix). Named
groups ``player`` and ``message`` fill those event fields; every other named group goes to the
event's ``data``. Unnamed capturing groups are refused (use ``(?:...)``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from common.contracts import EVENT_TYPE_PATTERN

PATTERN_NAME = r"^[a-z][a-z0-9_]{0,63}$"
"""What a pattern name may look like."""
MAX_REGEX_CHARS = 2000
"""Longest regex accepted."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ExampleModel(_Strict):
    """A line the pattern must claim and the fields it must yield."""

    line: str = Field(min_length=1)
    """The whole console-log line, prefix included."""
    expect: dict[str, str] = Field(default_factory=dict)
    """Fields the match must yield (``player``, ``message`` or any named group)."""


class PatternModel(_Strict):
    """One pattern."""

    name: str = Field(pattern=PATTERN_NAME)
    """Unique name (lower-case letters, digits, underscore)."""
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    """Event type of what it matches."""
    regex: str = Field(min_length=1, max_length=MAX_REGEX_CHARS)
    """RE2 regex over the line body; named groups only."""
    shape: Literal["dated", "engine", "bare", "any"] = "dated"
    """Which lines it applies to."""
    priority: int = Field(default=100, ge=0, le=10_000)
    """Lower runs first; the first match by (priority, load order) wins."""
    enabled: bool = True
    """Disabled patterns are validated but never run."""
    channel: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    """Routing key for the bot (a key of the server's ``channels``)."""
    description: str | None = None
    """What the line means, for people."""
    examples: list[ExampleModel] = Field(min_length=1)
    """At least one line this pattern must claim."""


class PatternFileModel(_Strict):
    """A whole pattern file."""

    version: Literal[1] = 1
    """Schema version."""
    pack: str | None = None
    """Label of the file's patterns (shipped packs: vanilla, engine, mods)."""
    description: str | None = None
    """What the file is for."""
    disable: list[str] = Field(default_factory=list)
    """Names of patterns from other files to switch off."""
    patterns: list[PatternModel] = Field(default_factory=list)
    """The patterns, in load order."""
