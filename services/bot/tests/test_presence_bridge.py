from __future__ import annotations

from bot.bridge import game_line
from bot.presence import PresenceTracker


class TestPresenceTracker:
    def test_only_changes_are_sent(self):
        """The same text twice is sent once; a new count is sent again."""
        tracker = PresenceTracker()

        assert [tracker.update(t) for t in ("1/2", "1/2", "2/2")] == ["1/2", None, "2/2"]


class TestGameLine:
    def test_line_is_marked_single_line_and_mention_free(self):
        """Discord markup becomes plain words and newlines become spaces, after the marker."""
        line = game_line("[Discord]", "carol", "hi <@12> <@&3> <#4>\n<:pog:99> bye", max_length=256)

        assert line == "[Discord] carol: hi @user @role #channel :pog: bye"

    def test_long_messages_are_cut(self):
        """A message longer than the bridge's max length is cut with an ellipsis."""
        line = game_line("[Discord]", "c", "x" * 500, max_length=50)

        assert line is not None
        assert len(line) == 50

    def test_blank_messages_are_not_sent(self):
        """A message with nothing printable sends nothing."""
        assert game_line("[Discord]", "c", "\u200b\n", max_length=50) is None

    def test_spoofing_characters_go_in_both_name_and_text(self):
        """Bidi overrides and zero-width characters from Discord never reach the game."""
        line = game_line(
            "[Discord]",
            "ca\u202erol\ufeff",
            "hi \u2066there\u2069\u200d \U0001f469\u200d\U0001f4bb",
            max_length=256,
        )

        assert line == "[Discord] carol: hi there \U0001f469\u200d\U0001f4bb"
