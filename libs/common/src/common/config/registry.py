"""Validators for the other files of the config directory, found through entry points.

``servers.yml`` is validated by the loader. Every other file (``mentions.yml``,
``secmon.yml``, ``patterns/*.yml``) belongs to the service that reads it; that service
publishes a :class:`FileValidator` so ``isr check-config`` validates its files too, without
``common`` importing the service. Register one in the package's ``pyproject.toml``::

    [project.entry-points."isr.config_validators"]
    patterns = "parser.patterns:CONFIG_VALIDATOR"

where ``CONFIG_VALIDATOR = FileValidator("patterns/*.yml", check_pattern_file)`` (or a tuple
of them). For a file that is one pydantic model, :func:`yaml_model_check` builds the check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel, ValidationError

from common.config.context import LoadContext
from common.config.documents import read_yaml
from common.config.errors import ConfigError, ConfigIssue
from common.config.issues import issues_from_validation_error

ENTRY_POINT_GROUP = "isr.config_validators"
"""Entry-point group that :func:`discover_validators` reads."""

FileCheck = Callable[[Path, LoadContext], Iterable[ConfigIssue]]
"""Validate one file (path as found under the config dir); return every problem."""


@dataclass(frozen=True)
class FileValidator:
    """Checks every file of the config directory that matches :attr:`pattern`."""

    pattern: str
    """Glob relative to the config directory: ``mentions.yml``, ``patterns/*.yml``."""
    check: FileCheck
    """Called once per matching file."""
    required: bool = False
    """Report a problem when no file matches."""

    def run(self, config_dir: Path, context: LoadContext) -> list[ConfigIssue]:
        """Check every matching file; a missing required file is one issue."""
        files = sorted(path for path in config_dir.glob(self.pattern) if not path.is_dir())
        if not files and self.required:
            return [ConfigIssue(config_dir / self.pattern, None, "", "required file not found")]
        return [issue for path in files for issue in self.check(path, context)]


def yaml_model_check(
    model: type[BaseModel], *, legacy_keys: Mapping[str, str] | None = None
) -> FileCheck:
    """A :data:`FileCheck` that parses the file and validates it as ``model``."""

    def check(path: Path, context: LoadContext) -> list[ConfigIssue]:
        try:
            document = read_yaml(path)
        except ConfigError as exc:
            return list(exc.issues)
        try:
            model.model_validate(document.data, context=context)
        except ValidationError as exc:
            return issues_from_validation_error(exc, document, model=model, legacy_keys=legacy_keys)
        return []

    return check


def discover_validators() -> tuple[FileValidator, ...]:
    """Every validator installed packages publish under :data:`ENTRY_POINT_GROUP`.

    Raises:
        TypeError: an entry point is neither a FileValidator nor an iterable of them.
    """
    found: list[FileValidator] = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        loaded = entry_point.load()
        items = tuple(loaded) if isinstance(loaded, Iterable) else (loaded,)
        for item in items:
            if not isinstance(item, FileValidator):
                msg = f"entry point {entry_point.name!r} gave {item!r}, not a FileValidator"
                raise TypeError(msg)
            found.append(item)
    return tuple(found)
