"""``/factorio-stats``: history from the query API (persistence), as charts and embeds.

Pure: request building and reply rendering; the shell sends the request.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.charts import line_chart
from bot.commands.replies import FOOTER, Reply, refusal
from bot.render import Color, EmbedField, EmbedSpec, format_duration
from bot.safety import safe_text
from common.contracts import queries
from common.contracts.alerts import AlertType

_PAIRS = {
    AlertType.UPS_LOW: "ups",
    AlertType.UPS_RECOVERED: "ups",
    AlertType.RCON_DOWN: "rcon",
    AlertType.RCON_UP: "rcon",
}
_ACTIVE = {AlertType.UPS_LOW, AlertType.RCON_DOWN}


def build_query(
    name: str, args: Mapping[str, Any], *, server: str, now: datetime
) -> tuple[queries.QueryName, Any, type[Any]]:
    """(query name, request, reply type) of a ``/factorio-stats`` subcommand."""
    hours = int(args.get("hours") or 24)
    match name:
        case "ups" | "players":
            request: Any = queries.MetricHistoryRequest(
                server=server, start=now - timedelta(hours=hours), end=now, max_points=500
            )
            return queries.QueryName.METRIC_HISTORY, request, queries.MetricHistoryReply
        case "playtime":
            request = queries.PlaytimeRequest(player=str(args["player"]).strip(), server=server)
            return queries.QueryName.PLAYTIME, request, queries.PlaytimeReply
        case "leaderboard":
            request = queries.LeaderboardRequest(server=server, limit=10)
            return queries.QueryName.LEADERBOARD, request, queries.LeaderboardReply
        case "seen":
            request = queries.LastSeenRequest(player=str(args["player"]).strip(), server=server)
            return queries.QueryName.LAST_SEEN, request, queries.LastSeenReply
        case _:
            request = queries.AlertHistoryRequest(server=server, limit=200)
            return queries.QueryName.ALERT_HISTORY, request, queries.AlertHistoryReply


def active_alerts(alerts: tuple[queries.AlertRecord, ...]) -> list[queries.AlertRecord]:
    """Alerts whose latest state (newest first in ``alerts``) is still raised."""
    seen: set[tuple[str, str]] = set()
    active = []
    for alert in alerts:
        try:
            kind = AlertType(alert.type)
        except ValueError:
            continue
        family = _PAIRS.get(kind)
        if family is None or (alert.server, family) in seen:
            continue
        seen.add((alert.server, family))
        if kind in _ACTIVE:
            active.append(alert)
    return active


def spacing_text(reply: queries.MetricHistoryReply) -> str:
    """``60 points, every 1m``; at raw resolution (step 0) the samples' own median spacing."""
    points = reply.points
    if reply.step_s > 0:
        return f"{len(points)} points, every {format_duration(reply.step_s)}"
    gaps = sorted((b.t - a.t).total_seconds() for a, b in itertools.pairwise(points))
    if not gaps:
        return f"{len(points)} sample" + ("s" if len(points) != 1 else "")
    median_s = gaps[len(gaps) // 2]
    every = format_duration(median_s) if median_s >= 1 else f"{median_s:.1f}s"
    return f"{len(points)} samples, about every {every}"


def history_reply(name: str, reply: Any, *, server_name: str) -> Reply:  # noqa: PLR0911
    """The answer to a ``/factorio-stats`` subcommand."""
    who = safe_text(server_name, limit=80)
    match reply:
        case queries.MetricHistoryReply(points=points) if not points:
            return refusal("📉 No data", f"No metric samples for {who} in that range yet.")
        case queries.MetricHistoryReply(points=points):
            times = [p.t for p in points]
            if name == "ups":
                png = line_chart(
                    f"UPS — {server_name}",
                    times,
                    [("avg", [p.ups_avg for p in points]), ("min", [p.ups_min for p in points])],
                    y_label="UPS",
                    target=60.0,
                )
            else:
                png = line_chart(
                    f"Players online — {server_name}",
                    times,
                    [("max", [float(p.players_max) for p in points])],
                    y_label="players",
                )
            file_name = f"{name}-history.png"
            embed = EmbedSpec(
                f"📈 {'UPS' if name == 'ups' else 'Players'} history — {who}",
                spacing_text(reply),
                Color.INFO,
                footer=FOOTER,
                image=f"attachment://{file_name}",
            )
            return Reply(embed, files=((file_name, png),))
        case queries.PlaytimeReply():
            status = "🟢 online now" if reply.is_online else ""
            return Reply(
                EmbedSpec(
                    f"⏱️ Playtime of {safe_text(reply.player, limit=80)}",
                    f"**{format_duration(reply.total_s)}** in {reply.sessions} session(s) {status}",
                    Color.INFO,
                    footer=FOOTER,
                )
            )
        case queries.LeaderboardReply(entries=entries):
            lines = [
                f"**{e.rank}.** {safe_text(e.player, limit=60)} — {format_duration(e.total_s)}"
                for e in entries
            ]
            text = "\n".join(lines) or "No sessions recorded yet."
            return Reply(
                EmbedSpec(f"🏆 Playtime leaderboard — {who}", text, Color.INFO, footer=FOOTER)
            )
        case queries.LastSeenReply(is_found=False):
            return refusal(
                "❓ Unknown player", f"{safe_text(reply.player, limit=80)} was never seen."
            )
        case queries.LastSeenReply():
            if reply.is_online:
                text = "🟢 Online now"
            elif reply.last_seen_at is not None:
                text = f"Last seen <t:{int(reply.last_seen_at.timestamp())}:R>"
            else:
                text = "Never seen"
            return Reply(
                EmbedSpec(
                    f"👀 {safe_text(reply.player, limit=80)}", text, Color.INFO, footer=FOOTER
                )
            )
        case queries.AlertHistoryReply(alerts=alerts):
            active = active_alerts(alerts)
            fields = tuple(
                EmbedField(
                    f"{a.type} since <t:{int(a.raised_at.timestamp())}:R>",
                    safe_text(a.summary, limit=300),
                )
                for a in active[:25]
            )
            text = "" if active else "✅ No active alerts."
            color = Color.WARNING if active else Color.SUCCESS
            return Reply(EmbedSpec(f"🔔 Active alerts — {who}", text, color, fields, footer=FOOTER))
    return refusal("❌ Error", "Unexpected answer from the history service.")


def query_error(error: queries.QueryError) -> Reply:
    """A query error as an ephemeral embed."""
    return refusal("❌ History unavailable", safe_text(error.message, limit=500))
