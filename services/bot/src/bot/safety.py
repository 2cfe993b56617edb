"""Making game text safe to show in Discord (pure).

Everything a player can type reaches Discord through :func:`safe_text`: markdown is escaped so a
name like ``__init__`` or ``**boss**`` shows as typed, and every way of writing a ping —
``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>``, ``<#id>`` — is broken with a
zero-width space, so it renders as text and never notifies anyone. The bot also sends explicit
``allowed_mentions`` on every post; this is the second lock (original-isr.md §6.1 S3).

Before any of that, :func:`common.invisible.strip_invisible` removes bidi overrides, zero-width
and other invisible characters a player could use to spoof text; the chat bridge uses the same
function in the other direction (:func:`bot.bridge.game_line`).
"""

from __future__ import annotations

import re

from common.invisible import strip_invisible

ZWSP = "\u200b"
"""Zero-width space: invisible, but breaks a mention token."""
ELLIPSIS = "…"

_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<:])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


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
    text = strip_invisible(text)
    if single_line:
        text = " ".join(text.splitlines())
    return neutralise_mentions(escape_markdown(truncate(text, limit)))


ADDRESS_HIDDEN = "[address hidden]"
"""What a host, IP address or port in engine or pattern text is replaced with."""

_ADDRESS = re.compile(
    r"IP ADDR:\(\{[^}]*\}\)"  # Factorio's own wrapper: IP ADDR:({127.0.0.1:57359})
    r"|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](?::\d{1,5})?"  # [::1]:34197
    r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])"  # 10.0.0.7:34197, 0.0.0.0
    r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}"
    r"[0-9A-Fa-f]{0,4}(?![\w:])"  # compressed IPv6: ::1, fe80::1
    r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"  # full IPv6
    r"|(?<![\w.-])(?:localhost|(?:[A-Za-z0-9-]+\.)+(?!(?:cpp|hpp|cc|lua)\b)[A-Za-z]{2,})"
    r":\d{1,5}(?!\w)"  # host:port, not a source location such as Main.cpp:839
    r"|\bport \d{1,5}\b",  # "Starting RCON interface at port 4000"
    re.IGNORECASE,
)


def hide_addresses(text: str) -> str:
    """``text`` with every IP address, ``host:port`` and port number replaced (pure).

    The relay applies it to everything it posts that is not a player's own words (engine and
    pattern text, reasons, data fields, the raw-line fallback): the game and RCON bind
    addresses Factorio logs must never reach a Discord channel.
    """
    return _ADDRESS.sub(ADDRESS_HIDDEN, text)
