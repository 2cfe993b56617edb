from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.render import render_event, render_stats
from common.contracts import GameEvent, MetricSample

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _event(type_: str, **fields: object) -> GameEvent:
    return GameEvent(id="s:f:1", server="s", type=type_, observed_at=NOW, **fields)  # type: ignore[arg-type]


class TestRenderEvent:
    def test_join_is_a_compact_line(self):
        """A join is one line with the player in bold (name escaped)."""
        item = render_event(
            _event("join", player="__Bob__"),
            server_name="A",
            show_server=False,
            as_embed=False,
            mentions=None,
        )

        assert item.line == r"👋 **\_\_Bob\_\_** joined the server"

    def test_shared_channel_lines_name_the_server(self):
        """In a channel shared by servers each line starts with the server's name."""
        item = render_event(
            _event("chat", player="a", message="hi"),
            server_name="Alpha",
            show_server=True,
            as_embed=False,
            mentions=None,
        )

        assert item.line == "💬 `[Alpha]` **a**: hi"

    def test_kick_as_embed_names_actor_and_reason(self):
        """A kick embed says who kicked whom and why."""
        item = render_event(
            _event("kick", player="Bob", message="afk", data={"actor": "admin"}),
            server_name="A",
            show_server=False,
            as_embed=True,
            mentions=None,
        )

        assert item.embed is not None
        assert item.embed.description == "**Bob** was kicked by admin: afk"


class TestRenderStats:
    def test_stats_show_ups_players_time_and_evolution(self):
        """The stats embed has UPS, players, game time and evolution fields."""
        sample = MetricSample(
            id="x",
            server="s",
            sampled_at=NOW,
            players_online=("b", "a"),
            player_count=2,
            game_time_s=3725,
            ups=59.9,
            evolution={"nauvis": 0.4512},
        )

        embed = render_stats(sample, server_name="A", now=NOW, stale_after_s=30)

        values = {f.name: f.value for f in embed.fields}
        assert values["✅ UPS"] == "59.9/60"
        assert values["👥 Players online"] == "2"
        assert values["⏰ Game time"] == "1h 2m 5s"
        assert values["🐛 Evolution"] == "45.12%"
        assert values["📝 Players"] == "• a\n• b"

    def test_stale_sample_is_flagged(self):
        """A sample older than the staleness limit says how old it is."""
        sample = MetricSample(id="x", server="s", sampled_at=NOW - timedelta(minutes=5))

        embed = render_stats(sample, server_name="A", now=NOW, stale_after_s=30)

        assert "5m" in embed.description
