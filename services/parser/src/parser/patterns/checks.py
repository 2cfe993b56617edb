"""``isr check-config`` support: the whole pattern set is checked once per directory."""

from __future__ import annotations

from pathlib import Path

from common.config.context import LoadContext
from common.config.errors import ConfigIssue
from parser.patterns.loader import DEFAULT_PACKS, load_patterns, pattern_files


def check_pattern_file(path: Path, context: LoadContext) -> list[ConfigIssue]:
    """Problems of the pattern set, reported once (with the directory's first file).

    Patterns interact (shadowing, duplicate names), so a file cannot be judged alone: the
    whole set — shipped default packs plus every user file — is loaded and self-tested.
    """
    files = pattern_files(context.config_dir)
    if not files or path.resolve() != files[0].resolve():
        return []
    return list(load_patterns(context.config_dir, packs=DEFAULT_PACKS).issues)
