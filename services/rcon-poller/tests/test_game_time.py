"""Reading `/time` replies."""

from __future__ import annotations

import pytest

from rcon_poller.game_time import GameTimeError, parse_game_time


class TestParseGameTime:
    @pytest.mark.parametrize(
        ("reply", "seconds"),
        [
            ("7 seconds\n", 7),
            ("1 second", 1),
            ("0 seconds", 0),
            ("1 minute", 60),
            ("2 hours and 1 second", 7201),
            ("1 day, 11 hours, 1 minute and 26 seconds\n", 86400 + 11 * 3600 + 60 + 26),
            ("3 days", 3 * 86400),
        ],
    )
    def test_words_become_seconds(self, reply: str, seconds: int):
        """Every unit Factorio prints, singular or plural, adds up to seconds."""
        assert seconds == parse_game_time(reply)

    @pytest.mark.parametrize(
        "reply", ["", 'Unknown command "time".', "7 parsecs", "1 minute and 1 minute", "soon"]
    )
    def test_anything_else_is_an_error(self, reply: str):
        """Text that is not a /time answer raises instead of guessing."""
        with pytest.raises(GameTimeError):
            parse_game_time(reply)
