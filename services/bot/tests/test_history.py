from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.charts import line_chart
from bot.commands.history import active_alerts, spacing_text
from common.contracts import queries

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _alert(kind: str, minutes_ago: int, server: str = "a") -> queries.AlertRecord:
    return queries.AlertRecord(
        id=f"{server}:{kind}:{minutes_ago}",
        server=server,
        type=kind,
        severity="warning",
        raised_at=NOW - timedelta(minutes=minutes_ago),
        summary=kind,
        details={},
    )


class TestActiveAlerts:
    def test_latest_state_per_server_and_family_decides(self):
        """Low UPS after a recovery is active; RCON down followed by up is not."""
        alerts = (  # newest first, as the query API answers
            _alert("rcon_up", 1),
            _alert("ups_low", 2),
            _alert("ups_recovered", 3),
            _alert("rcon_down", 4),
            _alert("ups_low", 5, server="b"),
        )

        assert [(a.server, a.type) for a in active_alerts(alerts)] == [
            ("a", "ups_low"),
            ("b", "ups_low"),
        ]


class TestCharts:
    def test_chart_is_a_png_with_gaps_allowed(self):
        """A series with missing values still renders a PNG."""
        times = [NOW + timedelta(minutes=i) for i in range(5)]

        png = line_chart("UPS", times, [("avg", [60, None, 59, 58, 60])], y_label="UPS", target=60)

        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def _reply(step_s: int, gaps_s: list[float]) -> queries.MetricHistoryReply:
    times = [NOW]
    for gap in gaps_s:
        times.append(times[-1] + timedelta(seconds=gap))
    points = tuple(
        queries.MetricPoint(t=t, samples=1, ups_avg=60.0, ups_min=60.0, ups_max=60.0,
                            players_avg=0.0, players_max=0, paused_samples=0)
        for t in times
    )  # fmt: skip
    return queries.MetricHistoryReply(
        server="a", start=NOW, end=NOW, resolution="raw" if step_s == 0 else "minute",
        step_s=step_s, points=points,
    )  # fmt: skip


class TestSpacingText:
    def test_rolled_up_points_name_their_step(self):
        """Minute roll-ups say the step width."""
        assert spacing_text(_reply(300, [300, 300])) == "3 points, every 5m"

    def test_raw_samples_name_their_median_spacing_never_zero(self):
        """Raw points (step 0) say how far apart the samples are, sub-second ones too."""
        assert spacing_text(_reply(0, [10, 10, 11, 600])) == "5 samples, about every 11s"
        assert spacing_text(_reply(0, [0.5, 0.5])) == "3 samples, about every 0.5s"
        assert spacing_text(_reply(0, [])) == "1 sample"
