"""Build deploy/grafana/factorio-isr.json from the metric catalog: the dashboard as code.

Run ``uv run python deploy/grafana/build_dashboard.py`` after changing a panel or a metric;
tests/test_deploy.py fails when the JSON differs from what this writes, and when a metric of
common.metric_names has no panel. Metric names come from ``prometheus_name``, so a renamed
metric cannot leave a stale query behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from common.metric_names import Metric, prometheus_name

OUT = Path(__file__).with_name("factorio-isr.json")
PROM = {"type": "prometheus", "uid": "${prometheus}"}
PG = {"type": "grafana-postgresql-datasource", "uid": "${postgres}"}
SERVER = 'server=~"$server"'
RATE = "[$__rate_interval]"


def n(metric: Metric) -> str:
    """The Prometheus name of ``metric``."""
    return prometheus_name(metric)


def quantiles(metric: Metric, by: str, qs: tuple[float, ...] = (0.5, 0.95)) -> list[str]:
    """histogram_quantile expressions of a histogram, grouped ``by``."""
    group = f"le, {by}" if by else "le"
    return [
        f"histogram_quantile({q}, sum by ({group}) (rate({n(metric)}_bucket{RATE})))" for q in qs
    ]


# (title, description, unit, [expressions], width) per panel, grouped in rows.
ROWS: list[tuple[str, list[tuple[str, str, str, list[str], int]]]] = [
    (
        "Game servers (rcon-poller)",
        [
            (
                "UPS vs target",
                "Updates per second per server, and the target (60 x game speed).",
                "short",
                [
                    f"max by (server) ({n(Metric.GAME_UPS)}{{{SERVER}}})",
                    f"max by (server) ({n(Metric.GAME_TARGET_UPS)}{{{SERVER}}})",
                ],
                12,
            ),
            (
                "Players online",
                "Connected players per server (last sample).",
                "short",
                [f"max by (server) ({n(Metric.GAME_PLAYERS_ONLINE)}{{{SERVER}}})"],
                12,
            ),
            (
                "Evolution per surface",
                "Enemy evolution factor per server and surface.",
                "percentunit",
                [f"max by (server, surface) ({n(Metric.GAME_EVOLUTION)}{{{SERVER}}})"],
                8,
            ),
            (
                "RCON up / paused",
                "1 while the poller reaches RCON; 1 while the game is paused.",
                "short",
                [
                    f"max by (server) ({n(Metric.RCON_UP)}{{{SERVER}}})",
                    f"max by (server) ({n(Metric.GAME_PAUSED)}{{{SERVER}}})",
                ],
                8,
            ),
            (
                "Game time",
                "Hours of game time per server.",
                "s",
                [f"max by (server) ({n(Metric.GAME_TIME)}{{{SERVER}}})"],
                8,
            ),
        ],
    ),
    (
        "Pipeline flow and lag",
        [
            (
                "Lines read and batches published per server",
                "Console-log lines the tailers read, and raw batches JetStream acknowledged.",
                "ops",
                [
                    f"sum by (server) (rate({n(Metric.LINES_READ)}{{{SERVER}}}{RATE}))",
                    f"sum by (server) (rate({n(Metric.BATCHES_PUBLISHED)}{{{SERVER}}}{RATE}))",
                ],
                12,
            ),
            (
                "Events published per type",
                "Events the parsers published, per event type; lines parsed and unmatched.",
                "ops",
                [
                    f"sum by (type) (rate({n(Metric.EVENTS_PUBLISHED)}{RATE}))",
                    f"sum(rate({n(Metric.LINES_PARSED)}{RATE}))",
                    f"sum(rate({n(Metric.LINES_UNMATCHED)}{RATE}))",
                ],
                12,
            ),
            (
                "Consumer lag (pending / ack pending)",
                "Messages not yet delivered to each durable, and delivered but unacknowledged: "
                "the lag to scale the parser on.",
                "short",
                [
                    f"max by (stream, durable) ({n(Metric.CONSUMER_PENDING)})",
                    f"max by (stream, durable) ({n(Metric.CONSUMER_ACK_PENDING)})",
                ],
                12,
            ),
            (
                "End-to-end event age (p50 / p95)",
                "From the tailer reading a line to the Discord post / the Postgres commit.",
                "s",
                quantiles(Metric.EVENT_AGE, "stage"),
                12,
            ),
            (
                "Dead letters, redeliveries, naks, terminations",
                "Messages parked on dead-letter subjects, redelivered, nak'd and terminated, "
                "and dead letters kept.",
                "short",
                [
                    f"sum by (service) (increase({n(Metric.MESSAGES_DEAD_LETTERED)}{RATE}))",
                    f"sum by (service) (increase({n(Metric.MESSAGES_REDELIVERED)}{RATE}))",
                    f"sum by (service) (increase({n(Metric.MESSAGES_NAKED)}{RATE}))",
                    f"sum by (service) (increase({n(Metric.MESSAGES_TERMINATED)}{RATE}))",
                    f"max by (service) ({n(Metric.DEAD_LETTERS_STORED)})",
                ],
                12,
            ),
            (
                "Batch sizes and handle time per durable (p95)",
                "Messages per fetched batch and time from arrival to settlement.",
                "short",
                [
                    *quantiles(Metric.INTAKE_BATCH_SIZE, "service", (0.95,)),
                    *quantiles(Metric.INTAKE_HANDLE_DURATION, "service", (0.95,)),
                ],
                12,
            ),
            (
                "Stage durations (p95)",
                "Tailer publish (send to ack), parser batch, persistence batch write.",
                "s",
                [
                    *quantiles(Metric.TAILER_PUBLISH_DURATION, "server", (0.95,)),
                    *quantiles(Metric.PARSER_BATCH_DURATION, "", (0.95,)),
                    *quantiles(Metric.BATCH_SECONDS, "table", (0.95,)),
                ],
                12,
            ),
            (
                "Log content possibly lost (rotation)",
                "Times unread log content may have been lost, per server and reason.",
                "short",
                [
                    f"sum by (server, reason) (increase({n(Metric.LINES_POSSIBLY_LOST)}"
                    f"{{{SERVER}}}{RATE}))"
                ],
                12,
            ),
        ],
    ),
    (
        "Persistence and query API",
        [
            (
                "Rows written per table",
                "Rows inserted into Postgres (duplicates skipped are not counted).",
                "ops",
                [f"sum by (table) (rate({n(Metric.ROWS_WRITTEN)}{RATE}))"],
                8,
            ),
            (
                "Batch write time (p50 / p95 / p99)",
                "Time to write one batch, seconds.",
                "s",
                quantiles(Metric.BATCH_SECONDS, "table", (0.5, 0.95, 0.99)),
                8,
            ),
            (
                "Query API latency (p95) and errors",
                "Time to answer isr.query.* requests, and errors by kind.",
                "s",
                [
                    *quantiles(Metric.QUERY_DURATION, "query", (0.95,)),
                    f"sum by (query, kind) (increase({n(Metric.QUERY_ERRORS)}{RATE}))",
                ],
                8,
            ),
        ],
    ),
    (
        "Discord and RCON",
        [
            (
                "Discord posts by outcome, retries, coalesced",
                "Relay posts (ok / failed / rejected), retried posts, events sharing a message.",
                "ops",
                [
                    f"sum by (outcome) (rate({n(Metric.DISCORD_POSTS)}{RATE}))",
                    f"sum(rate({n(Metric.DISCORD_RETRIES)}{RATE}))",
                    f"sum(rate({n(Metric.DISCORD_COALESCED)}{RATE}))",
                ],
                8,
            ),
            (
                "Discord 429 answers",
                "Rate-limit answers by scope (global, user, shared, route) and route.",
                "short",
                [f"sum by (scope, route) (increase({n(Metric.DISCORD_RATE_LIMITED)}{RATE}))"],
                8,
            ),
            (
                "Slash-command latency (p95)",
                "From an interaction's arrival to its answer, per command.",
                "s",
                quantiles(Metric.INTERACTION_DURATION, "command", (0.95,)),
                8,
            ),
            (
                "RCON command latency (p50 / p95)",
                "Time for one RCON command per server.",
                "s",
                quantiles(Metric.RCON_COMMAND_DURATION, "server"),
                12,
            ),
            (
                "RCON errors and reconnects",
                "RCON failures by kind, and connections opened again after a loss.",
                "short",
                [
                    f"sum by (server, kind) (increase({n(Metric.RCON_ERRORS)}{{{SERVER}}}{RATE}))",
                    f"sum by (server) (increase({n(Metric.RCON_RECONNECTS)}{{{SERVER}}}{RATE}))",
                ],
                12,
            ),
        ],
    ),
]


def _timeseries(
    panel_id: int, *, title: str, description: str, unit: str, exprs: list[str], pos: dict[str, int]
) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": PROM,
        "gridPos": pos,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10},
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": PROM, "expr": expr, "range": True}
            for i, expr in enumerate(exprs)
        ],
    }


def build(alerts_panel: dict[str, Any]) -> dict[str, Any]:
    """The dashboard JSON (``alerts_panel``: the Postgres alert table, kept as it was)."""
    panels: list[dict[str, Any]] = []
    y = 0
    panel_id = 1
    for row_title, row_panels in ROWS:
        panels.append(
            {
                "type": "row",
                "id": panel_id,
                "title": row_title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        panel_id += 1
        y += 1
        x = 0
        for title, description, unit, exprs, width in row_panels:
            if x + width > 24:
                x = 0
                y += 8
            pos = {"h": 8, "w": width, "x": x, "y": y}
            panels.append(
                _timeseries(
                    panel_id, title=title, description=description, unit=unit, exprs=exprs, pos=pos
                )
            )
            panel_id += 1
            x += width
        y += 8
    panels.append(
        {
            "type": "row",
            "id": panel_id,
            "title": "History (Postgres)",
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            "panels": [],
        }
    )
    panel_id += 1
    y += 1
    panels.append({**alerts_panel, "id": panel_id, "gridPos": {"h": 8, "w": 24, "x": 0, "y": y}})
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": (
            "Factorio ISR: game health per server, pipeline flow and lag, persistence, query "
            "API, Discord and RCON from the services' OpenTelemetry metrics (Prometheus), and "
            "alert history from Postgres. Built by deploy/grafana/build_dashboard.py from "
            "libs/common/src/common/metric_names.py."
        ),
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["factorio", "factorio-isr"],
        "templating": {
            "list": [
                {
                    "name": "prometheus",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                    "includeAll": False,
                    "multi": False,
                },
                {
                    "name": "postgres",
                    "label": "History (Postgres)",
                    "type": "datasource",
                    "query": "grafana-postgresql-datasource",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                    "includeAll": False,
                    "multi": False,
                },
                {
                    "name": "server",
                    "label": "Server",
                    "type": "query",
                    "datasource": PROM,
                    "definition": f"label_values({n(Metric.GAME_TARGET_UPS)}, server)",
                    "query": {
                        "qryType": 1,
                        "query": f"label_values({n(Metric.GAME_TARGET_UPS)}, server)",
                        "refId": "PrometheusVariableQueryEditor-VariableQuery",
                    },
                    "current": {},
                    "hide": 0,
                    "refresh": 2,
                    "regex": "",
                    "sort": 1,
                    "options": [],
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                },
            ]
        },
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "Factorio ISR",
        "uid": "factorio-isr",
        "version": 1,
        "weekStart": "",
    }


def render(alerts_panel: dict[str, Any]) -> str:
    """The file's text."""
    return json.dumps(build(alerts_panel), indent=2, ensure_ascii=False) + "\n"


def alerts_panel_of(text: str) -> dict[str, Any]:
    """The Postgres alerts table of an existing dashboard (kept through rebuilds)."""
    for panel in json.loads(text)["panels"]:
        if panel.get("title") == "Alerts" and panel["datasource"]["uid"] == "${postgres}":
            return dict(panel)
    msg = "the dashboard has no Postgres alerts panel to keep"
    raise SystemExit(msg)


def main() -> int:
    """Rewrite the dashboard file."""
    OUT.write_text(render(alerts_panel_of(OUT.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
