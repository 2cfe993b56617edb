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
# The URL password is found by a scanner, not one regex: `scheme://user:pw@` as a regex
# backtracks at every start position and took 26 s on 32,000 characters (a 900,000-character
# field froze a service for hours). The scanner visits each character a bounded number of
# times; each piece below matches one character class, so it cannot backtrack.
_USER_RUN = re.compile(r"[^:/@\s]*")
_PASSWORD_RUN = re.compile(r"[^@\s]*")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
MAX_FIELD_CHARS = 4000
"""Longest string a log field keeps; longer ones are cut with a marker naming their length."""
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
    """Return ``text`` with registered secrets and URL passwords replaced by ``***``.

    Linear in ``len(text)`` (per registered secret), and never longer than ``text``.
    """
    text = _redact_url_passwords(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_url_passwords(text: str) -> str:
    """Replace the password of every ``scheme://user:password@`` with ``***``."""
    out: list[str] = []
    done = 0  # text[:done] is settled
    stop_at = -1  # end of the last password run scanned (runs never overlap, so reuse it)
    search = 0
    while (sep := text.find("://", search)) != -1:
        search = sep + 1
        if sep < done or not _has_scheme_before(text, sep, done):
            continue
        user_end = _run_end(_USER_RUN, text, sep + 3)
        if user_end == sep + 3 or user_end >= len(text) or text[user_end] != ":":
            continue
        pw_start = user_end + 1
        if pw_start > stop_at:
            stop_at = _run_end(_PASSWORD_RUN, text, pw_start)
        pw_end = stop_at
        if pw_end == pw_start or pw_end >= len(text) or text[pw_end] != "@":
            continue
        length = pw_end - pw_start
        out += [text[done:pw_start], REDACTED if length >= len(REDACTED) else "*" * length]
        done = search = pw_end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _run_end(run: re.Pattern[str], text: str, start: int) -> int:
    match = run.match(text, start)  # a `[...]*` run always matches, possibly empty
    return match.end() if match is not None else start


def _has_scheme_before(text: str, sep: int, floor: int) -> bool:
    """A run of scheme characters ends at ``sep`` and holds a letter (a scheme's first char)."""
    index = sep - 1
    while index >= floor and text[index] in _SCHEME_CHARS:
        if text[index].isalpha():
            return True
        index -= 1
    return False


def cap_text(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters plus a marker with its length, if it is longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[cut: {len(text):,} characters]"


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
