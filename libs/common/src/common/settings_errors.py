"""A bad environment variable as one clear line, and the entry points' way of stopping on it.

pydantic reports a settings error as a multi-line block (and, uncaught, under a traceback) that
names the *field*, not the variable the operator set. :func:`describe_settings_error` turns it
into one line per bad value: the variable, what is wrong, and what was given (never for a
secret). :func:`settings_or_exit` builds a service's settings and, on such an error, prints
those lines and exits with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from common.redaction import redact_text

T = TypeVar("T")

_MAX_SHOWN = 80
"""Longest given value shown in a message."""


def _settings_classes() -> dict[str, type[BaseSettings]]:
    found: dict[str, type[BaseSettings]] = {}
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.setdefault(sub.__name__, sub)
            pending.append(sub)
    return found


def _env_name(cls: type[BaseSettings] | None, loc: tuple[int | str, ...]) -> tuple[str, bool]:
    """The variable behind ``loc`` of ``cls``, and whether its value is a secret."""
    if cls is None:
        return ".".join(str(part) for part in loc), True
    prefix = str(cls.model_config.get("env_prefix", ""))
    field = cls.model_fields.get(str(loc[0])) if loc else None
    if field is None and loc and str(loc[0]).startswith("ISR_"):
        return str(loc[0]), False  # pydantic names a field read through an alias by the alias
    if field is None:
        return prefix + ".".join(str(part) for part in loc).upper(), True
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseSettings) and len(loc) > 1:
        return _env_name(annotation, loc[1:])
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        name = alias.choices[0]
    elif isinstance(alias, str):
        name = alias
    else:
        name = f"{prefix}{loc[0]}".upper()
    return name, "SecretStr" in repr(annotation) or annotation is SecretStr


def describe_settings_error(exc: ValidationError) -> list[str]:
    """One ``VARIABLE: problem (got 'value')`` line per invalid value in ``exc``."""
    cls = _settings_classes().get(exc.title)
    lines = []
    for error in exc.errors(include_url=False):
        name, is_secret = _env_name(cls, tuple(error["loc"]))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not message.startswith(name):
            message = f"{name}: {message}"
        given: Any = error.get("input")
        if isinstance(given, str) and not is_secret and repr(given) not in message:
            shown = given if len(given) <= _MAX_SHOWN else given[:_MAX_SHOWN] + "..."
            message += f" (got {shown!r})"
        lines.append(redact_text(message))
    return lines


def settings_or_exit(build: Callable[[], T], *, program: str, stderr: TextIO | None = None) -> T:
    """``build()``; on invalid settings print one line per bad variable and exit with 2."""
    try:
        return build()
    except ValidationError as exc:
        out = stderr if stderr is not None else sys.stderr
        for line in describe_settings_error(exc):
            out.write(f"{program}: {line}\n")
        out.flush()
        raise SystemExit(2) from None
