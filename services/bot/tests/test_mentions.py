from __future__ import annotations

from pathlib import Path

import pytest

from bot.mentions import CONFIG_VALIDATOR, MentionResolver, MentionsConfig, load_mentions
from common.config import ConfigError, LoadContext


def _resolver(clock: list[float]) -> MentionResolver:
    config = MentionsConfig.model_validate(
        {
            "roles": [{"id": 11, "tokens": ["admins", "Mods"]}],
            "users": [{"id": 22, "tokens": ["alice"]}],
            "limit": {"rate": 1, "per_s": 60},
        }
    )
    return MentionResolver(config, lambda: clock[0])


class TestResolver:
    def test_only_mapped_tokens_ping(self):
        """@admins and @alice become pings; @everyone and unknown tokens stay text."""
        result = _resolver([0.0]).render("s", "bob", "@admins @ALICE @everyone @bob", limit=500)

        assert result.text == "<@&11> <@22> @\u200beveryone @bob"
        assert (result.role_ids, result.user_ids) == ((11,), (22,))

    def test_pings_are_limited_per_player(self):
        """A player's second pinging message within the window pings nobody."""
        clock = [0.0]
        resolver = _resolver(clock)

        first = resolver.render("s", "bob", "@mods", limit=500)
        second = resolver.render("s", "bob", "@mods", limit=500)
        other = resolver.render("s", "carol", "@mods", limit=500)
        clock[0] = 61.0
        later = resolver.render("s", "bob", "@mods", limit=500)

        assert (first.role_ids, second.role_ids, other.role_ids, later.role_ids) == (
            (11,),
            (),
            (11,),
            (11,),
        )

    def test_text_around_pings_is_escaped(self):
        """Markdown next to a ping is escaped like any other text."""
        assert _resolver([0.0]).render("s", "b", "**x** @admins", limit=500).text == (
            r"\*\*x\*\* <@&11>"
        )


class TestConfig:
    def test_everyone_cannot_be_mapped(self, tmp_path: Path):
        """A mentions.yml mapping @everyone is refused with the file and line."""
        (tmp_path / "mentions.yml").write_text("roles:\n  - id: 5\n    tokens: [everyone]\n")

        issues = CONFIG_VALIDATOR.run(tmp_path, LoadContext.create(tmp_path))

        assert len(issues) == 1
        assert "can never ping" in str(issues[0])

    def test_missing_file_means_no_pings(self, tmp_path: Path):
        """Without mentions.yml nothing can ping."""
        assert load_mentions(tmp_path) == MentionsConfig()

    def test_invalid_file_raises(self, tmp_path: Path):
        """An unknown key is an error at load."""
        (tmp_path / "mentions.yml").write_text("rolez: []\n")

        with pytest.raises(ConfigError):
            load_mentions(tmp_path)
