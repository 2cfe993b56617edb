"""What a configuration problem looks like: one :class:`ConfigIssue` per problem, all at once.

Loading never stops at the first problem. Every check collects :class:`ConfigIssue` values, and
:func:`~common.config.loader.load_config` raises one :class:`ConfigError` carrying all of them,
so ``isr check-config`` can print every mistake in a single run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in one configuration file, rendered as ``file:line: field: message``."""

    file: Path
    """The file, as the user named it (``config/servers.yml``), or the directory itself."""
    line: int | None
    """1-based line of the offending key, of its parent mapping when it is missing, or None."""
    field: str
    """Dotted path of the field (``servers.alpha.rcon.port``); empty for file-level problems."""
    message: str
    """What is wrong and, where it helps, what to write instead. Never contains a secret."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """The configuration is invalid; :attr:`issues` lists every problem found, in file order."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.issues)
        head = f"{count} configuration problem{'' if count == 1 else 's'}"
        return "\n  ".join([f"{head}:", *(str(issue) for issue in self.issues)])


def sort_issues(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    """Drop exact duplicates and order by file, then line (file-level problems first)."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda issue: (str(issue.file), issue.line or 0))
