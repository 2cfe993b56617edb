r"""Lua string literals for Factorio's console (Lua 5.2). Pure.

User text reaches Lua only as a literal built here, never spliced into code. The literal is
double-quoted; backslash and double quote are escaped, every control character becomes a
three-digit decimal escape (``\010``), and everything else (non-ASCII included) is written as
raw UTF-8: Lua 5.2 has no ``\u`` escape, so JSON-style ``\u00e9`` would be an "invalid escape
sequence" in game (facts §4.4). The result never contains a raw newline, so the command stays
one line, and ``]]`` or a ``/c`` inside the text is just text.
"""

from __future__ import annotations

import math

_ESCAPES = {"\\": "\\\\", '"': '\\"'}


def lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua 5.2 string literal."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03d}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def lua_number(value: float) -> str:
    """A finite float as a Lua number literal."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return repr(float(value))
