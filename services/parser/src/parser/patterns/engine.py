"""The compiled pattern set: which pattern claims a line, and what it captured (pure).

Every pattern runs on RE2, a linear-time engine, so no pattern and no line can make matching
slow (the original's "ReDoS protection" silently fell back to backtracking ``re``; see
original-isr.md §6.1 S7). Per line shape, all patterns are compiled into one ``re2.Set``: one
pass over the line's bytes tells which patterns match; the winner is the first by
``(priority, load order)`` — lower priority numbers win — and only the winner runs again to
extract its named groups. Matching works on UTF-8 bytes because the RE2 wrapper is several
times faster on bytes than on ``str``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from parser.line_shapes import Shape, SplitLine, split_line

RESERVED_GROUPS = ("player", "message")
"""Named groups with a fixed meaning; every other named group lands in the event's ``data``."""


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """One validated pattern, as loaded from a pattern file."""

    name: str
    type: str
    regex: str
    shape: Shape | None = Shape.DATED
    """The line shape the pattern applies to; None means every shape."""
    priority: int = 100
    enabled: bool = True
    channel: str | None = None
    pack: str = "user"
    source: str = ""
    """``file:line`` the pattern came from (for messages)."""
    examples: tuple[PatternExample, ...] = ()


@dataclass(frozen=True, slots=True)
class PatternExample:
    """A line the pattern must claim, and the fields it must yield."""

    line: str
    fields: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True, slots=True)
class PatternMatch:
    """The pattern that claimed a line, and what it captured."""

    spec: PatternSpec
    line: SplitLine
    player: str | None
    message: str | None
    data: dict[str, Any]

    def fields(self) -> dict[str, str]:
        """Every captured field by group name (player, message and the rest)."""
        out: dict[str, str] = dict(self.data)
        if self.player is not None:
            out["player"] = self.player
        if self.message is not None:
            out["message"] = self.message
        return out


class PatternCompileError(ValueError):
    """RE2 refused a regex (not linear-time, or not valid)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"pattern {name!r}: {reason}")


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    return options


def compile_regex(name: str, regex: str) -> Any:
    """Compile one regex with RE2, or raise :class:`PatternCompileError` saying why."""
    try:
        compiled = re2.compile(regex.encode(), _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = ""
        if "perl operator" in reason or "escape sequence" in reason:
            hint = " (look-arounds and back-references cannot run in linear time; rewrite without)"
        raise PatternCompileError(name, f"RE2 cannot compile it: {reason}{hint}") from exc
    named = {k.decode() if isinstance(k, bytes) else k for k in compiled.groupindex}
    if compiled.groups != len(named):
        raise PatternCompileError(
            name,
            "has unnamed capturing groups; name them (?P<name>...) or make them "
            "non-capturing (?:...)",
        )
    return compiled


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: PatternSpec
    regex: Any
    names: tuple[tuple[str, Any], ...]
    """(field name, the group key RE2 expects) per named group."""


class _ShapeGroup:
    def __init__(self, patterns: list[_Compiled]) -> None:
        self.patterns = patterns
        self.set: Any = None
        if patterns:
            self.set = re2.Set.SearchSet(_options())
            for p in patterns:
                self.set.Add(p.spec.regex.encode())
            self.set.Compile()

    def match(self, body: bytes) -> _Compiled | None:
        if self.set is None:
            return None
        hits = self.set.Match(body)
        if not hits:
            return None
        return self.patterns[min(hits)]


class PatternSet:
    """An immutable, compiled set of enabled patterns."""

    def __init__(self, specs: Sequence[PatternSpec]) -> None:
        enabled = [s for s in specs if s.enabled]
        # Stable sort: equal priorities keep load order (file name order, then file order).
        ordered = sorted(enabled, key=lambda s: s.priority)
        compiled = []
        for spec in ordered:
            rx = compile_regex(spec.name, spec.regex)
            names = tuple((k.decode() if isinstance(k, bytes) else k, k) for k in rx.groupindex)
            compiled.append(_Compiled(spec, rx, names))
        self.specs: tuple[PatternSpec, ...] = tuple(specs)
        self._groups = {
            shape: _ShapeGroup([c for c in compiled if c.spec.shape in (shape, None)])
            for shape in Shape
        }

    def __len__(self) -> int:
        return sum(1 for s in self.specs if s.enabled)

    def match(self, line: str) -> PatternMatch | None:
        """The winning pattern's match for ``line``, or None when no enabled pattern claims it."""
        split = split_line(line)
        group = self._groups[split.shape]
        if group.set is None:
            return None
        body = split.body.encode("utf-8", "surrogatepass")
        winner = group.match(body)
        if winner is None:
            return None
        m = winner.regex.search(body)
        if m is None:  # the set and the single regex agree by construction; be defensive
            return None
        player = message = None
        data: dict[str, Any] = {}
        for name, key in winner.names:
            raw = m.group(key)
            if raw is None:
                continue
            value = raw.decode("utf-8", "replace")
            if name == "player":
                player = value
            elif name == "message":
                message = value
            else:
                data[name] = value
        return PatternMatch(winner.spec, split, player, message, data)
