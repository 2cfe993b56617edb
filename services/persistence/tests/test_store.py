import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from common.contracts import (
    Alert,
    AlertHistoryRequest,
    AlertType,
    AuditRecord,
    AuditResult,
    GameEvent,
    LastSeenRequest,
    LeaderboardRequest,
    MetricHistoryRequest,
    MetricSample,
    PlaytimeRequest,
    RecentEventsRequest,
    Resolution,
    Severity,
    SourcePosition,
    encode_event_batch,
)
from persistence import history
from persistence.audit_writer import AuditWriter
from persistence.maintenance import enforce_retention
from persistence.metrics_writer import MetricsWriter
from persistence.partition_store import PartitionKeeper, list_partitions
from persistence.sessions import LifecycleEvent, derive_sessions
from persistence.settings import TableRetentionSettings
from persistence.writer import EventWriter, decode_for_writer
from persistence.writing import Several

from .conftest import make_writer, store

pytestmark = pytest.mark.postgres

_ALL_DAYS = (
    "events_days",
    "alerts_days",
    "metric_samples_days",
    "metric_minute_days",
    "metric_hour_days",
    "sessions_days",
    "audit_days",
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_offset = iter(range(100, 10**9, 100))


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


_last_logged: dict[str, SourcePosition] = {}
"""Per server, the position of the latest logged event made (what a reconciled one follows)."""


def event(kind: str, minutes: float, player: str | None = None, *, server: str = "a", **kw):
    """A logged event at T0 + ``minutes`` with a fresh log position."""
    offset = next(_offset)
    if "source" not in kw:
        _last_logged[server] = SourcePosition(file_id="f", generation=0, offset=offset)
    return GameEvent(
        id=kw.pop("id", f"{server}:f:{offset}"),
        server=server,
        type=kind,
        observed_at=at(minutes),
        player=player,
        source=kw.pop("source", SourcePosition(file_id="f", generation=0, offset=offset)),
        **kw,
    )


def reconciled(kind: str, minutes: float, player: str, *, server: str = "a") -> GameEvent:
    """A join or leave synthesised by the RCON poller."""
    return event(
        kind,
        minutes,
        player,
        server=server,
        source=None,
        after=_last_logged.get(server),
        flags=("reconciled",),
        id=f"{server}:reconciled:{kind}:{player}:{minutes}",
    )


def _lifecycle_of(e: GameEvent) -> LifecycleEvent:
    """What session derivation sees of ``e``."""
    position = e.source or e.after
    return LifecycleEvent(
        e.id,
        e.type,
        e.ts or e.observed_at,
        e.player,
        "reconciled" in e.flags,
        position.generation if position else None,
        position.offset if position else None,
    )


async def _stored_and_derived_sessions(
    pool: asyncpg.Pool, events: list[GameEvent], servers: str
) -> tuple[list[tuple], list[tuple]]:
    """(the stored sessions, a derivation of all ``events`` at once), as sorted tuples."""
    derived = sorted(
        (s.server, s.player, s.joined_at, s.left_at, s.ended_by)
        for server in servers
        for s in derive_sessions(server, [_lifecycle_of(e) for e in events if e.server == server])
    )
    stored = await pool.fetch(
        "SELECT server, player, joined_at, left_at, ended_by FROM player_sessions"
    )
    return sorted(tuple(r) for r in stored), derived


async def sessions(pool: asyncpg.Pool) -> list[tuple]:
    """Every stored session as (player, joined_at, left_at, ended_by)."""
    rows = await pool.fetch(
        "SELECT player, joined_at, left_at, ended_by FROM player_sessions"
        " ORDER BY joined_at, player"
    )
    return [tuple(r) for r in rows]


class TestEventWriter:
    async def test_redelivered_events_and_alerts_are_stored_once(self, pool):
        """Writing the same batch twice leaves one row per event and per alert."""
        writer = make_writer(EventWriter, pool)
        alert = Alert(
            id="a:ups_low:1",
            server="a",
            type=AlertType.UPS_LOW,
            severity=Severity.WARNING,
            raised_at=at(1),
            summary="UPS 31",
            details={"ups": 31},
        )
        batch = [event("chat", 0, "bob", message="hi"), event("chat", 1, "ann"), alert]

        await store(writer, batch)
        await store(writer, batch)
        await store(writer, [*batch, batch[0]])

        assert await pool.fetchval("SELECT count(*) FROM events") == 2
        assert await pool.fetchval("SELECT count(*) FROM alerts") == 1

    async def test_event_batches_and_their_redelivery_are_stored_once(self, pool):
        """A batch goes in by direct COPY; a redelivered or half-stored one takes the staging path.

        Sessions come out the same either way: the second batch's new join opens a session
        although the COPY of its batch hit the already stored first join.
        """
        writer = make_writer(EventWriter, pool)
        joins = [event("join", 0, "ann"), event("join", 1, "bob")]
        chats = [event("chat", 2 + i, "ann", message=f"m{i}") for i in range(5)]
        chats[3] = chats[3].model_copy(update={"flags": ("bridged", "truncated")})

        def rows(batch: list[GameEvent]) -> list:
            decoded = decode_for_writer(encode_event_batch([e.to_json() for e in batch]), "s")
            assert isinstance(decoded, Several)
            return list(decoded.members)

        await store(writer, rows(joins[:1]) + rows(chats[:2]))
        await store(writer, rows(joins) + rows(chats))
        await store(writer, rows(joins) + rows(chats))

        assert await pool.fetchval("SELECT count(*) FROM events") == 7
        assert await pool.fetchval("SELECT count(DISTINCT id) FROM events") == 7
        assert await sessions(pool) == [("ann", at(0), None, None), ("bob", at(1), None, None)]
        flags = await pool.fetch("SELECT id, flags FROM events WHERE type = 'chat' ORDER BY ts")
        assert {r["id"]: r["flags"] for r in flags} == {e.id: list(e.flags) for e in chats}

    async def test_sessions_across_a_restart_and_a_missing_leave(self, pool):
        """A crash restart ends open sessions; a reconciled leave ends one the log missed."""
        writer = make_writer(EventWriter, pool)

        await store(writer, [event("join", 0, "bob"), event("join", 5, "ann")])
        await store(writer, [event("server_start", 60), event("join", 62, "bob")])
        await store(writer, [reconciled("leave", 90, "bob"), event("leave", 95, "ann")])

        assert await sessions(pool) == [
            ("bob", at(0), at(60), "server_restarted"),
            ("ann", at(5), at(60), "server_restarted"),
            ("bob", at(62), at(90), "reconciled"),
        ]

    async def test_out_of_order_batches_give_the_same_sessions(self, pool):
        """A leave stored before its join still closes the session once the join arrives."""
        writer = make_writer(EventWriter, pool)
        join, leave = event("join", 0, "bob"), event("leave", 30, "bob")
        join2 = event("join", 35, "ann")  # logged (made) before the stop: log order is made order
        stop = event("server_stopping", 40)

        await store(writer, [leave])
        await store(writer, [stop, join2])
        await store(writer, [join])

        assert await sessions(pool) == [
            ("bob", at(0), at(30), "logged"),
            ("ann", at(35), at(40), "server_stopped"),
        ]

    async def test_batches_of_several_servers_in_any_order_give_the_derived_sessions(self, pool):
        """Three servers' events stored in shuffled batches give the sessions of all at once."""
        rng = random.Random(7)
        kinds = ["join"] * 6 + ["leave"] * 5 + ["server_start", "server_stopping", "chat"]

        def lifecycle(kind: str) -> GameEvent:
            player = f"p{rng.randrange(6)}" if kind in {"join", "leave"} else None
            return event(kind, rng.randrange(600) / 2, player, server=rng.choice("abc"))

        events = [lifecycle(rng.choice(kinds)) for _ in range(400)]
        writer = make_writer(EventWriter, pool)
        shuffled = rng.sample(events, len(events))
        while shuffled:
            size = rng.randrange(1, 60)
            await store(writer, shuffled[:size])
            shuffled = shuffled[size:]

        stored, derived = await _stored_and_derived_sessions(pool, events, "abc")
        assert stored == derived

    async def test_batches_in_log_order_with_late_ones_give_the_derived_sessions(self, pool):
        """Continuing from the open sessions gives what re-deriving everything would.

        Most batches arrive in log order (each server continues from its watermark); some hold
        a late event or a redelivery (the server is re-derived). The stored sessions equal a
        derivation of all events at once, and each watermark names the server's latest event.
        """
        rng = random.Random(11)
        kinds = ["join"] * 8 + ["leave"] * 7 + ["server_start", "server_stopping", "chat"]
        events = []
        for i in range(600):
            kind = rng.choice(kinds)
            player = f"p{rng.randrange(5)}" if kind in {"join", "leave"} else None
            reconciled_one = kind in {"join", "leave"} and rng.random() < 0.1
            if reconciled_one:
                events.append(reconciled(kind, i // 3, player, server=rng.choice("ab")))
            else:
                events.append(event(kind, i // 3, player, server=rng.choice("ab")))
        arrival = list(events)
        for _ in range(15):  # a few events arrive late
            i = rng.randrange(len(arrival) - 40)
            arrival.insert(i + rng.randrange(5, 40), arrival.pop(i))
        writer = make_writer(EventWriter, pool)
        stored_so_far: list[GameEvent] = []
        while arrival:
            size = rng.randrange(1, 30)
            batch, arrival = arrival[:size], arrival[size:]
            if stored_so_far and rng.random() < 0.1:  # a redelivery of an earlier event
                batch.append(rng.choice(stored_so_far))
            await store(writer, batch)
            stored_so_far += batch

        stored, derived = await _stored_and_derived_sessions(pool, events, "ab")
        assert stored == derived
        marks = await pool.fetch("SELECT server, event_id FROM session_watermarks ORDER BY server")
        latest = {
            server: max(
                (_lifecycle_of(e) for e in events if e.server == server and e.type != "chat"),
                key=LifecycleEvent.sort_key,
            ).id
            for server in "ab"
        }
        assert [tuple(r) for r in marks] == sorted(latest.items())

    async def test_decoded_rows_models_and_alerts_share_a_batch(self, pool):
        """Rows from the writer's decoder, event models and alerts are stored in one batch."""
        writer = make_writer(EventWriter, pool)
        fast = decode_for_writer(event("join", 0, "bob").to_json(), "x")
        model = event("chat", 1, "bob", message="hi")
        alert = Alert(
            id="a:rcon_down:1",
            server="a",
            type=AlertType.RCON_DOWN,
            severity=Severity.CRITICAL,
            raised_at=at(2),
            summary="RCON down",
        )

        await store(writer, [fast, model, alert])

        rows = await pool.fetch("SELECT * FROM events ORDER BY observed_at")
        assert [r["type"] for r in rows] == ["join", "chat"]
        assert (rows[1]["id"], rows[1]["message"]) == (model.id, "hi")
        assert await pool.fetchval("SELECT count(*) FROM alerts") == 1
        assert await sessions(pool) == [("bob", at(0), None, None)]

    async def test_integers_beyond_64_bits_in_data_are_stored_exactly(self, pool):
        """An event whose data holds an integer too large for 64 bits is stored with its value."""
        writer = make_writer(EventWriter, pool)
        payload = event("research", 0, data={"n": 2**70}).to_json()

        await store(writer, [decode_for_writer(payload, "x")])

        assert await pool.fetchval("SELECT data->>'n' FROM events") == str(2**70)


def sample(server: str, t: datetime, ups: float | None, players: int, **kw) -> MetricSample:
    """A metric sample with the poller's id scheme."""
    return MetricSample(
        id=f"{server}:metric:{int(t.timestamp() * 1000)}",
        server=server,
        sampled_at=t,
        ups=ups,
        player_count=players,
        **kw,
    )


class TestMetricsWriter:
    async def test_rollups_count_redelivered_samples_once(self, pool):
        """Roll-ups equal an aggregate of the stored samples even when a batch is redelivered."""
        writer = make_writer(MetricsWriter, pool, partitions=PartitionKeeper())
        samples = [sample("a", at(i / 6), 60.0 - i, i % 3) for i in range(12)]  # two minutes

        await store(writer, samples[:8])
        await store(writer, samples)  # the first 8 again
        minute = await pool.fetch(
            "SELECT bucket, samples, ups_sum, ups_min, ups_max, players_max"
            " FROM metric_minute ORDER BY bucket"
        )
        hour = await pool.fetchrow("SELECT samples, ups_sum FROM metric_hour")

        assert [tuple(r) for r in minute] == [
            (at(0), 6, sum(60.0 - i for i in range(6)), 55.0, 60.0, 2),
            (at(1), 6, sum(60.0 - i for i in range(6, 12)), 49.0, 54.0, 2),
        ]
        assert tuple(hour) == (12, sum(60.0 - i for i in range(12)))

    async def test_samples_create_their_day_partitions(self, pool):
        """A sample of a day with no partition yet creates it instead of failing."""
        writer = make_writer(MetricsWriter, pool, partitions=PartitionKeeper())

        await store(writer, [sample("a", datetime(2025, 1, 2, 3, tzinfo=UTC), 60, 0)])

        async with pool.acquire() as conn:
            names = await list_partitions(conn, "metric_samples")

        assert "metric_samples_p20250102" in names


class TestAuditLog:
    async def test_poller_and_bot_records_keep_service_and_requested_by(self, pool):
        """A poller record keeps service and requester without an actor; a bot one, its actor."""
        audit = make_writer(AuditWriter, pool)
        poller_record = AuditRecord(
            id="rcon:a:1",
            at=at(0),
            server="a",
            operation="kick",
            parameters={"player": "bob"},
            result=AuditResult.OK,
            service="web",
            requested_by="discord:42",
            request_id="discord:900",
        )
        bot_record = AuditRecord(
            id="discord:900",
            at=at(0),
            actor_id=42,
            actor_name="ann",
            server="a",
            operation="kick",
            result=AuditResult.OK,
            requested_by="discord:42",
        )

        await store(audit, [poller_record, bot_record])
        rows = await pool.fetch(
            "SELECT id, service, requested_by, request_id, actor_id, actor_name FROM audit_log"
            " ORDER BY id"
        )

        assert [tuple(r) for r in rows] == [
            ("discord:900", None, "discord:42", None, 42, "ann"),
            ("rcon:a:1", "web", "discord:42", "discord:900", None, None),
        ]


class TestRetention:
    async def test_only_old_data_is_removed(self, pool):
        """Retention drops expired partitions and rows and keeps everything newer."""
        now = at(0) + timedelta(days=40)
        events = make_writer(EventWriter, pool)
        metrics = make_writer(MetricsWriter, pool, partitions=PartitionKeeper())
        audit = make_writer(AuditWriter, pool)
        old, new = at(0), now - timedelta(days=1)
        for t, tag in ((old, "old"), (new, "new")):
            await store(
                events,
                [
                    GameEvent(id=f"e-{tag}", server="a", type="chat", observed_at=t, player="bob"),
                    Alert(
                        id=f"al-{tag}",
                        server="a",
                        type=AlertType.RCON_DOWN,
                        severity=Severity.CRITICAL,
                        raised_at=t,
                        summary="down",
                    ),
                ],
            )
            await store(metrics, [sample("a", t, 60, 1)])
            await store(
                audit,
                [
                    AuditRecord(
                        id=f"au-{tag}",
                        at=t,
                        actor_id=1,
                        actor_name="x",
                        server="a",
                        operation="kick",
                        result=AuditResult.OK,
                    )
                ],
            )
        settings = TableRetentionSettings(
            events_days=30,
            alerts_days=30,
            metric_samples_days=30,
            metric_minute_days=30,
            metric_hour_days=30,
            sessions_days=30,
            audit_days=30,
        )

        removed = await enforce_retention(pool, settings, now=now, partitions=PartitionKeeper())

        for table in (
            "events",
            "alerts",
            "metric_samples",
            "metric_minute",
            "metric_hour",
            "audit_log",
        ):
            ids = await pool.fetch(f"SELECT * FROM {table}")
            assert len(ids) == 1, table
        assert removed is not None
        assert removed["metric_samples"] == 1  # one partition dropped
        assert removed["events"] == 1

    async def test_zero_keeps_everything(self, pool):
        """With every retention at 0, nothing is removed however old it is."""
        events = make_writer(EventWriter, pool)
        await store(events, [GameEvent(id="e", server="a", type="chat", observed_at=at(0))])
        settings = TableRetentionSettings(**dict.fromkeys(_ALL_DAYS, 0))

        await enforce_retention(
            pool, settings, now=at(0) + timedelta(days=3650), partitions=PartitionKeeper()
        )

        assert await pool.fetchval("SELECT count(*) FROM events") == 1


class TestHistoryQueries:
    @pytest.fixture(name="known")
    async def _known(self, pool):
        """Two servers with sessions, events, alerts and 2 hours of 10 s samples on server a."""
        events = make_writer(EventWriter, pool)
        metrics = make_writer(MetricsWriter, pool, partitions=PartitionKeeper())
        await store(
            events,
            [
                event("join", 0, "Bob"),
                event("chat", 5, "Bob", message="hello"),
                event("leave", 30, "Bob"),
                event("join", 10, "ann"),
                event("leave", 20, "ann"),
                event("join", 0, "bob", server="b"),
                event("leave", 60, "bob", server="b"),
                event("join", 100, "ann"),
                Alert(
                    id="al1",
                    server="a",
                    type=AlertType.UPS_LOW,
                    severity=Severity.WARNING,
                    raised_at=at(3),
                    summary="low",
                ),
                Alert(
                    id="al2",
                    server="b",
                    type=AlertType.RCON_DOWN,
                    severity=Severity.CRITICAL,
                    raised_at=at(4),
                    summary="down",
                ),
            ],
        )
        await store(
            metrics,
            [
                sample("a", at(i / 6), 60.0 if i % 2 else 50.0, 2, is_paused=i == 0)
                for i in range(720)
            ],
        )
        return pool

    async def test_metric_history_at_each_resolution(self, known):
        """Raw, minute and hour charts of the same data agree on their aggregates."""
        async with known.acquire() as conn:
            raw = await history.metric_history(
                conn, MetricHistoryRequest(server="a", start=at(0), end=at(10))
            )
            minute = await history.metric_history(
                conn, MetricHistoryRequest(server="a", start=at(0), end=at(120), max_points=100)
            )
            hour = await history.metric_history(
                conn,
                MetricHistoryRequest(
                    server="a", start=at(0), end=at(120), resolution=Resolution.HOUR
                ),
            )

        assert (raw.resolution, len(raw.points), raw.points[1].ups_avg) == (
            Resolution.RAW,
            60,
            60.0,
        )
        assert (minute.resolution, minute.step_s, len(minute.points)) == (
            Resolution.MINUTE,
            120,
            60,
        )
        assert minute.points[0].ups_avg == 55.0
        assert minute.points[0].paused_samples == 1
        assert [(p.samples, p.ups_avg, p.players_max) for p in hour.points] == [
            (360, 55.0, 2),
            (360, 55.0, 2),
        ]

    async def test_playtime_and_leaderboard(self, known):
        """Playtime sums closed sessions case-insensitively; the board ranks a server's players."""
        async with known.acquire() as conn:
            bob_a = await history.playtime(conn, PlaytimeRequest(player="BOB", server="a"))
            bob_all = await history.playtime(conn, PlaytimeRequest(player="bob"))
            clipped = await history.playtime(
                conn, PlaytimeRequest(player="bob", server="a", start=at(20), end=at(25))
            )
            board = await history.leaderboard(conn, LeaderboardRequest(server="a", end=at(60)))

        assert (bob_a.total_s, bob_a.sessions, bob_a.is_online) == (1800.0, 1, False)
        assert bob_all.total_s == 1800.0 + 3600.0
        assert clipped.total_s == 300.0
        assert [(e.rank, e.player, e.total_s) for e in board.entries] == [
            (1, "Bob", 1800.0),
            (2, "ann", 600.0),
        ]

    async def test_last_seen(self, known):
        """Last seen is now for an online player, the leave for others, and not found otherwise."""
        async with known.acquire() as conn:
            ann = await history.last_seen(conn, LastSeenRequest(player="ANN"))
            bob = await history.last_seen(conn, LastSeenRequest(player="bob", server="b"))
            nobody = await history.last_seen(conn, LastSeenRequest(player="zed"))

        assert (ann.is_online, ann.server) == (True, "a")
        assert (bob.is_online, bob.last_seen_at, bob.last_event_type) == (False, at(60), "leave")
        assert not nobody.is_found

    async def test_recent_events_filters(self, known):
        """Recent events come newest first and honour server, type, player and before."""
        async with known.acquire() as conn:
            joins = await history.recent_events(
                conn, RecentEventsRequest(server="a", types=("join",))
            )
            bob = await history.recent_events(conn, RecentEventsRequest(player="bob", limit=2))
            before = await history.recent_events(
                conn, RecentEventsRequest(server="a", before=at(10))
            )

        assert [(e.player, e.observed_at) for e in joins.events] == [
            ("ann", at(100)),
            ("ann", at(10)),
            ("Bob", at(0)),
        ]
        assert [(e.server, e.type) for e in bob.events] == [("b", "leave"), ("a", "leave")]
        assert [e.type for e in before.events] == ["chat", "join"]
        assert joins.events[0].data == {}

    async def test_recent_events_equal_a_full_sort_for_every_filter(self, pool):
        """The per-(server, type) index reads give exactly what sorting the whole table gives.

        Many events share observed_at (one parsed batch), so the log position must break ties
        inside each (server, type) read as well as in the final order.
        """
        writer = make_writer(EventWriter, pool)
        rng = random.Random(11)
        batch = [
            event(
                rng.choice(["chat", "join", "leave", "kick"]),
                rng.randrange(20),  # few distinct times: ties
                rng.choice(["ann", "bob", None]),
                server=rng.choice(["a", "b", "c"]),
            )
            for _ in range(300)
        ]
        await store(writer, batch)
        newest_first = """SELECT id FROM events WHERE ($1::text IS NULL OR server = $1)
            AND (cardinality($2::text[]) = 0 OR type = ANY($2))
            AND ($3::timestamptz IS NULL OR observed_at < $3)
            ORDER BY observed_at DESC, generation DESC NULLS LAST, source_offset DESC NULLS LAST
            LIMIT $4"""
        cases = [
            RecentEventsRequest(limit=25),
            RecentEventsRequest(server="b", limit=40),
            RecentEventsRequest(server="c", types=("join", "kick"), limit=10),
            RecentEventsRequest(types=("leave",), before=at(12), limit=30),
            RecentEventsRequest(server="a", before=at(5), limit=200),
            RecentEventsRequest(server="nobody"),
        ]
        async with pool.acquire() as conn:
            for req in cases:
                got = await history.recent_events(conn, req)
                expected = await conn.fetch(
                    newest_first, req.server, list(req.types), req.before, req.limit
                )
                assert [e.id for e in got.events] == [r["id"] for r in expected], req

    async def test_alert_history_filters(self, known):
        """Alert history filters by server and type."""
        async with known.acquire() as conn:
            every = await history.alert_history(conn, AlertHistoryRequest())
            down = await history.alert_history(
                conn, AlertHistoryRequest(types=(AlertType.RCON_DOWN,))
            )
            on_a = await history.alert_history(conn, AlertHistoryRequest(server="a"))

        assert [a.id for a in every.alerts] == ["al2", "al1"]
        assert [a.id for a in down.alerts] == ["al2"]
        assert [a.id for a in on_a.alerts] == ["al1"]
