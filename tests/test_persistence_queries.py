"""The query API over NATS against a running persistence process, with data sent through streams."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient

from common.contracts import (
    Alert,
    AlertHistoryReply,
    AlertType,
    AuditRecord,
    AuditResult,
    LastSeenReply,
    LeaderboardReply,
    MetricHistoryReply,
    PlaytimeReply,
    QueryError,
    QueryErrorCode,
    QueryName,
    RecentEventsReply,
    Resolution,
    Severity,
    decode_query_reply,
)
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from common.vocabulary import Caller
from isr_cli.infra._process import free_port
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

from .test_persistence_helpers import T0, count, events, publish_events, publish_samples, samples

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


@dataclass
class Served:
    """A running persistence process with known data, and a NATS connection to ask it."""

    nc: NatsClient
    topo: Topology
    proc: ServiceProcess
    database_url: str


@pytest.fixture(name="served")
async def _served(tmp_path: Path, nats_server, nats_prefix: str, database_url: str):
    """A persistence process that stored 100 events, 360 samples, one alert and one audit record."""
    topo = Topology(nats_prefix)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await topo.ensure(js)
    await publish_events(js, topo, events(100))
    await publish_samples(js, topo, samples(360))
    alert = Alert(
        id="e2e:ups_low:1",
        server="e2e",
        type=AlertType.UPS_LOW,
        severity=Severity.WARNING,
        raised_at=T0,
        summary="UPS 30",
    )
    audit = AuditRecord(
        id="discord:1",
        at=T0,
        actor_id=1234,
        actor_name="ann",
        guild_id=1,
        channel_id=2,
        server="e2e",
        operation="kick",
        parameters={"player": "p1", "reason": "afk"},
        result=AuditResult.OK,
    )
    by_poller = AuditRecord(
        id="rcon:e2e:1",
        at=T0,
        server="e2e",
        operation="kick",
        parameters={"player": "p1"},
        result=AuditResult.OK,
        service="bot",
        requested_by="discord:1234",
        request_id="discord:1",
    )
    await publish_confirmed(
        js,
        [
            Outgoing(topo.alert_subject("e2e", alert.type), alert.to_json(), alert.id),
            Outgoing(topo.audit_subject("e2e"), audit.to_json(), audit.id),
            Outgoing(topo.audit_subject("e2e"), by_poller.to_json(), by_poller.id),
        ],
    )
    env = {
        "ISR_NATS_URL": nats_server.url,
        "ISR_PREFIX": nats_prefix,
        "ISR_DATABASE_URL": database_url,
        "ISR_HEALTH_PORT": str(free_port()),
        "ISR_LOG_FORMAT": "json",
    }
    proc = ServiceProcess("persistence", ["persistence"], env, tmp_path).start()
    try:

        async def stored() -> bool:
            return (
                await count(database_url, "SELECT count(*) FROM events") == 100
                and await count(database_url, "SELECT count(*) FROM audit_log") == 2
                and await count(database_url, "SELECT count(*) FROM alerts") == 1
                and await count(database_url, "SELECT sum(samples) FROM metric_hour") == 360
            )

        await wait_for(stored, timeout_s=30, what="the known data")
        yield Served(nc, topo, proc, database_url)
    finally:
        code = proc.terminate()
        await nc.close()
    assert code == 0, proc.output()[-3000:]


async def ask(served: Served, name: str, body: bytes, reply_type, *, caller: str = Caller.BOT):
    """Send one query as ``caller`` and decode the answer."""
    subject = served.topo.query_subject(name, caller)
    msg = await served.nc.request(subject, body, timeout=10)
    return decode_query_reply(msg.data, reply_type, strict=True), msg.headers or {}


async def test_the_caller_comes_from_the_subject_and_is_logged(served: Served):
    """A query as ``web`` is logged as web's; unknown callers and the old subject get nothing."""
    answer, _ = await ask(
        served, QueryName.PLAYTIME, b'{"player": "p1"}', PlaytimeReply, caller="web"
    )
    refused, headers = await ask(
        served, QueryName.PLAYTIME, b'{"player": "p1"}', PlaytimeReply, caller="intruder"
    )
    with pytest.raises(nats.errors.NoRespondersError):
        await served.nc.request(f"{served.topo.prefix}.query.playtime", b"{}", timeout=2)

    def logged() -> list[dict]:
        lines = [json.loads(x) for x in served.proc.output().splitlines() if x.startswith("{")]
        return [x for x in lines if x.get("event") in {"query", "query_refused"}]

    await wait_for(lambda: len(logged()) >= 2, what="the query log lines")
    assert isinstance(answer, PlaytimeReply)
    assert isinstance(refused, QueryError)
    assert refused.code is QueryErrorCode.UNKNOWN_CALLER
    assert "'intruder'" in refused.message
    assert headers["Nats-Service-Error-Code"] == "403"
    assert [(x["event"], x["query"], x["caller"]) for x in logged()] == [
        ("query", "playtime", "web"),
        ("query_refused", "playtime", "intruder"),
    ]


async def test_audit_rows_keep_the_service_and_the_requester(served: Served):
    """The poller's record is stored with its service and requester; the bot's, its actor."""
    conn = await asyncpg.connect(served.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, service, requested_by, request_id, actor_id FROM audit_log ORDER BY id"
        )
    finally:
        await conn.close()

    assert [tuple(r) for r in rows] == [
        ("discord:1", None, None, None, 1234),
        ("rcon:e2e:1", "bot", "discord:1234", "discord:1", None),
    ]


async def test_every_query_answers_from_the_stored_data(served):
    """Each query returns what the streams delivered: charts, playtime, board, events, alerts."""
    start, end = T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()
    chart, _ = await ask(
        served,
        QueryName.METRIC_HISTORY,
        f'{{"server": "e2e", "start": "{start}", "end": "{end}", "max_points": 60}}'.encode(),
        MetricHistoryReply,
    )
    playtime, _ = await ask(served, QueryName.PLAYTIME, b'{"player": "P1"}', PlaytimeReply)
    board, _ = await ask(served, QueryName.LEADERBOARD, b'{"server": "e2e"}', LeaderboardReply)
    seen, _ = await ask(served, QueryName.LAST_SEEN, b'{"player": "p3"}', LastSeenReply)
    recent, _ = await ask(
        served,
        QueryName.RECENT_EVENTS,
        b'{"server": "e2e", "types": ["join"], "limit": 3}',
        RecentEventsReply,
    )
    alerts, _ = await ask(served, QueryName.ALERT_HISTORY, b'{"server": "e2e"}', AlertHistoryReply)

    assert (chart.resolution, chart.step_s, len(chart.points)) == (Resolution.MINUTE, 60, 60)
    assert sum(p.samples for p in chart.points) == 360
    assert playtime.sessions >= 1
    assert board.entries
    assert seen.is_found
    assert [e.type for e in recent.events] == ["join"] * 3
    assert [a.id for a in alerts.alerts] == ["e2e:ups_low:1"]


@pytest.mark.parametrize(
    ("name", "body", "code", "mentions"),
    [
        ("metric_history", b"{not json", QueryErrorCode.BAD_REQUEST, "json"),
        ("metric_history", b'{"server": "e2e"}', QueryErrorCode.BAD_REQUEST, "start"),
        ("leaderboard", b'{"server": "e2e", "limit": 100000}', QueryErrorCode.BAD_REQUEST, "limit"),
        ("playtime", b'{"player": "p", "start": "2026-01-01T00:00:00"}', QueryErrorCode.BAD_REQUEST,
         "timezone"),
        ("metric_history",
         b'{"server": "e2e", "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z",'
         b' "resolution": "raw"}', QueryErrorCode.BAD_REQUEST, "max_points"),
        ("playtime", b'{"player": "bob\\u0000"}', QueryErrorCode.BAD_REQUEST, "player"),
        ("last_seen", b'{"player": "a\\u0000b"}', QueryErrorCode.BAD_REQUEST, "nul"),
        ("recent_events", b'{"types": ["chat\\u0000"]}', QueryErrorCode.BAD_REQUEST, "types"),
        ("leaderboard", b'{"server": "e\\u0000"}', QueryErrorCode.BAD_REQUEST, "server"),
        ("playtime", b'{"player": "p", "server": "\\u0000"}', QueryErrorCode.BAD_REQUEST,
         "server"),
        ("drop_tables", b"{}", QueryErrorCode.UNKNOWN_QUERY, "known"),
    ],
)  # fmt: skip
async def test_bad_requests_get_a_clear_error_reply(served, name, body, code, mentions):
    """A malformed, invalid or unknown request is answered with an error naming the problem."""
    answer, headers = await ask(served, name, body, PlaytimeReply)

    assert isinstance(answer, QueryError)
    assert answer.code is code
    assert mentions in answer.message.lower()
    assert headers["Nats-Service-Error-Code"] in {"400", "404"}


async def test_service_keeps_answering_after_bad_requests(served):
    """After a burst of garbage the service still answers a good query."""
    for _ in range(20):
        await ask(served, QueryName.PLAYTIME, b"\xff\xfe garbage", PlaytimeReply)

    answer, _ = await ask(served, QueryName.PLAYTIME, b'{"player": "p1"}', PlaytimeReply)

    assert isinstance(answer, PlaytimeReply)
