"""Loading, validating and self-testing the pattern files.

Load order is the shipped packs (in the order configured, default ``vanilla, engine``), then
every ``*.yml`` file of ``<config dir>/patterns`` in name order. Everything is checked before a
set is used, and *every* problem is reported with its file and line:

- the schema (unknown keys, wrong types, bad names);
- duplicate names across files, ``disable`` entries naming no pattern;
- each regex compiles on RE2 (linear time) and has only named groups;
- each example is claimed by its own pattern — not unmatched, and not shadowed by an earlier
  pattern (the bug that silently disabled the original's milestone patterns) — and yields the
  fields it expects.

A load with any problem returns no set, so a reload keeps the last good one running.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.config.documents import YamlDocument, parse_yaml, read_yaml
from common.config.errors import ConfigError, ConfigIssue
from common.config.issues import issues_from_validation_error
from parser.line_shapes import Shape
from parser.patterns.engine import (
    PatternCompileError,
    PatternExample,
    PatternSet,
    PatternSpec,
    compile_regex,
)
from parser.patterns.schema import PatternFileModel

SHIPPED_PACKS = ("vanilla", "engine", "mods")
"""Packs shipped in the package; ``mods`` (mod and scenario lines) is off by default."""
DEFAULT_PACKS = ("vanilla", "engine")
"""Packs loaded when none are configured."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A compiled set, or the reasons there is none."""

    patterns: PatternSet | None
    issues: tuple[ConfigIssue, ...]
    files: tuple[str, ...]
    """What was read, for logs."""


@dataclass(frozen=True, slots=True)
class _Source:
    label: str
    document: YamlDocument


def _shipped(pack: str) -> _Source:
    text = resources.files("parser.patterns.packs").joinpath(f"{pack}.yml").read_text("utf-8")
    label = f"<shipped>/{pack}.yml"
    return _Source(label, parse_yaml(text, Path(label)))


def pattern_files(config_dir: Path | None) -> list[Path]:
    """The user's pattern files in load order."""
    if config_dir is None:
        return []
    folder = config_dir / "patterns"
    if not folder.is_dir():
        return []
    # Not only regular files: a FIFO or device named *.yml is listed so the reader refuses it
    # with an issue, rather than it being skipped without a word.
    return sorted(p for p in folder.iterdir() if p.suffix in {".yml", ".yaml"} and not p.is_dir())


def load_patterns(config_dir: Path | None, *, packs: Sequence[str] = DEFAULT_PACKS) -> LoadResult:
    """Load the packs and the user's files; validate and self-test everything."""
    issues: list[ConfigIssue] = []
    sources: list[_Source] = []
    for pack in packs:
        if pack not in SHIPPED_PACKS:
            issues.append(
                ConfigIssue(
                    Path("ISR_PARSER_PACKS"),
                    None,
                    "",
                    f"unknown pack {pack!r}; shipped packs are {', '.join(SHIPPED_PACKS)}",
                )
            )
            continue
        sources.append(_shipped(pack))
    for path in pattern_files(config_dir):
        try:
            sources.append(_Source(str(path), read_yaml(path)))
        except ConfigError as exc:
            issues.extend(exc.issues)
    specs, disabled = _validate_files(sources, issues)
    specs = _apply_disable(specs, disabled, issues)
    compiled_ok = _check_regexes(specs, issues)
    patterns = None
    if compiled_ok:
        patterns = PatternSet(specs)
        issues.extend(check_examples(patterns))
    files = tuple(s.label for s in sources)
    if issues:
        return LoadResult(None, tuple(issues), files)
    return LoadResult(patterns, (), files)


def _loc_source(doc: YamlDocument, loc: tuple[Any, ...]) -> str:
    line = doc.line_of(loc)
    return f"{doc.path}:{line}" if line is not None else str(doc.path)


def _validate_files(
    sources: Iterable[_Source], issues: list[ConfigIssue]
) -> tuple[list[PatternSpec], list[tuple[str, YamlDocument, int]]]:
    specs: list[PatternSpec] = []
    disabled: list[tuple[str, YamlDocument, int]] = []
    seen: dict[str, str] = {}
    for source in sources:
        doc = source.document
        try:
            model = PatternFileModel.model_validate(doc.data or {})
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(exc, doc, model=PatternFileModel))
            continue
        disabled.extend((name, doc, i) for i, name in enumerate(model.disable))
        pack = model.pack or Path(source.label).stem
        for index, pattern in enumerate(model.patterns):
            where = _loc_source(doc, ("patterns", index))
            if pattern.name in seen:
                issues.append(
                    doc.issue(
                        ("patterns", index, "name"),
                        f"pattern name {pattern.name!r} is already used at {seen[pattern.name]}",
                    )
                )
                continue
            seen[pattern.name] = where
            examples = tuple(
                PatternExample(
                    ex.line, dict(ex.expect), _loc_source(doc, ("patterns", index, "examples", i))
                )
                for i, ex in enumerate(pattern.examples)
            )
            specs.append(
                PatternSpec(
                    name=pattern.name,
                    type=pattern.type,
                    regex=pattern.regex,
                    shape=None if pattern.shape == "any" else Shape(pattern.shape),
                    priority=pattern.priority,
                    enabled=pattern.enabled,
                    channel=pattern.channel,
                    pack=pack,
                    source=where,
                    examples=examples,
                )
            )
    return specs, disabled


def _apply_disable(
    specs: list[PatternSpec],
    disabled: list[tuple[str, YamlDocument, int]],
    issues: list[ConfigIssue],
) -> list[PatternSpec]:
    names = {s.name for s in specs}
    off = set()
    for name, doc, index in disabled:
        if name not in names:
            issues.append(doc.issue(("disable", index), f"no loaded pattern is named {name!r}"))
        off.add(name)
    return [dataclasses.replace(s, enabled=False) if s.name in off else s for s in specs]


def _check_regexes(specs: Sequence[PatternSpec], issues: list[ConfigIssue]) -> bool:
    ok = True
    for spec in specs:
        try:
            compile_regex(spec.name, spec.regex)
        except PatternCompileError as exc:
            issues.append(_issue_at(spec.source, f"patterns.{spec.name}.regex", exc.reason))
            ok = False
    return ok


def _issue_at(source: str, field: str, message: str) -> ConfigIssue:
    file, _, line = source.rpartition(":")
    if file and line.isdigit():
        return ConfigIssue(Path(file), int(line), field, message)
    return ConfigIssue(Path(source), None, field, message)


def check_examples(patterns: PatternSet) -> list[ConfigIssue]:
    """Every example must be claimed by its own pattern and yield what it expects."""
    issues: list[ConfigIssue] = []
    for spec in patterns.specs:
        for example in spec.examples:
            field = f"patterns.{spec.name}.examples"
            if not spec.enabled:
                own = PatternSet([dataclasses.replace(spec, enabled=True)])
                if own.match(example.line) is None:
                    issues.append(
                        _issue_at(example.source, field, f"does not match {example.line!r}")
                    )
                continue
            match = patterns.match(example.line)
            if match is None:
                issues.append(
                    _issue_at(example.source, field, f"no pattern matches {example.line!r}")
                )
                continue
            if match.spec.name != spec.name:
                winner = match.spec
                issues.append(
                    _issue_at(
                        example.source,
                        field,
                        f"{example.line!r} is claimed first by {winner.name!r} "
                        f"(priority {winner.priority}, {winner.source}); give {spec.name!r} a "
                        f"lower priority number or narrow {winner.name!r}",
                    )
                )
                continue
            got = match.fields()
            for key, want in example.fields.items():
                if got.get(key) != want:
                    issues.append(
                        _issue_at(
                            example.source,
                            field,
                            f"{key} is {got.get(key)!r} for {example.line!r}, expected {want!r}",
                        )
                    )
    return issues
