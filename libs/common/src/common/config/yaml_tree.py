"""Build plain data from a YAML event stream, within limits, refusing what is not plain data.

ruamel.yaml's own constructors are not used: they recurse once per nesting level (5,000
brackets raise RecursionError), expand aliases without bound (a 700-byte "billion laughs"
file becomes gigabytes), build Python objects for ``!!python/...``, ``!!set`` or ``!!omap``
tags, and fail with ``AttributeError`` or ``TypeError`` on some merge-key and tag shapes. This
module reads ruamel's *events* (its scanner and parser keep no recursion) and builds ``dict``,
``list`` and scalars itself, with one explicit stack, so that every shape either becomes plain
data or a :class:`YamlProblem` with a line:

- nesting deeper than ``max_depth`` (counted through aliases, so a recursive alias too);
- more than ``max_nodes`` values once every alias is expanded (the alias bomb);
- a tag other than the core schema's ``!!str``, ``!!int``, ``!!float``, ``!!bool``,
  ``!!null``, ``!!timestamp``, ``!!map`` and ``!!seq``;
- a duplicate key, a key that is a list or mapping, a scalar that is not what its tag says;
- a merge key (``<<``) whose value is not a mapping or a list of mappings.

Merge keys follow YAML's merge rule: the mapping's own keys win, then earlier sources; each
merged key keeps the line where it is written.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import BaseResolver

Loc: TypeAlias = tuple[Any, ...]
"""Path of a value inside a document: mapping keys (usually ``str``) and sequence indexes."""
Lines: TypeAlias = list[tuple[Loc, int]]
"""(location, 1-based line) of each mapping key and sequence item, in document order."""

_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
_MERGE = _CORE + "merge"
_MAP = _CORE + "map"
_SEQ = _CORE + "seq"
_SCALARS: dict[str, tuple[str, Callable[[SafeConstructor, ScalarNode], Any]]] = {
    _CORE + "null": ("null", SafeConstructor.construct_yaml_null),
    _CORE + "bool": ("boolean", SafeConstructor.construct_yaml_bool),
    _CORE + "int": ("integer", SafeConstructor.construct_yaml_int),
    _CORE + "float": ("number", SafeConstructor.construct_yaml_float),
    _CORE + "timestamp": ("date or time", SafeConstructor.construct_yaml_timestamp),
}
_KEY_TYPES = (str, int, float, bool, dt.date, type(None))


class YamlProblem(Exception):
    """The document is not acceptable plain data; located at ``line`` (1-based) and ``loc``."""

    def __init__(self, line: int | None, loc: Loc, message: str) -> None:
        self.line = line
        self.loc = loc
        self.message = message
        super().__init__(message)


class _MergeSlot:
    """Stands for the ``<<`` key while its value is built (never a real key)."""

    def __str__(self) -> str:
        return "<<"


_MERGE_SLOT = _MergeSlot()


@dataclass
class _Anchored:
    value: Any
    lines: Lines
    nodes: int
    height: int


@dataclass
class _Frame:
    is_map: bool
    loc: Loc
    line: int
    anchor: str | None
    nodes_at_start: int
    lines_at_start: int
    value: Any
    height: int = 0
    key: Any = None
    has_key: bool = False
    key_lines: dict[Any, int] = field(default_factory=dict)
    merge: tuple[Any, int] | None = None
    """The value of this mapping's ``<<`` key and its line, applied when the mapping ends."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one document (see :mod:`common.config.limits` for the values used)."""

    max_depth: int
    max_nodes: int


class _Builder:
    def __init__(self, constructor: SafeConstructor, limits: Limits) -> None:
        self._constructor = constructor
        self._resolver: BaseResolver = constructor.resolver
        self._limits = limits
        self._stack: list[_Frame] = []
        self._anchors: dict[str, _Anchored] = {}
        self._open_anchors: set[str] = set()
        self._nodes = 0
        self._documents = 0
        self.lines: Lines = []
        self.root: Any = None
        self.root_line: int | None = None

    # -- events -----------------------------------------------------------------------------

    def feed(self, event: Any) -> None:
        if isinstance(event, DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                message = "a file holds one YAML document; remove the second `---` and below"
                raise YamlProblem(event.start_mark.line + 1, (), message)
        elif isinstance(event, ScalarEvent):
            self._count(1, event)
            self._place(self._scalar(event), event, height=0)
            self._remember(event.anchor, self._last_placed, [], 1, 0)
        elif isinstance(event, AliasEvent):
            self._alias(event)
        elif isinstance(event, CollectionStartEvent):
            self._open(event)
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            self._close()

    def _open(self, event: CollectionStartEvent) -> None:
        is_map = isinstance(event, MappingStartEvent)
        line = event.start_mark.line + 1
        if len(self._stack) >= self._limits.max_depth:
            raise YamlProblem(line, self._child_loc()[:_SHOWN_DEPTH], self._too_deep())
        tag = self._collection_tag(event, is_map=is_map)
        if tag != (_MAP if is_map else _SEQ):
            raise YamlProblem(line, self._child_loc(), _unsupported_tag(tag))
        if self._stack and self._stack[-1].is_map and not self._stack[-1].has_key:
            raise YamlProblem(line, self._stack[-1].loc, _COMPLEX_KEY)
        self._count(1, event)
        loc = self._child_loc()
        if self._stack and not self._stack[-1].is_map:
            self._record_line(loc, line)  # a mapping value's line is its key's, already noted
        if event.anchor is not None:
            self._open_anchors.add(event.anchor)
        self._stack.append(
            _Frame(
                is_map=is_map,
                loc=loc,
                line=line,
                anchor=event.anchor,
                nodes_at_start=self._nodes,
                lines_at_start=len(self.lines),
                value={} if is_map else [],
            )
        )

    def _close(self) -> None:
        frame = self._stack.pop()
        if frame.merge is not None:
            self._apply_merge(frame, *frame.merge)
        nodes = self._nodes - frame.nodes_at_start + 1
        height = frame.height + 1
        self._place(frame.value, None, height=height, line=frame.line, from_frame=True)
        if frame.anchor is not None:
            self._open_anchors.discard(frame.anchor)
            base = len(frame.loc)
            sub = [(loc[base:], line) for loc, line in self.lines[frame.lines_at_start :]]
            self._remember(frame.anchor, frame.value, sub, nodes, height)

    def _alias(self, event: AliasEvent) -> None:
        line = event.start_mark.line + 1
        name = event.anchor
        if name in self._open_anchors:
            message = f"alias *{name} is used inside the value it names (a recursive structure)"
            raise YamlProblem(line, self._child_loc(), message)
        anchored = self._anchors.get(name)
        if anchored is None:
            raise YamlProblem(line, self._child_loc(), f"alias *{name} names no anchor")
        if len(self._stack) + anchored.height > self._limits.max_depth:
            raise YamlProblem(line, self._child_loc()[:_SHOWN_DEPTH], self._too_deep())
        self._count(anchored.nodes, event)
        if self._stack and self._stack[-1].is_map and not self._stack[-1].has_key:
            if not isinstance(anchored.value, _KEY_TYPES):
                raise YamlProblem(line, self._stack[-1].loc, _COMPLEX_KEY)
            self._place(anchored.value, event, height=0)
            return
        loc = self._child_loc()
        self._place(_copy(anchored.value), event, height=anchored.height)
        self.lines.extend(((*loc, *sub), sub_line) for sub, sub_line in anchored.lines)

    # -- placing values ---------------------------------------------------------------------

    _last_placed: Any = None

    def _place(
        self,
        value: Any,
        event: Any,
        *,
        height: int,
        line: int | None = None,
        from_frame: bool = False,
    ) -> None:
        self._last_placed = value
        if line is None:
            line = event.start_mark.line + 1
        if not self._stack:
            self.root = value
            self.root_line = line
            return
        parent = self._stack[-1]
        parent.height = max(parent.height, height)
        if not parent.is_map:
            if not from_frame:
                self._record_line((*parent.loc, len(parent.value)), line)
            parent.value.append(value)
            return
        if not parent.has_key:
            self._take_key(parent, value, event, line)
            return
        parent.has_key = False
        if parent.key is _MERGE_SLOT:
            parent.merge = (value, line)
            return
        parent.value[parent.key] = value

    def _take_key(self, parent: _Frame, key: Any, event: Any, line: int) -> None:
        if isinstance(event, ScalarEvent) and self._is_merge_key(event):
            if _MERGE_SLOT in parent.key_lines:
                first = parent.key_lines[_MERGE_SLOT]
                message = f"a second << merge key (first at line {first})"
                raise YamlProblem(line, parent.loc, message)
            parent.key_lines[_MERGE_SLOT] = line
            parent.key, parent.has_key = _MERGE_SLOT, True
            return
        if isinstance(key, float) and math.isnan(key):
            raise YamlProblem(line, parent.loc, "a mapping key must not be .nan")
        if key in parent.key_lines:
            first = parent.key_lines[key]
            message = f"duplicate key {_show_key(key)} (first at line {first})"
            raise YamlProblem(line, (*parent.loc, key), message)
        parent.key_lines[key] = line
        self._record_line((*parent.loc, key), line)
        parent.key, parent.has_key = key, True

    def _apply_merge(self, frame: _Frame, value: Any, line: int) -> None:
        is_list = isinstance(value, list)
        sources = value if is_list else [value]
        merged: dict[Any, Any] = {}
        chosen: set[tuple[int, Any]] = set()
        for index, source in enumerate(sources):
            if not isinstance(source, dict):
                found = f"a list holding {_kind(source)}" if is_list else _kind(source)
                message = f"the << merge key needs a mapping or a list of mappings, got {found}"
                raise YamlProblem(line, frame.loc, message)
            for key, item in source.items():
                if key not in frame.value and key not in merged:
                    merged[key] = item
                    chosen.add((index, key))
        frame.value = merged | frame.value
        # Lines of the merge value were noted under the merge slot; a chosen key's entries move
        # to the mapping itself (keeping the line where the key is written), the rest go.
        base, width = len(frame.loc), 2 if is_list else 1
        kept: Lines = []
        moved: Lines = []
        for loc, entry_line in self.lines[frame.lines_at_start :]:
            rest = loc[base:]
            if not rest or rest[0] is not _MERGE_SLOT:
                kept.append((loc, entry_line))
            elif len(rest) > width and ((rest[1] if is_list else 0), rest[width]) in chosen:
                moved.append(((*frame.loc, *rest[width:]), entry_line))
        self.lines[frame.lines_at_start :] = [*kept, *moved]

    # -- helpers ----------------------------------------------------------------------------

    def _child_loc(self) -> Loc:
        if not self._stack:
            return ()
        parent = self._stack[-1]
        if parent.is_map:
            return (*parent.loc, parent.key) if parent.has_key else parent.loc
        return (*parent.loc, len(parent.value))

    def _record_line(self, loc: Loc, line: int) -> None:
        if loc:
            self.lines.append((loc, line))

    def _remember(self, anchor: str | None, value: Any, lines: Lines, nodes: int, h: int) -> None:
        if anchor is not None:
            self._anchors[anchor] = _Anchored(value, lines, nodes, h)

    def _count(self, nodes: int, event: Any) -> None:
        self._nodes += nodes
        if self._nodes > self._limits.max_nodes:
            message = (
                f"more than {self._limits.max_nodes:,} values, counting each use of an alias "
                "as a copy of what it names (aliases of aliases multiply: a YAML alias bomb?)"
            )
            raise YamlProblem(event.start_mark.line + 1, self._child_loc(), message)

    def _too_deep(self) -> str:
        return f"nested deeper than {self._limits.max_depth} levels"

    def _is_merge_key(self, event: ScalarEvent) -> bool:
        return event.tag is None and self._resolve_scalar(event) == _MERGE

    def _resolve_scalar(self, event: ScalarEvent) -> str:
        tag = event.tag
        if tag is None:
            return str(self._resolver.resolve(ScalarNode, event.value, event.implicit))
        return _STR if tag == "!" else str(tag)  # `! 12` is YAML's way to say "a string"

    def _collection_tag(self, event: CollectionStartEvent, *, is_map: bool) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            kind = MappingNode if is_map else SequenceNode
            return str(self._resolver.resolve(kind, None, event.implicit))
        return str(tag)

    def _scalar(self, event: ScalarEvent) -> Any:
        tag = self._resolve_scalar(event)
        if tag in (_STR, _MERGE):
            return event.value
        known = _SCALARS.get(tag)
        if known is None:
            raise YamlProblem(event.start_mark.line + 1, self._child_loc(), _unsupported_tag(tag))
        kind, construct = known
        try:
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
            return construct(self._constructor, node)
        except Exception:
            message = f"{_show_tag(tag)} value is not a valid {kind}"
            raise YamlProblem(event.start_mark.line + 1, self._child_loc(), message) from None


_SHOWN_DEPTH = 6  # a too-deep value's field shows only where the nesting starts
_COMPLEX_KEY = "a mapping key must be a plain value, not a list or a mapping"


def build(
    events: Iterable[Any], constructor: SafeConstructor, limits: Limits
) -> tuple[Any, Lines, int]:
    """Plain data, its line entries and the first line, from one document's events.

    ``constructor`` (a YAML 1.2 safe constructor) resolves plain scalars' tags and converts
    core-schema scalars; nothing else of it is used.

    Raises:
        YamlProblem: the first thing that is not acceptable (see the module docstring).
    """
    builder = _Builder(constructor, limits)
    for event in events:
        builder.feed(event)
    return builder.root, builder.lines, builder.root_line or 1


def _copy(value: Any) -> Any:
    # An alias gets its own copy, so that later edits of one place cannot change another;
    # the copy is bounded by the node budget already charged for it.
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _unsupported_tag(tag: str) -> str:
    return f"YAML tag {_show_tag(tag)} is not supported; write a plain value"


def _show_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


def _show_key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return "a single value"
