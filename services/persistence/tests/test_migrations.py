import asyncio

import asyncpg
import pytest

from persistence.migrations import Migration, MigrationError, load_migrations, migrate

pytestmark = pytest.mark.postgres


class TestMigrate:
    async def test_empty_database_gets_every_migration_once(self, database_url: str):
        """On an empty database every shipped migration is applied and recorded."""
        conn = await asyncpg.connect(database_url)
        try:
            applied = await migrate(conn)
            again = await migrate(conn)
            recorded = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        finally:
            await conn.close()

        assert applied == [m.version for m in load_migrations()]
        assert again == []
        assert [r["version"] for r in recorded] == applied

    async def test_two_runners_at_once_apply_each_migration_once(self, database_url: str):
        """Two replicas migrating concurrently neither fail nor apply anything twice."""
        conns = [await asyncpg.connect(database_url) for _ in range(2)]
        try:
            results = await asyncio.gather(*(migrate(c) for c in conns))
            count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        finally:
            for c in conns:
                await c.close()

        assert sorted(results[0] + results[1]) == [m.version for m in load_migrations()]
        assert count == len(load_migrations())

    async def test_database_at_previous_version_gets_only_the_new_ones(self, database_url: str):
        """A database migrated by an older release receives just the migrations it lacks."""
        shipped = load_migrations()
        extra = Migration(shipped[-1].version + 1, "later", "CREATE TABLE later_thing (x int)")
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn, shipped)
            applied = await migrate(conn, [*shipped, extra])
            exists = await conn.fetchval("SELECT to_regclass('later_thing') IS NOT NULL")
        finally:
            await conn.close()

        assert applied == [extra.version]
        assert exists

    async def test_changed_applied_migration_is_refused(self, database_url: str):
        """Editing a migration after it ran is an error, not a silent divergence."""
        shipped = load_migrations()
        edited = [Migration(shipped[0].version, shipped[0].name, shipped[0].sql + "\n-- edit")]
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn, shipped)
            with pytest.raises(MigrationError, match="was changed"):
                await migrate(conn, edited)
        finally:
            await conn.close()


class TestHistoryMigration:
    async def test_database_at_0001_with_events_upgrades_and_keeps_them(self, database_url: str):
        """A database written by the 0001 release gets the history tables and keeps its events."""
        shipped = load_migrations()
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn, shipped[:1])
            await conn.execute(
                "INSERT INTO events (id, server, type, observed_at)"
                " VALUES ('a:f:1', 'a', 'join', now())"
            )
            applied = await migrate(conn)
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            kept = await conn.fetchval("SELECT count(*) FROM events")
        finally:
            await conn.close()

        assert applied == [m.version for m in shipped[1:]]
        assert {"alerts", "audit_log", "metric_hour", "player_sessions", "events"} <= {
            r["tablename"] for r in tables
        }
        assert kept == 1


class TestEventIndexes:
    async def test_events_keep_only_the_indexes_a_query_reads(self, database_url: str):
        """After every migration, events has its key and only indexes that queries read."""
        conn = await asyncpg.connect(database_url)
        try:
            await migrate(conn, load_migrations()[:2])
            await migrate(conn)
            names = await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
        finally:
            await conn.close()

        assert {r["indexname"] for r in names} == {
            "events_pkey",  # the source id: conflict skipping
            "events_server_type_time",  # recent_events (one server and type at a time)
            "events_lifecycle_position",  # sessions from a log position (partial: lifecycle rows)
            "events_player",  # last_seen, recent_events by player
            "events_observed_brin",  # retention
        }
