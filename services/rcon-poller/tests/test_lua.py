"""Lua string literals are always safe to embed in a console command."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lupa import lua52

from rcon_poller.lua import lua_number, lua_string


def _evaluate(literal: str) -> str:
    runtime = lua52.LuaRuntime(encoding=None)
    result = runtime.eval(literal.encode("utf-8"))
    return result.decode("utf-8")


class TestLuaString:
    def test_quotes_and_backslashes_are_escaped(self):
        """Double quotes and backslashes are escaped; single quotes need nothing."""
        assert lua_string('say "hi" \\ it\'s') == '"say \\"hi\\" \\\\ it\'s"'

    def test_control_characters_become_decimal_escapes(self):
        """Newlines and other control characters become three-digit decimal escapes."""
        assert lua_string("a\nb\rc\x00") == '"a\\010b\\013c\\000"'

    def test_non_ascii_is_raw_utf8_without_u_escapes(self):
        """Non-ASCII text is written as is: Lua 5.2 has no u-escape (facts §4.4)."""
        assert lua_string("Jörg 日本語") == '"Jörg 日本語"'

    def test_long_brackets_and_commands_stay_inside_the_string(self):
        """`]]` and `/c` inside the text are just characters of the literal."""
        literal = lua_string("]] /c game.print(1) --[[")

        assert _evaluate(literal) == "]] /c game.print(1) --[["

    @given(st.text())
    def test_real_lua_reads_back_any_text(self, text: str):
        """For any text, real Lua 5.2 evaluates the literal back to the same text."""
        literal = lua_string(text)

        assert "\n" not in literal
        assert text == _evaluate(literal)


class TestLuaNumber:
    def test_finite_numbers_are_written_as_floats(self):
        """A number is written with Python's exact float repr."""
        assert lua_number(2.5) == "2.5"

    def test_nan_and_infinity_are_refused(self):
        """NaN and infinity have no literal in Lua and are refused."""
        with pytest.raises(ValueError, match="finite"):
            lua_number(float("nan"))
