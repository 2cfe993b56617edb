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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import re2

from parser.line_shapes import Shape, SplitLine, timestamp

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


class PatternMatch(NamedTuple):
    """The pattern that claimed a line, and what it captured.

    A NamedTuple rather than a frozen dataclass: one is built per matched line, and a frozen
    dataclass's ``__init__`` costs several times more.
    """

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


ScanResult = tuple[
    PatternSpec, Shape, str, "datetime | None", str | None, str | None, dict[str, Any]
]
"""(spec, shape, body, timestamp, player, message, data) of a claimed line."""


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


# The matching hot path calls the C objects behind the pinned google-re2 wrapper directly
# (``_regexp``, ``_set``): the Python wrapper re-derives group names and re-encodes on every
# call, which cost more than the matching itself. Every test that parses a line covers this.
_UNANCHORED = re2._Anchor.UNANCHORED  # noqa: SLF001
_DATED, _ENGINE, _BARE = Shape.DATED, Shape.ENGINE, Shape.BARE


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: PatternSpec
    raw: Any
    """The C-level RE2 object."""
    fields: tuple[tuple[str, int], ...]
    """(field name, group index) per named group."""
    order: int
    """Rank by (priority, load order); the lowest matching rank wins."""


_TAG_PREFIX = re.compile(r"\^\\\[([A-Za-z0-9_-]+)\\\]")


def literal_tag(regex: str) -> str | None:
    r"""The ``TAG`` of a regex that can only match bodies starting with ``[TAG]``, else None.

    True when the regex begins with ``^\\[TAG\\]`` and has no alternation outside groups
    (``^\\[A\\] x|y`` could match ``y`` anywhere, so it has no tag).
    """
    m = _TAG_PREFIX.match(regex)
    if m is None or _has_top_level_alternation(regex):
        return None
    return m.group(1)


def _has_top_level_alternation(regex: str) -> bool:
    depth = 0
    in_class = False
    escaped = False
    for char in regex:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


class _ShapeGroup:
    """The patterns of one line shape, split for speed.

    Patterns that can only match a body starting with ``[TAG]`` are looked up by the line's tag
    and tried in rank order (a direct match gives the captures at once); the others are found
    with one ``re2.Set`` pass. The overall winner is the lowest rank among both, exactly as if
    every pattern had been tried in order.
    """

    def __init__(self, patterns: list[_Compiled]) -> None:
        self.is_empty = not patterns
        self.tagged: dict[str, list[_Compiled]] = {}
        self.untagged: list[_Compiled] = []
        for compiled in patterns:
            tag = literal_tag(compiled.spec.regex)
            if tag is None:
                self.untagged.append(compiled)
            else:
                self.tagged.setdefault(tag, []).append(compiled)
        self.untagged_set: Any = None
        # A tagged winner ranked before every untagged pattern cannot be beaten: skip the set.
        self.untagged_first = min((c.order for c in self.untagged), default=-1)
        if self.untagged:
            wrapper = re2.Set.SearchSet(_options())
            for p in self.untagged:
                wrapper.Add(p.spec.regex.encode())
            wrapper.Compile()
            self.untagged_set = wrapper._set  # noqa: SLF001

    def winner(self, text: str, body: bytes) -> tuple[_Compiled, Any] | None:
        """The claiming pattern and its spans, or None."""
        best: _Compiled | None = None
        spans: Any = None
        if self.tagged and text[:1] == "[":
            end = text.find("]")
            for candidate in self.tagged.get(text[1:end], ()) if end > 0 else ():
                found = candidate.raw.Match(_UNANCHORED, body, 0, len(body))
                if found[0][0] >= 0:
                    best, spans = candidate, found
                    break
        if self.untagged_set is not None and (best is None or best.order > self.untagged_first):
            hits = self.untagged_set.Match(body)
            if hits:
                other = self.untagged[min(hits)]
                if best is None or other.order < best.order:
                    best = other
                    spans = other.raw.Match(_UNANCHORED, body, 0, len(body))
        return None if best is None else (best, spans)


class PatternSet:
    """An immutable, compiled set of enabled patterns."""

    def __init__(self, specs: Sequence[PatternSpec]) -> None:
        enabled = [s for s in specs if s.enabled]
        # Stable sort: equal priorities keep load order (file name order, then file order).
        ordered = sorted(enabled, key=lambda s: s.priority)
        compiled = []
        for order, spec in enumerate(ordered):
            rx = compile_regex(spec.name, spec.regex)
            fields = sorted(
                ((k.decode() if isinstance(k, bytes) else k, i) for k, i in rx.groupindex.items()),
                key=lambda item: item[1],
            )
            compiled.append(_Compiled(spec, rx._regexp, tuple(fields), order))  # noqa: SLF001
        self.specs: tuple[PatternSpec, ...] = tuple(specs)
        # Plain attributes, not a dict keyed by Shape: hashing an Enum runs Python code.
        self._dated, self._engine, self._bare = (
            _ShapeGroup([c for c in compiled if c.spec.shape in (shape, None)])
            for shape in (Shape.DATED, Shape.ENGINE, Shape.BARE)
        )

    def __len__(self) -> int:
        return sum(1 for s in self.specs if s.enabled)

    def match(self, line: str) -> PatternMatch | None:
        """The winning pattern's match for ``line``, or None when no enabled pattern claims it."""
        found = self.scan(line)
        if found is None:
            return None
        spec, shape, body_text, ts, player, message, data = found
        return PatternMatch(spec, SplitLine(shape, body_text, ts), player, message, data)

    def scan(self, line: str) -> ScanResult | None:
        """:meth:`match` without building objects (the parser's hot path); same answer."""
        # Inlined split_line(): this runs for every line (hundreds of thousands a second), and
        # most lines match nothing, so nothing is allocated before a pattern claims the line.
        ts = None
        if len(line) > 19 and line[19] == " " and line[4] == "-" and line[13] == ":":
            ts = timestamp(line[:19])
            if ts is not None:
                shape, body_text, group = _DATED, line[20:], self._dated
            else:
                shape, body_text, group = _BARE, line, self._bare
        else:
            # "<spaces><digits>.<3 digits> " without a regex: str methods are several times
            # cheaper than even a simple re.match, and 70 % of a busy log is engine lines.
            stripped = line.lstrip(" ")
            space = stripped.find(" ")
            stamp = stripped[:space]
            if space > 4 and stamp[-4] == "." and stamp.replace(".", "", 1).isdigit():
                shape, body_text, group = _ENGINE, stripped[space + 1 :], self._engine
            else:
                shape, body_text, group = _BARE, line, self._bare
        if group.is_empty:
            return None
        body = body_text.encode("utf-8", "surrogatepass")
        found = group.winner(body_text, body)
        if found is None:
            return None
        winner, spans = found
        player = message = None
        data: dict[str, Any] = {}
        for name, index in winner.fields:
            start, end = spans[index]
            if start < 0:
                continue
            value = body[start:end].decode("utf-8", "replace")
            if name == "player":
                player = value
            elif name == "message":
                message = value
            else:
                data[name] = value
        return winner.spec, shape, body_text, ts, player, message, data
