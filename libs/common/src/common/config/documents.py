"""Read a YAML file into plain Python data plus a map from every key's path to its line.

ruamel.yaml's round-trip loader keeps the position of every key (``.lc``); we walk its tree
once, turning it into plain ``dict`` / ``list`` / scalars (so pydantic's strict mode sees exact
``int``, ``float``, ``bool`` and ``str``, not ruamel subclasses) and recording the 1-based line of
each mapping key and sequence item. Syntax errors, duplicate keys and unreadable files become
:class:`~common.config.errors.ConfigIssue` values with the line ruamel reports.

The YAML 1.2 rules apply: ``yes``/``no``/``on``/``off`` are strings, only ``true``/``false``
are booleans.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from common.config.errors import ConfigError, ConfigIssue

Loc: TypeAlias = tuple[Any, ...]
"""Path of a value inside a document: mapping keys (usually ``str``) and sequence indexes."""
_DUPLICATE_VALUES = re.compile(r" with value .*", re.DOTALL)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its plain data and the line of every key and item."""

    path: Path
    """The file, as the caller named it (used verbatim in issues)."""
    data: Any
    """Plain data: dicts, lists, str, int, float, bool, None (dates stay ``datetime.date``)."""
    lines: Mapping[Loc, int] = field(default_factory=dict)
    """1-based line of each mapping key / sequence item; ``()`` is the document's first line."""

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc``, or of its nearest ancestor present in the file (for a missing key)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def issue(self, loc: Loc, message: str, *, field_name: str | None = None) -> ConfigIssue:
        """Build an issue located at ``loc`` (field defaults to the dotted ``loc``)."""
        return ConfigIssue(
            self.path,
            self.line_of(loc),
            format_loc(loc) if field_name is None else field_name,
            message,
        )


def format_loc(loc: Loc) -> str:
    """Render a path as ``servers.alpha.permissions.admin[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _UnsupportedTagError(Exception):
    def __init__(self, tag: str) -> None:
        self.tag = tag
        super().__init__(tag)


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse ``path``.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8, or is not valid YAML; the issue
            names the line where the parser stopped.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"cannot read: {exc.strerror}")]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([ConfigIssue(path, line, "", "not valid UTF-8 text")]) from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse ``text`` as the content of ``path`` (see :func:`read_yaml`)."""
    yaml = YAML(typ="rt")
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, DuplicateKeyError):
            # ruamel quotes both values; a duplicated secret-looking key must not be echoed.
            problem = _DUPLICATE_VALUES.sub("", problem)
        elif exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise ConfigError([ConfigIssue(path, line, "", f"YAML syntax error: {problem}")]) from exc
    except YAMLError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"YAML error: {exc}")]) from exc
    lines: dict[Loc, int] = {}
    if isinstance(node, (CommentedMap, CommentedSeq)):
        lines[()] = node.lc.line + 1
    try:
        data = _plain(node, (), lines)
    except _UnsupportedTagError as exc:
        message = f"YAML tag {exc.tag} is not supported; write a plain value"
        raise ConfigError([ConfigIssue(path, None, "", message)]) from exc
    return YamlDocument(path, data, lines)


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            plain_key = _plain_key(key)
            line = _key_line(node, key)
            if line is not None:
                lines[(*loc, plain_key)] = line
            out[plain_key] = _plain(value, (*loc, plain_key), lines)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            lines[(*loc, index)] = node.lc.item(index)[0] + 1
            items.append(_plain(value, (*loc, index), lines))
        return items
    return _plain_scalar(node)


def _plain_scalar(node: Any) -> Any:
    if node is None or isinstance(node, (bool, dt.date, bytes)):
        return node
    if isinstance(node, TaggedScalar):
        raise _UnsupportedTagError(str(node.tag.value if node.tag else "?"))
    if isinstance(node, ScalarBoolean):
        return bool(node)
    # Order matters: bool is an int, and ruamel's ScalarInt/ScalarFloat/str subclasses must
    # become exact builtins or pydantic's strict mode would see foreign types.
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _plain_key(key: Any) -> Any:
    if isinstance(key, (tuple, list)):
        return tuple(_plain_key(part) for part in key)
    return _plain_scalar(key)


def _key_line(node: CommentedMap, key: Any) -> int | None:
    position = node.lc.data.get(key)
    if position is not None:
        return int(position[0]) + 1
    # A key brought in by a YAML merge (`<<: *anchor`) is positioned in the anchored mapping.
    for _index, source in node.merge:
        if isinstance(source, CommentedMap) and key in source:
            return _key_line(source, key)
    return None
