from __future__ import annotations

from bot.safety import ZWSP, escape_markdown, safe_text, truncate


class TestSafeText:
    def test_mass_mentions_are_broken(self):
        """@everyone and @here (any case) get a zero-width space and cannot ping."""
        assert safe_text("hi @everyone and @HERE") == f"hi @{ZWSP}everyone and @{ZWSP}HERE"

    def test_user_and_role_mentions_are_escaped(self):
        """<@id>, <@!id>, <@&id> and <#id> are escaped so Discord shows them as text."""
        assert safe_text("<@1> <@!2> <@&3> <#4>") == r"\<@1\> \<@!2\> \<@&3\> \<\#4\>"

    def test_markdown_is_escaped(self):
        """Bold, underline, code, spoilers, quotes and masked links show as typed."""
        assert escape_markdown("**b** __u__ `c` ||s|| > q [l](u)") == (
            r"\*\*b\*\* \_\_u\_\_ \`c\` \|\|s\|\| \> q \[l\]\(u\)"
        )

    def test_long_text_is_cut_before_escaping(self):
        """A 2,100-character line is cut to the limit with an ellipsis, one line."""
        result = safe_text("a\nb" + "x" * 2100, limit=100)

        assert result.endswith("…")
        assert "\n" not in result
        assert len(result) == 100

    def test_truncate_keeps_short_text(self):
        """Text within the limit is unchanged."""
        assert truncate("abc", 3) == "abc"
