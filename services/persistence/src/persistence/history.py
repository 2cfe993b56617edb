"""The history queries: one async function per query, reading through one connection.

Each takes the validated request model and returns the reply model. Filters are added to the
SQL only when the request sets them (with parameters, never pasted text), so every variant can
use its index: ``events_server_type_time`` (read one (server, type) at a time, see
:func:`recent_events`) / ``events_player`` for events, ``player_sessions_player`` /
``player_sessions_server_joined`` for playtime, the primary keys of ``metric_samples``,
``metric_minute`` and ``metric_hour`` for charts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from common.contracts import (
    AlertHistoryReply,
    AlertHistoryRequest,
    AlertRecord,
    EventRecord,
    LastSeenReply,
    LastSeenRequest,
    LeaderboardEntry,
    LeaderboardReply,
    LeaderboardRequest,
    MetricHistoryReply,
    MetricHistoryRequest,
    MetricPoint,
    PlaytimeReply,
    PlaytimeRequest,
    QueryName,
    QueryReply,
    RecentEventsReply,
    RecentEventsRequest,
    Resolution,
)
from persistence.resolution import plan_chart

_ROLLUP_TABLES = {Resolution.MINUTE: "metric_minute", Resolution.HOUR: "metric_hour"}
_ORIGIN = "'2000-01-01 00:00:00+00'::timestamptz"

_RAW = """
SELECT sampled_at, ups, player_count, is_paused
FROM metric_samples
WHERE server = $1 AND sampled_at >= $2 AND sampled_at < $3 AND rcon_up
ORDER BY sampled_at
"""


def _rollup_sql(table: str) -> str:
    return f"""
    SELECT date_bin(make_interval(secs => $4), bucket, {_ORIGIN}) AS t,
           sum(samples)::int AS samples, sum(ups_samples)::int AS ups_samples,
           sum(ups_sum) AS ups_sum, min(ups_min) AS ups_min, max(ups_max) AS ups_max,
           sum(players_sum)::float8 AS players_sum, max(players_max) AS players_max,
           sum(paused_samples)::int AS paused_samples
    FROM {table}
    WHERE server = $1 AND bucket >= $2 AND bucket < $3
    GROUP BY 1 ORDER BY 1
    """  # noqa: S608 - table names come from a constant mapping


async def metric_history(
    conn: asyncpg.Connection, req: MetricHistoryRequest, *, sample_interval_s: float = 10.0
) -> MetricHistoryReply:
    """UPS and player count of one server at the resolution :func:`plan_chart` picks."""
    plan = plan_chart(
        req.start,
        req.end,
        max_points=req.max_points,
        resolution=req.resolution,
        sample_interval_s=sample_interval_s,
    )
    if plan.resolution is Resolution.RAW:
        rows = await conn.fetch(_RAW, req.server, req.start, req.end)
        points = tuple(
            MetricPoint(
                t=r["sampled_at"],
                samples=1,
                ups_avg=r["ups"],
                ups_min=r["ups"],
                ups_max=r["ups"],
                players_avg=float(r["player_count"]),
                players_max=r["player_count"],
                paused_samples=int(r["is_paused"]),
            )
            for r in rows
        )
    else:
        sql = _rollup_sql(_ROLLUP_TABLES[plan.resolution])
        rows = await conn.fetch(sql, req.server, req.start, req.end, float(plan.step_s))
        points = tuple(
            MetricPoint(
                t=r["t"],
                samples=r["samples"],
                ups_avg=r["ups_sum"] / r["ups_samples"] if r["ups_samples"] else None,
                ups_min=r["ups_min"],
                ups_max=r["ups_max"],
                players_avg=r["players_sum"] / r["samples"] if r["samples"] else 0.0,
                players_max=r["players_max"],
                paused_samples=r["paused_samples"],
            )
            for r in rows
        )
    return MetricHistoryReply(
        server=req.server,
        start=req.start,
        end=req.end,
        resolution=plan.resolution,
        step_s=plan.step_s,
        points=points,
    )


# -- sessions -------------------------------------------------------------------------------

# Seconds of each session inside [S, E); an open session counts up to now (or E).
_OVERLAP_S = (
    "extract(epoch FROM least(coalesce(left_at, now()), $E) - greatest(joined_at, $S))::float8"
)
_IN_RANGE = "joined_at < $E AND coalesce(left_at, now()) > $S"


class _Params:
    """Numbered query parameters, added as filters are."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _range_bounds(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    lower = start if start is not None else datetime(1970, 1, 1, tzinfo=UTC)
    upper = end if end is not None else now + timedelta(seconds=1)
    return lower, upper


def _with_range(sql: str, params: _Params, start: datetime | None, end: datetime | None) -> str:
    lower, upper = _range_bounds(start, end)
    return sql.replace("$S", params.add(lower)).replace("$E", params.add(upper))


async def playtime(conn: asyncpg.Connection, req: PlaytimeRequest) -> PlaytimeReply:
    """Total playtime of one player within the range, on one server or all."""
    p = _Params()
    player = p.add(req.player)
    where = [f"lower(player) = lower({player})"]
    if req.server is not None:
        where.append(f"server = {p.add(req.server)}")
    open_where = " AND ".join(where)
    where.append(_IN_RANGE)
    sql = f"""
        SELECT count(*)::int AS sessions, coalesce(sum({_OVERLAP_S}), 0) AS total_s,
               min(joined_at) AS first_joined,
               EXISTS (SELECT 1 FROM player_sessions WHERE {open_where} AND left_at IS NULL)
                   AS is_online
        FROM player_sessions WHERE {" AND ".join(where)}
    """  # noqa: S608 - only parameter placeholders are interpolated
    row = await conn.fetchrow(_with_range(sql, p, req.start, req.end), *p.values)
    assert row is not None
    return PlaytimeReply(
        player=req.player,
        server=req.server,
        total_s=max(0.0, row["total_s"]),
        sessions=row["sessions"],
        is_online=row["is_online"],
        first_joined_at=row["first_joined"],
    )


async def leaderboard(conn: asyncpg.Connection, req: LeaderboardRequest) -> LeaderboardReply:
    """The server's players ranked by playtime within the range."""
    p = _Params()
    server = p.add(req.server)
    sql = f"""
        SELECT min(player) AS player, count(*)::int AS sessions, sum({_OVERLAP_S}) AS total_s
        FROM player_sessions
        WHERE server = {server} AND {_IN_RANGE}
        GROUP BY lower(player)
        ORDER BY total_s DESC, player
        LIMIT {req.limit:d}
    """  # noqa: S608 - only parameter placeholders and an int are interpolated
    rows = await conn.fetch(_with_range(sql, p, req.start, req.end), *p.values)
    return LeaderboardReply(
        server=req.server,
        entries=tuple(
            LeaderboardEntry(
                rank=i, player=r["player"], total_s=max(0.0, r["total_s"]), sessions=r["sessions"]
            )
            for i, r in enumerate(rows, start=1)
        ),
    )


async def last_seen(conn: asyncpg.Connection, req: LastSeenRequest) -> LastSeenReply:
    """The latest sign of a player: an open session, the end of one, or any event naming them."""
    p = _Params()
    where = [f"lower(player) = lower({p.add(req.player)})"]
    if req.server is not None:
        where.append(f"server = {p.add(req.server)}")
    clause = " AND ".join(where)
    session = await conn.fetchrow(
        f"""SELECT server, player, joined_at, left_at FROM player_sessions WHERE {clause}
            ORDER BY left_at DESC NULLS FIRST LIMIT 1""",  # noqa: S608
        *p.values,
    )
    event = await conn.fetchrow(
        f"""SELECT server, player, type, observed_at FROM events WHERE {clause}
            ORDER BY observed_at DESC LIMIT 1""",  # noqa: S608
        *p.values,
    )
    if session is None and event is None:
        return LastSeenReply(
            player=req.player,
            is_found=False,
            is_online=False,
            server=None,
            last_seen_at=None,
            last_event_type=None,
        )
    last_type = event["type"] if event is not None else None
    if session is not None and session["left_at"] is None:
        return LastSeenReply(
            player=session["player"],
            is_found=True,
            is_online=True,
            server=session["server"],
            last_seen_at=datetime.now(UTC),
            last_event_type=last_type,
        )
    candidates = []
    if session is not None:
        candidates.append((session["left_at"], session["server"], session["player"]))
    if event is not None:
        candidates.append((event["observed_at"], event["server"], event["player"]))
    at, server, name = max(candidates, key=lambda c: c[0])
    return LastSeenReply(
        player=name,
        is_found=True,
        is_online=False,
        server=server,
        last_seen_at=at,
        last_event_type=last_type,
    )


# -- events and alerts ----------------------------------------------------------------------


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else (value or {})


_EVENT_FIELDS = "id, server, type, observed_at, ts, player, message, data, flags"
_NEWEST_FIRST = "observed_at DESC, generation DESC NULLS LAST, source_offset DESC NULLS LAST"


async def recent_events(conn: asyncpg.Connection, req: RecentEventsRequest) -> RecentEventsReply:
    """The latest events, newest first (log order within one read).

    By player: one range of ``events_player``. Otherwise the (server, type) pairs present are
    found by skipping through ``events_server_type_time`` (a recursive "loose index scan"),
    the newest ``limit`` events of each pair are read from the same index, and the newest of
    those are returned. That is a few index probes per event type, whatever the table's
    size, and it spares ``events`` a (server, time) index that every insert would maintain
    (migration 0004, docs/persistence.md).
    """
    p = _Params()
    before = f"AND observed_at < {p.add(req.before)}" if req.before is not None else ""
    if req.player is not None:
        where = [f"lower(player) = lower({p.add(req.player)})"]
        if req.server is not None:
            where.append(f"server = {p.add(req.server)}")
        if req.types:
            where.append(f"type = ANY({p.add(list(req.types))}::text[])")
        sql = f"""
            SELECT {_EVENT_FIELDS} FROM events WHERE {" AND ".join(where)} {before}
            ORDER BY {_NEWEST_FIRST} LIMIT {req.limit:d}
        """  # noqa: S608 - only parameter placeholders and an int are interpolated
    else:
        pair_filter = ""
        if req.server is not None:
            pair_filter += f" AND server = {p.add(req.server)}"
        if req.types:
            pair_filter += f" AND type = ANY({p.add(list(req.types))}::text[])"
        sql = f"""
            WITH RECURSIVE pairs(server, type) AS (
                (SELECT server, type FROM events WHERE true {pair_filter}
                 ORDER BY server, type LIMIT 1)
                UNION ALL
                SELECT next.server, next.type FROM pairs, LATERAL (
                    SELECT server, type FROM events
                    WHERE (server, type) > (pairs.server, pairs.type) {pair_filter}
                    ORDER BY server, type LIMIT 1
                ) AS next
            )
            SELECT e.* FROM pairs CROSS JOIN LATERAL (
                SELECT {_EVENT_FIELDS}, generation, source_offset FROM events
                WHERE server = pairs.server AND type = pairs.type {before}
                ORDER BY {_NEWEST_FIRST} LIMIT {req.limit:d}
            ) AS e
            ORDER BY {_NEWEST_FIRST} LIMIT {req.limit:d}
        """  # noqa: S608 - only parameter placeholders and an int are interpolated
    rows = await conn.fetch(sql, *p.values)
    return RecentEventsReply(
        events=tuple(
            EventRecord(
                id=r["id"],
                server=r["server"],
                type=r["type"],
                observed_at=r["observed_at"],
                ts=r["ts"],
                player=r["player"],
                message=r["message"],
                data=_json(r["data"]),
                flags=tuple(r["flags"] or ()),
            )
            for r in rows
        )
    )


async def alert_history(conn: asyncpg.Connection, req: AlertHistoryRequest) -> AlertHistoryReply:
    """Alerts raised, newest first."""
    p = _Params()
    where: list[str] = []
    if req.server is not None:
        where.append(f"server = {p.add(req.server)}")
    if req.types:
        where.append(f"type = ANY({p.add([str(t) for t in req.types])}::text[])")
    if req.start is not None:
        where.append(f"raised_at >= {p.add(req.start)}")
    if req.end is not None:
        where.append(f"raised_at < {p.add(req.end)}")
    sql = f"""
        SELECT id, server, type, severity, raised_at, summary, details FROM alerts
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY raised_at DESC, id LIMIT {req.limit:d}
    """  # noqa: S608 - only parameter placeholders and an int are interpolated
    rows = await conn.fetch(sql, *p.values)
    return AlertHistoryReply(
        alerts=tuple(
            AlertRecord(
                id=r["id"],
                server=r["server"],
                type=r["type"],
                severity=r["severity"],
                raised_at=r["raised_at"],
                summary=r["summary"],
                details=_json(r["details"]),
            )
            for r in rows
        )
    )


QueryFunction = Callable[[asyncpg.Connection, Any], Awaitable[QueryReply]]
"""One query: a connection and the validated request in, the reply out."""


def query_functions(*, sample_interval_s: float) -> dict[QueryName, QueryFunction]:
    """The function answering each query."""

    async def history(conn: asyncpg.Connection, req: MetricHistoryRequest) -> QueryReply:
        return await metric_history(conn, req, sample_interval_s=sample_interval_s)

    return {
        QueryName.METRIC_HISTORY: history,
        QueryName.PLAYTIME: playtime,
        QueryName.LEADERBOARD: leaderboard,
        QueryName.LAST_SEEN: last_seen,
        QueryName.RECENT_EVENTS: recent_events,
        QueryName.ALERT_HISTORY: alert_history,
    }
