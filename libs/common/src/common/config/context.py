"""What validation needs from the outside world: the config directory and the environment.

The loader passes one :class:`LoadContext` to pydantic as the validation context; validators
read it to resolve relative paths and secret references. Nothing in this package reads
``os.environ`` except :meth:`LoadContext.create` when the caller passes no mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "ISR_CONFIG_DIR"
"""Environment variable naming the configuration directory."""
DEFAULT_CONFIG_DIR = Path("config")
"""Configuration directory used when ``ISR_CONFIG_DIR`` is unset."""


@dataclass(frozen=True)
class LoadContext:
    """Where relative paths start and where ``*_env`` references are looked up."""

    config_dir: Path
    """Absolute configuration directory; relative ``log_path`` and ``*_file`` start here."""
    environ: Mapping[str, str] = field(repr=False)
    """Environment used to resolve ``*_env`` references."""
    resolve_secrets: bool = True
    """False checks the shape of secret references without reading them."""

    @classmethod
    def create(cls, config_dir: Path, environ: Mapping[str, str] | None = None) -> LoadContext:
        """Context for ``config_dir`` (made absolute) and ``environ`` (default: the process's)."""
        return cls(config_dir.absolute(), os.environ if environ is None else environ)

    @classmethod
    def of(cls, context: Any) -> LoadContext:
        """The context pydantic passed to a validator, or one for the working directory."""
        if isinstance(context, LoadContext):
            return context
        return cls.create(Path.cwd())


def default_config_dir(environ: Mapping[str, str]) -> Path:
    """``$ISR_CONFIG_DIR`` when set and non-empty, else ``./config``."""
    value = environ.get(CONFIG_DIR_ENV, "")
    return Path(value) if value else DEFAULT_CONFIG_DIR
