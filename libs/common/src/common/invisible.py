"""Removing the characters that let text pretend to be other text (pure).

Players choose their names and chat; Discord users write what the bridge says in game. Both
directions pass :func:`strip_invisible` first, so nobody can reorder what others see with a
bidi override (``U+202E``), hide words with zero-width characters, or smuggle invisible
"tag" text. What goes:

- **Format characters** (Unicode category ``Cf``): the bidi embeddings, overrides and isolates
  (``U+202A``-``U+202E``, ``U+2066``-``U+2069``), the marks ``U+200E``/``U+200F``/``U+061C``,
  zero-width space and non-joiner (``U+200B``, ``U+200C``), word joiner and the invisible
  operators (``U+2060``-``U+2064``), the byte-order mark ``U+FEFF``, soft hyphen, tag
  characters (``U+E0000``-``U+E007F``) and the rest of the category.
- **Control characters** (``Cc``) other than tab and newline, and lone surrogates (``Cs``).
- **Line and paragraph separators** (``U+2028``, ``U+2029``) and carriage returns become a
  newline, so a caller that wants one line joins them like any other line break.

Two exceptions keep emoji whole, because they are only ever drawn as one picture:

- **Zero-width joiner** (``U+200D``) stays only *between two emoji* (👩‍💻, 🏳️‍🌈, ❤️‍🔥:
  the character before it is a symbol, a skin-tone modifier or the emoji variation selector,
  the one after it a symbol). Anywhere else, e.g. between letters, it goes.
- **Tag characters** stay only as a complete flag sequence: directly after 🏴 (``U+1F3F4``)
  and ending with the cancel tag ``U+E007F`` (🏴󠁧󠁢󠁳󠁣󠁴󠁿).

Unassigned code points (``Cn``) are kept: emoji newer than Python's Unicode tables are
unassigned to it and must not vanish.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
"""Zero-width joiner: kept between two emoji only."""
_BLACK_FLAG = "\U0001f3f4"
_TAG_FIRST, _TAG_CANCEL = 0xE0000, 0xE007F
_EMOJI_PRESENTATION = "\ufe0f"
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_LINE_BREAKS = frozenset("\r\u2028\u2029\x85")
_KEPT_CONTROLS = frozenset("\t\n")
_DROPPED = frozenset({"Cf", "Cc", "Cs"})


def _is_emoji_end(char: str) -> bool:
    """Whether ``char`` can end the emoji before a joiner."""
    return char == _EMOJI_PRESENTATION or ord(char) in _SKIN_TONES or _is_symbol(char)


def _is_symbol(char: str) -> bool:
    return unicodedata.category(char) == "So"


def _tag_run_end(text: str, start: int) -> int:
    """The index after a complete tag sequence starting at ``start``, or ``start`` if none."""
    index = start
    while index < len(text) and _TAG_FIRST <= ord(text[index]) <= _TAG_CANCEL:
        index += 1
        if ord(text[index - 1]) == _TAG_CANCEL:
            return index
    return start


def strip_invisible(text: str) -> str:
    """``text`` without bidi controls, zero-width and other invisible characters (module doc)."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to look at
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in _LINE_BREAKS:
            out.append("\n")
        elif char in _KEPT_CONTROLS or unicodedata.category(char) not in _DROPPED:
            out.append(char)
        elif char == ZWJ:
            following = text[index + 1] if index + 1 < len(text) else ""
            if out and following and _is_emoji_end(out[-1]) and _is_symbol(following):
                out.append(char)
        elif out and out[-1] == _BLACK_FLAG and _TAG_FIRST <= ord(char) <= _TAG_CANCEL:
            end = _tag_run_end(text, index)
            if end > index:
                out.append(text[index:end])
                index = end
                continue
        index += 1
    return "".join(out)
