from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.charts import line_chart
from bot.commands.history import active_alerts
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
