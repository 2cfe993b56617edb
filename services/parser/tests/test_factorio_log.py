from datetime import datetime

from parser.factorio_log import ParsedLine, parse_line, split_date


class TestParseLine:
    def test_join_with_hyphenated_name(self):
        """A [JOIN] line yields a join event for names with characters outside \\w."""
        assert parse_line("2019-01-20 10:30:04 [JOIN] Cool-Guy joined the game") == ParsedLine(
            type="join",
            pattern="player_join",
            ts=datetime(2019, 1, 20, 10, 30, 4),  # noqa: DTZ001
            player="Cool-Guy",
        )

    def test_leave_with_space_in_name(self):
        """A [LEAVE] line keeps a player name containing a space."""
        parsed = parse_line("2019-01-20 10:30:21 [LEAVE] grilled ham left the game")

        assert parsed is not None
        assert (parsed.type, parsed.player) == ("leave", "grilled ham")

    def test_server_chat(self):
        """Chat from <server> (RCON or console) is a chat event from <server>."""
        parsed = parse_line("2026-08-02 02:16:35 [CHAT] <server>: hello from probe")

        assert parsed is not None
        assert (parsed.player, parsed.message) == ("<server>", "hello from probe")

    def test_chat_message_keeps_colons(self):
        """Only the first ': ' separates the name from a message that contains colons."""
        parsed = parse_line("2019-01-20 10:30:07 [CHAT] 日本語: time: 12:00")

        assert parsed is not None
        assert (parsed.player, parsed.message) == ("日本語", "time: 12:00")

    def test_engine_line_is_not_an_event(self):
        """Seconds-prefixed engine lines produce no event."""
        assert parse_line("   0.567 Hosting game at IP ADDR:({0.0.0.0:34199})") is None

    def test_split_date_without_prefix(self):
        """A line without a date prefix keeps its text and has no timestamp."""
        assert split_date("Goodbye") == (None, "Goodbye")
