"""Turn pydantic validation errors into :class:`ConfigIssue` values a person can act on.

Each error becomes ``file:line: dotted.field: message``. The line comes from the YAML
document's line map (the key's line, or the parent mapping's for a missing key). Messages say
what was expected and what was found, in YAML terms (``got the string "10"``), and add a hint
where a mistake is common: an unknown key close to a real one, a key of the original bot that
moved, a plaintext password.

Other config files reuse :func:`issues_from_validation_error` with their own model.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from common.config.documents import Loc, YamlDocument, format_loc
from common.config.errors import ConfigIssue
from common.config.secrets import is_plaintext_secret_key

_KEY_MARKER = "[key]"
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "path_type": "a path (a string)",
}
_TEMPLATES = {
    "greater_than": "must be > {gt}, got {shown}",
    "greater_than_equal": "must be >= {ge}, got {shown}",
    "less_than": "must be < {lt}, got {shown}",
    "less_than_equal": "must be <= {le}, got {shown}",
    "literal_error": "expected {expected}, got {shown}",
    "string_pattern_mismatch": "must match {pattern}, got {shown}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must not be empty",
    "finite_number": "must be a finite number, got {shown}",
}
_YAML_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n"}

Locate = Callable[[Loc, ErrorDetails], tuple[Loc, str]]
"""Maps a model-relative error location to (document location, displayed field)."""


def issues_from_validation_error(
    error: ValidationError,
    document: YamlDocument,
    *,
    model: type[BaseModel] | None = None,
    loc_prefix: Loc = (),
    legacy_keys: Mapping[str, str] | None = None,
) -> list[ConfigIssue]:
    """One issue per pydantic error, located in ``document``.

    Args:
        error: what ``model.model_validate(document.data[loc_prefix...])`` raised.
        document: the parsed file, for line numbers.
        model: the validated model, used to suggest field names for unknown keys.
        loc_prefix: where the validated value sits in the document.
        legacy_keys: top-level keys of an older format and where they moved, for hints.
    """

    def locate(loc: Loc, _error: ErrorDetails) -> tuple[Loc, str]:
        full = (*loc_prefix, *loc)
        return full, format_loc(full)

    return translate_errors(
        error, document, locate=locate, model=model, legacy_keys=legacy_keys or {}
    )


def translate_errors(
    error: ValidationError,
    document: YamlDocument,
    *,
    locate: Locate,
    model: type[BaseModel] | None,
    legacy_keys: Mapping[str, str],
) -> list[ConfigIssue]:
    """Like :func:`issues_from_validation_error`, with a custom location mapping."""
    issues = []
    for details in error.errors(include_url=False):
        loc, is_key = _clean_loc(details)
        at = (details.get("ctx") or {}).get("at")
        if isinstance(at, str):
            loc = (*loc, *at.split("."))
        doc_loc, field = locate(loc, details)
        message = describe(details, loc, is_key=is_key, model=model, legacy_keys=legacy_keys)
        issues.append(ConfigIssue(document.path, document.line_of(doc_loc), field, message))
    return issues


def _clean_loc(details: ErrorDetails) -> tuple[Loc, bool]:
    loc = tuple(details["loc"])
    if loc and loc[-1] == _KEY_MARKER:
        return loc[:-1], True
    return loc, False


def describe(
    details: ErrorDetails,
    loc: Loc,
    *,
    is_key: bool = False,
    model: type[BaseModel] | None = None,
    legacy_keys: Mapping[str, str] | None = None,
) -> str:
    """The message for one pydantic error at model-relative ``loc``."""
    kind = details["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc, model, legacy_keys or {})
    if kind == "missing":
        return "required field is missing"
    prefix = "key: " if is_key else ""
    value = details.get("input")
    shown = _show(value, hide=_hides_value(loc))
    if kind in _EXPECTED:
        return f"{prefix}expected {_EXPECTED[kind]}, got {shown}{_type_hint(kind, value)}"
    template = _TEMPLATES.get(kind)
    if template is not None:
        ctx = {key: _number(item) for key, item in (details.get("ctx") or {}).items()}
        return prefix + template.format(shown=shown, **ctx)
    if kind.startswith("isr_"):
        return details["msg"]  # our own messages already say what they are about
    return f"{prefix}{details['msg']}, got {shown}"


def _number(value: Any) -> Any:
    """``0.0`` -> ``0`` so bounds read naturally; anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _hides_value(loc: Loc) -> bool:
    return bool(loc) and isinstance(loc[-1], str) and is_plaintext_secret_key(loc[-1])


def _show(value: Any, *, hide: bool = False) -> str:
    if hide:
        return "a value (hidden: the key looks like a secret)"
    for kinds, render in _RENDERERS:
        if isinstance(value, kinds):
            return render(value)
    return type(value).__name__


def _show_text(value: str) -> str:
    text = value if len(value) <= _SHOWN_TEXT_MAX else value[: _SHOWN_TEXT_MAX - 3] + "..."
    return f'the string "{text}"'


_SHOWN_TEXT_MAX = 60
_RENDERERS: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (type(None), lambda _: "null (an empty value)"),
    (bool, lambda value: "true" if value else "false"),
    (str, _show_text),
    ((int, float), repr),
    (Mapping, lambda _: "a mapping"),
    ((list, tuple), lambda _: "a list"),
    (dt.date, lambda value: f"the date {value.isoformat()} (quote it to make it a string)"),
)


def _type_hint(kind: str, value: Any) -> str:
    if kind == "string_type" and isinstance(value, (int, float)):
        return " (quote it to make it a string)"
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if kind in {"int_type", "float_type"} and _is_number(text):
        return " (write the number without quotes)"
    if kind == "bool_type" and text.lower() in _YAML_BOOL_WORDS:
        return " (write true or false, without quotes)"
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unknown_key(loc: Loc, model: type[BaseModel] | None, legacy_keys: Mapping[str, str]) -> str:
    key = loc[-1] if loc else ""
    name = str(key)
    if "token" in name.lower():
        return (
            "secrets must not be written in YAML; the Discord bot token is not part of this "
            "file: the bot reads it from its environment (see the README)"
        )
    if is_plaintext_secret_key(name):
        return (
            "secrets must not be written in YAML: reference them with password_env (the name "
            "of an environment variable) or password_file (a file path, relative to the "
            "config directory)"
            + (f"; the original's {name} is now {legacy_keys[name]}" if name in legacy_keys else "")
        )
    known = known_fields(model, loc[:-1]) if model is not None else []
    if len(loc) == 1 and name in legacy_keys:
        return f"unknown key; the original bot's {name} is now {legacy_keys[name]}"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]}?"
    if known:
        return f"unknown key; allowed here: {', '.join(known)}"
    return "unknown key"


def known_fields(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model reached by following ``loc`` from ``model`` (empty if none)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return []
        current = _model_in(current.model_fields[part].annotation)
    return list(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
