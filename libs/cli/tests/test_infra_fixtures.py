"""Tests of the isr_testing pytest plugin, used the way every other package uses it."""

from __future__ import annotations

import re

import asyncpg
import nats
import pytest

from isr_testing import postgres as postgres_helpers
from isr_testing.nats import new_prefix
from isr_testing.postgres import (
    ExternalPostgres,
    NoPostgresError,
    fresh_database,
    postgres_for_tests,
    with_database,
)


def test_plugin_is_registered_through_its_entry_point(pytestconfig):
    """The plugin is loaded without any conftest import."""
    assert pytestconfig.pluginmanager.hasplugin("isr_testing")


class TestNatsFixtures:
    """nats_server and nats_prefix."""

    def test_prefix_shape(self, nats_prefix: str):
        """A prefix is `t` plus 10 hex characters, and each call gives a new one."""
        assert re.fullmatch(r"t[0-9a-f]{10}", nats_prefix)
        assert new_prefix() != new_prefix()

    @pytest.mark.nats
    async def test_messages_flow_on_prefixed_subjects(self, nats_server, nats_prefix: str):
        """A message published on a prefixed subject reaches a subscriber on the shared server."""
        client = await nats.connect(nats_server.url)
        try:
            sub = await client.subscribe(f"{nats_prefix}.ping")
            await client.publish(f"{nats_prefix}.ping", b"pong")
            message = await sub.next_msg(timeout=5)
        finally:
            await client.close()

        assert message.data == b"pong"

    @pytest.mark.nats
    async def test_private_server_can_be_stopped_and_started(self, private_nats_server):
        """A private server stopped by a test comes back on the same URL when started again."""
        url = private_nats_server.url
        private_nats_server.stop()
        private_nats_server.start()

        client = await nats.connect(private_nats_server.url)
        await client.close()

        assert private_nats_server.url == url


@pytest.mark.postgres
class TestPostgresFixtures:
    """postgres_server, database_url and private_postgres."""

    async def test_database_url_is_a_fresh_empty_database(self, database_url: str):
        """Each test gets its own empty `t_<hex>` database it can create tables in."""
        connection = await asyncpg.connect(database_url)
        try:
            name = await connection.fetchval("SELECT current_database()")
            tables = await connection.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            await connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
        finally:
            await connection.close()

        assert re.fullmatch(r"t_[0-9a-f]{10}", name)
        assert tables == 0

    async def test_fresh_database_is_dropped_afterwards(self, postgres_server):
        """The per-test database no longer exists once its context has ended."""
        with fresh_database(postgres_server.url) as url:
            name = url.rsplit("/", 1)[1]

        connection = await asyncpg.connect(postgres_server.url)
        try:
            exists = await connection.fetchval(
                "SELECT count(*) FROM pg_database WHERE datname = $1", name
            )
        finally:
            await connection.close()

        assert exists == 0

    async def test_private_postgres_survives_restart(self, private_postgres):
        """A private cluster keeps its data across restart()."""
        connection = await asyncpg.connect(private_postgres.url)
        await connection.execute("CREATE TABLE kept AS SELECT 5 AS v")
        await connection.close()

        private_postgres.restart()

        connection = await asyncpg.connect(private_postgres.url)
        try:
            assert await connection.fetchval("SELECT v FROM kept") == 5
        finally:
            await connection.close()


class TestPostgresSelection:
    """Where the session's Postgres comes from."""

    def test_environment_url_is_used(self):
        """ISR_TEST_DATABASE_URL is used as is, without starting anything."""
        with postgres_for_tests({"ISR_TEST_DATABASE_URL": "postgresql://u@h/db"}) as server:
            assert server == ExternalPostgres("postgresql://u@h/db")

    def test_nothing_available_fails_with_what_to_install(self, monkeypatch):
        """With no URL, binaries or Docker the error says what to install."""
        monkeypatch.setattr(postgres_helpers.postgres_infra, "find_postgres_binaries", lambda: None)
        monkeypatch.setattr(postgres_helpers.docker_infra, "docker_available", lambda: False)

        with pytest.raises(NoPostgresError, match="install"), postgres_for_tests({}):
            pass

    def test_database_swapped_in_url(self):
        """Only the database part of the URL changes."""
        url = "postgresql://isr:pw@127.0.0.1:5432/isr?sslmode=disable"

        assert with_database(url, "t_1") == "postgresql://isr:pw@127.0.0.1:5432/t_1?sslmode=disable"
