from datetime import UTC, datetime

import asyncpg

from common.contracts import AuditRecord, AuditResult, MetricSample
from persistence import failures
from persistence.rows import AUDIT_COLUMNS, SAMPLE_COLUMNS, audit_row, sample_row

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


class TestRows:
    def test_sample_row_matches_its_columns(self):
        """A metric sample maps to one value per column, evolution as JSON text."""
        sample = MetricSample(
            id="a:metric:1",
            server="a",
            sampled_at=NOW,
            player_count=2,
            ups=59.5,
            players_online=("x", "y"),
            evolution={"nauvis": 0.5},
        )

        row = dict(zip(SAMPLE_COLUMNS, sample_row(sample), strict=True))

        assert (row["players_online"], row["evolution"], row["rcon_up"]) == (
            ["x", "y"],
            '{"nauvis":0.5}',
            True,
        )

    def test_audit_row_keeps_who_where_what_and_result(self):
        """An audit record maps to a row with the actor, place, operation and result."""
        record = AuditRecord(
            id="discord:1",
            at=NOW,
            actor_id=42,
            actor_name="ann",
            guild_id=7,
            channel_id=8,
            server="a",
            operation="kick",
            parameters={"player": "bob"},
            result=AuditResult.OK,
        )

        row = dict(zip(AUDIT_COLUMNS, audit_row(record), strict=True))

        assert (row["actor_id"], row["operation"], row["parameters"], row["result"]) == (
            42,
            "kick",
            '{"player":"bob"}',
            "ok",
        )

    def test_poller_audit_row_has_service_and_requester_but_no_actor(self):
        """A record the poller wrote maps its service, requester and request id to columns."""
        record = AuditRecord(
            id="rcon:a:1",
            at=NOW,
            server="a",
            operation="rcon_raw",
            parameters={"command": "/time"},
            result=AuditResult.OK,
            service="bot",
            requested_by="discord:42",
            request_id="discord:7",
        )

        row = dict(zip(AUDIT_COLUMNS, audit_row(record), strict=True))

        assert (row["service"], row["requested_by"], row["request_id"], row["actor_id"]) == (
            "bot",
            "discord:42",
            "discord:7",
            None,
        )


class TestFailures:
    def test_data_errors_are_poison_and_connection_errors_are_not(self):
        """A rejected value is poison; a lost connection means unavailable."""
        bad = asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")

        assert failures.is_poison(bad)
        assert not failures.is_unavailable(bad)
        assert failures.is_unavailable(ConnectionRefusedError())
        assert not failures.is_poison(ConnectionRefusedError())

    def test_values_asyncpg_refuses_are_poison_not_an_outage(self):
        """OverflowError and DataError from asyncpg mean a bad row, not that Postgres is down."""
        refused = [OverflowError("int too big"), asyncpg.DataError("invalid input")]

        assert [failures.is_poison(e) for e in refused] == [True, True]
        assert [failures.is_unavailable(e) for e in refused] == [False, False]

    def test_missing_partition_is_not_poison(self):
        """A row whose partition was just dropped is retried, not dead-lettered."""
        exc = asyncpg.exceptions.CheckViolationError('no partition of relation "m" found for row')

        assert failures.is_missing_partition(exc)
        assert not failures.is_poison(exc)
