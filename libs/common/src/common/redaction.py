"""Secret redaction shared by logging, errors and embeds.

Resolved secrets (RCON passwords, the Discord token, database passwords) are registered here
when they are loaded; the log pipeline replaces every registered value, and every value under a
secret-looking key, with ``***`` before anything is rendered. Registration is process-global on
purpose: a secret must be hidden from every logger, including third-party ones routed through
structlog.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "***"
"""What a redacted value is rendered as."""

_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|authori[sz]ation|api[_-]?key|dsn)", re.IGNORECASE
)
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@\s]+)@", re.IGNORECASE
)
_MIN_SECRET_LEN = 4  # shorter values would redact ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so it is replaced wherever it appears in a log line or error text."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def forget_secrets() -> None:
    """Drop every registered secret (used by tests to isolate cases)."""
    with _lock:
        _secrets.clear()


def is_secret_key(key: str) -> bool:
    """Tell whether a mapping key names a secret (password, token, ...)."""
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """Return ``text`` with registered secrets and URL passwords replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_value(key: str, value: Any) -> Any:
    """Redact one log field: secret-looking keys lose their value, strings are scrubbed."""
    if is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(key, v) for v in value)
    return value
