"""Secret references: YAML names *where* a secret is, never the secret itself.

A secret field is written as ``<name>_env: VAR`` (an environment variable) or
``<name>_file: PATH`` (a file, relative to the config directory; Docker and Kubernetes mount
secrets this way). Validation resolves the reference at load time into a :class:`SecretRef`
whose value is a :class:`~pydantic.SecretStr`, and registers the value with
:func:`common.redaction.register_secret` so no log line can show it.

An unset or empty variable, and a missing, unreadable, empty, oversized (over 64 KiB) or
special file (a directory, FIFO or device), are errors naming the field (the original silently
used the literal ``${VAR}`` as the password; see shared/research/original-isr.md §6.1 S9).
References inside a block whose ``enabled`` is ``false`` are checked for shape but not
resolved, so switching RCON off does not require its password.

Use :data:`SecretFromEnv` / :data:`SecretFromFile` as field types in any config model.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from common.config.context import LoadContext
from common.config.files import FileReadError, read_regular_file
from common.config.limits import SECRET_MAX_BYTES
from common.redaction import is_secret_key, register_secret

SECRET_ERROR = "isr_secret"  # noqa: S105 - an error type name, not a password
"""pydantic error type of an unresolvable secret reference."""

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TRAILING_NEWLINES = "\r\n"


class SecretRef(BaseModel):
    """A resolved (or, in a disabled block, merely checked) secret reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["env", "file"]
    """Where the secret comes from."""
    reference: str
    """The environment variable name, or the absolute file path."""
    value: SecretStr | None = None
    """The secret; None only when the enclosing block is disabled."""

    def get_secret_value(self) -> str:
        """The plain secret, for the one place that sends it (e.g. the RCON auth packet).

        Raises:
            LookupError: the reference was not resolved because its block is disabled.
        """
        if self.value is None:
            raise LookupError(f"secret from {self.kind} {self.reference} was not resolved")
        return self.value.get_secret_value()

    def __str__(self) -> str:
        return f"{self.kind}:{self.reference}"


def secret_error(message: str) -> PydanticCustomError:
    """A validation error for an unresolvable reference (the message must not hold a secret)."""
    return PydanticCustomError(SECRET_ERROR, "{detail}", {"detail": message})


def _string_type_error() -> PydanticCustomError:
    return PydanticCustomError("string_type", "Input should be a valid string")


def _should_resolve(info: ValidationInfo, context: LoadContext) -> bool:
    if not context.resolve_secrets:
        return False
    siblings: dict[str, Any] = info.data or {}
    return siblings.get("enabled", True) is not False


def validate_env_reference(value: object, info: ValidationInfo) -> SecretRef:
    """Pydantic validator: ``VAR`` -> :class:`SecretRef` holding ``$VAR``."""
    if isinstance(value, SecretRef) and value.kind == "env":
        return value
    if not isinstance(value, str):
        raise _string_type_error()
    if not _ENV_NAME.fullmatch(value):
        # Do not echo the value: it may be the password pasted into the wrong field.
        raise secret_error(
            "must name an environment variable (upper-case letters, digits and '_'), "
            "not hold the secret itself"
        )
    context = LoadContext.of(info.context)
    if not _should_resolve(info, context):
        return SecretRef(kind="env", reference=value)
    secret = context.environ.get(value)
    if secret is None:
        raise secret_error(f"environment variable {value} is not set")
    if not secret:
        raise secret_error(f"environment variable {value} is set but empty")
    register_secret(secret)
    return SecretRef(kind="env", reference=value, value=SecretStr(secret))


def validate_file_reference(value: object, info: ValidationInfo) -> SecretRef:
    """Pydantic validator: ``PATH`` -> :class:`SecretRef` holding the file's text.

    The path is relative to the config directory unless absolute. It must be a regular file
    (a symlink to one is fine: Kubernetes mounts secrets that way) of at most 64 KiB, so that
    ``/dev/zero``, a FIFO or a directory is an error naming the field instead of a hang or a
    MemoryError. Trailing newlines are dropped (``echo pw > file`` adds one); nothing else is.
    """
    if isinstance(value, SecretRef) and value.kind == "file":
        return value
    if not isinstance(value, str):
        raise _string_type_error()
    if not value.strip():
        raise PydanticCustomError("string_too_short", "String should have at least 1 character")
    context = LoadContext.of(info.context)
    path = context.config_dir / value
    if not _should_resolve(info, context):
        return SecretRef(kind="file", reference=str(path))
    try:
        raw = read_regular_file(path, max_bytes=SECRET_MAX_BYTES)
    except FileNotFoundError:
        raise secret_error(f"secret file {value} does not exist (looked for {path})") from None
    except FileReadError as exc:
        raise secret_error(f"secret file {value} {exc.reason}") from None
    try:
        secret = raw.decode("utf-8").rstrip(_TRAILING_NEWLINES)
    except UnicodeDecodeError:
        raise secret_error(f"secret file {value} is not UTF-8 text") from None
    if not secret:
        raise secret_error(f"secret file {value} is empty")
    register_secret(secret)
    return SecretRef(kind="file", reference=str(path), value=SecretStr(secret))


def _serialize_reference(ref: SecretRef) -> str:
    # Dump what the YAML said (the variable name or the path), never the value, so a dumped
    # config validates again and shows nothing secret.
    return ref.reference


SecretFromEnv = Annotated[
    SecretRef,
    PlainValidator(validate_env_reference, json_schema_input_type=str),
    PlainSerializer(_serialize_reference, return_type=str),
]
"""Field type of a ``*_env`` reference."""
SecretFromFile = Annotated[
    SecretRef,
    PlainValidator(validate_file_reference, json_schema_input_type=str),
    PlainSerializer(_serialize_reference, return_type=str),
]
"""Field type of a ``*_file`` reference."""


def is_plaintext_secret_key(key: str) -> bool:
    """Tell whether a YAML key looks like it holds a secret inline (``password``, ``token``)."""
    return is_secret_key(key) and not key.endswith(("_env", "_file"))
