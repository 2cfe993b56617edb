"""Making game text safe to show in Discord (pure).

Everything a player can type reaches Discord through :func:`safe_text`: markdown is escaped so a
name like ``__init__`` or ``**boss**`` shows as typed, and every way of writing a ping —
``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>``, ``<#id>`` — is broken with a
zero-width space, so it renders as text and never notifies anyone. The bot also sends explicit
``allowed_mentions`` on every post; this is the second lock (original-isr.md §6.1 S3).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
"""Zero-width space: invisible, but breaks a mention token."""
ELLIPSIS = "…"

_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<:])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def escape_markdown(text: str) -> str:
    """Backslash-escape every character Discord reads as markdown or a mention/emoji token."""
    return _MARKDOWN.sub(r"\\\1", text)


def neutralise_mentions(text: str) -> str:
    """Break ``@everyone``/``@here`` with a zero-width space (``<@id>`` is broken by escaping)."""
    return _MASS_MENTION.sub(lambda m: f"@{ZWSP}{m[1]}", text)


def safe_text(text: str, *, limit: int = 1000, single_line: bool = True) -> str:
    """Player text ready for a Discord message: cut, one line, escaped and ping-free.

    Cutting happens first so an escape sequence is never split; the result may be up to
    twice ``limit`` characters long (every character escaped) plus zero-width spaces.
    """
    text = _CONTROL.sub("", text)
    if single_line:
        text = " ".join(text.splitlines())
    return neutralise_mentions(escape_markdown(truncate(text, limit)))
