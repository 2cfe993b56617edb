"""The one sanitiser for spoofing characters (common.invisible.strip_invisible)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.invisible import strip_invisible

BIDI_AND_ZERO_WIDTH = [
    *(chr(c) for c in range(0x200B, 0x2010)),
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2060, 0x2065)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\ufeff",
    "\u061c",
    "\u00ad",
    "\U000e0041",
]


@pytest.mark.parametrize("char", BIDI_AND_ZERO_WIDTH, ids=lambda c: f"U+{ord(c):04X}")
def test_every_bidi_and_zero_width_character_goes(char: str):
    """Each bidi control and zero-width character between letters is removed."""
    assert strip_invisible(f"ad{char}min") == "admin"


def test_a_right_to_left_override_cannot_reorder_a_name():
    """``U+202E`` … ``U+202C`` around text leaves the text in its typed order."""
    assert strip_invisible("Bob\u202egnp.exe\u202c said") == "Bobgnp.exe said"


def test_controls_go_and_line_breaks_become_newlines():
    """NUL, ESC and DEL go; CR, U+2028 and U+2029 become newlines; tab and newline stay."""
    assert strip_invisible("a\x00b\x1b[31mc\x7f\td\re\u2028f\u2029g\nh") == (
        "ab[31mc\td\ne\nf\ng\nh"
    )


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f469\u200d\U0001f4bb",  # woman technologist
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
        "\u2764\ufe0f\u200d\U0001f525",  # heart on fire
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # with a skin tone
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
    ],
)
def test_emoji_sequences_stay_whole(emoji: str):
    """Joiners between emoji and a complete flag tag sequence are kept."""
    assert strip_invisible(f"gg {emoji}!") == f"gg {emoji}!"


def test_a_joiner_next_to_a_letter_or_an_unfinished_tag_run_goes():
    """ZWJ between letters or after an emoji before a letter goes; tags without cancel go."""
    assert strip_invisible("a\u200db \U0001f469\u200dx") == "ab \U0001f469x"
    assert strip_invisible("\U0001f3f4\U000e0067\U000e0062 x") == "\U0001f3f4 x"


def test_plain_and_non_latin_text_is_unchanged():
    """Accents, CJK, RTL letters and unassigned code points are not touched."""
    text = "Jérôme 日本語 שלום مرحبا \U0001fae8"
    assert strip_invisible(text) == text


@given(st.text())
def test_no_format_character_survives_outside_emoji(text: str):
    """Whatever the input, no bidi control or BOM is left and the result is stable."""
    result = strip_invisible(text)

    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in result)
    assert "\ufeff" not in result
    assert "\u200b" not in result
    assert strip_invisible(result) == result
