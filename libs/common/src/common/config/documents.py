"""Read a YAML file into plain Python data plus a map from every key's path to its line.

This is the one YAML reader of the project: ``servers.yml``, ``mentions.yml``, the pattern files
and anything else a service loads go through :func:`read_yaml` (or :func:`parse_yaml` for text
already in hand), so the limits of :mod:`common.config.limits` hold for every file. The file is
read as a regular file of at most ``YAML_MAX_BYTES`` (never a FIFO or device); ruamel.yaml's
scanner and parser turn it into events, and :mod:`common.config.yaml_tree` builds plain
``dict`` / ``list`` / scalars from them (exact ``int``, ``float``, ``bool`` and ``str``, so
pydantic's strict mode sees no ruamel subclasses), recording the 1-based line of each mapping
key and sequence item. Whatever the text holds, the result is a document or a
:class:`~common.config.errors.ConfigError` whose issues name the file and line: syntax errors,
duplicate keys, unsupported tags (``!!python/...``), bad merge keys, nesting beyond the depth
limit, alias bombs, oversized or special files. No other exception escapes.

The YAML 1.2 rules apply: ``yes``/``no``/``on``/``off`` are strings, only ``true``/``false``
are booleans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from common.config.errors import ConfigError, ConfigIssue
from common.config.files import FileReadError, read_regular_file
from common.config.limits import YAML_MAX_BYTES, YAML_MAX_DEPTH, YAML_MAX_NODES
from common.config.yaml_tree import Limits, Loc, YamlProblem, build

__all__ = ["Loc", "YamlDocument", "format_loc", "parse_yaml", "read_yaml"]

_DUPLICATE_VALUES = re.compile(r" with value .*", re.DOTALL)
_LIMITS = Limits(max_depth=YAML_MAX_DEPTH, max_nodes=YAML_MAX_NODES)


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


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse ``path`` (a regular file, or a symlink to one, of at most 512 KiB).

    Raises:
        ConfigError: the file cannot be read, is not a regular file, is too large, is not
            UTF-8, or is not acceptable YAML; the issue names the line where that was found.
    """
    try:
        raw = read_regular_file(path, max_bytes=YAML_MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(path, None, "", "cannot read: file not found")]) from None
    except FileReadError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"file {exc.reason}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([ConfigIssue(path, line, "", "not valid UTF-8 text")]) from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    """Parse ``text`` as the content of ``path`` (see :func:`read_yaml`)."""
    if len(text) > YAML_MAX_BYTES or len(text.encode("utf-8")) > YAML_MAX_BYTES:
        message = f"file is larger than the limit of {YAML_MAX_BYTES:,} bytes"
        raise ConfigError([ConfigIssue(path, None, "", message)])
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        data, entries, first_line = build(yaml.parse(text), yaml.constructor, _LIMITS)
    except YamlProblem as exc:
        issue = ConfigIssue(path, exc.line, format_loc(exc.loc), exc.message)
        raise ConfigError([issue]) from None
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_issue(path, exc)]) from None
    except YAMLError as exc:
        raise ConfigError([ConfigIssue(path, None, "", f"YAML error: {exc}")]) from None
    except Exception as exc:
        # ruamel's scanner and parser have no known failure of this kind; should one appear,
        # it is still this file's problem, not a crash of the service reading it.
        message = f"YAML could not be read ({type(exc).__name__}); simplify the file"
        raise ConfigError([ConfigIssue(path, None, "", message)]) from None
    lines: dict[Loc, int] = dict(entries)
    if isinstance(data, (dict, list)):
        lines[()] = first_line
    return YamlDocument(path, data, lines)


def _syntax_issue(path: Path, exc: MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        problem = f"{exc.problem} ({exc.context})"
    problem = _DUPLICATE_VALUES.sub("", problem)  # never echo a value: it may be a secret
    return ConfigIssue(path, line, "", f"YAML syntax error: {problem}")
