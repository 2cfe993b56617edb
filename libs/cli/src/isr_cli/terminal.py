r"""Making untrusted text safe to print on an operator's terminal (pure).

Player names and chat come from the game and can hold anything: an ANSI escape (ESC, or the
8-bit CSI U+009B) recolours or clears the terminal, moves the cursor or sets its title; NUL and
other control characters confuse terminals and pagers; bidi overrides (U+202E) and zero-width
characters make a line read differently from what it holds. Nothing is dropped: each such
character is shown as a visible escape (``\x1b``, ``\u202e``), so the operator sees that it
was there and what it was. Backslashes are left alone, so ``\x1b`` typed literally by a player
reads the same as a real escape; the point is that neither reaches the terminal as a control.
"""

from __future__ import annotations

from typing import Final

_SHORT: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

_BIDI_AND_INVISIBLE: Final = (
    "\u061c"  # arabic letter mark
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u2028\u2029"  # line and paragraph separators
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2060"  # word joiner
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
)


def _text_table() -> dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
    table.update({ord(char): escape for char, escape in _SHORT.items()})
    table.update({ord(char): f"\\u{ord(char):04x}" for char in _BIDI_AND_INVISIBLE})
    return table


_TEXT: Final = _text_table()
# JSON already escapes C0 controls inside strings; what it leaves raw (DEL, C1, bidi, zero-width)
# becomes a \uXXXX escape, which is the same string to every JSON reader.
_JSON: Final = {
    code: f"\\u{code:04x}"
    for code in (*range(0x7F, 0xA0), *(ord(char) for char in _BIDI_AND_INVISIBLE))
}


def printable(text: str) -> str:
    """``text`` with every control, bidi and invisible character shown as a visible escape."""
    return text.translate(_TEXT)


def printable_json(line: str) -> str:
    r"""A JSON document with the controls JSON leaves raw escaped as ``\uXXXX`` (same value)."""
    return line.translate(_JSON)
