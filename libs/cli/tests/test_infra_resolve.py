"""Tests for choosing and starting NATS and the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import nats
import nats.errors
import pytest

from isr_cli.infra import resolve
from isr_cli.infra.postgres import LocalPostgres
from isr_cli.infra.resolve import (
    DatabaseSource,
    choose_database_source,
    no_database_reason,
    resolve_database,
    resolve_nats,
)


def never() -> bool:
    """A probe that must not be called."""
    raise AssertionError("probe called although an earlier source won")


class TestChooseDatabaseSource:
    """Precedence: environment, local binaries, Docker, nothing."""

    def test_environment_wins_without_probing(self):
        """ISR_DATABASE_URL is used without looking for binaries or Docker."""
        source = choose_database_source(
            {"ISR_DATABASE_URL": "postgresql://x"}, has_local_binaries=never, has_docker=never
        )

        assert source is DatabaseSource.ENVIRONMENT

    def test_local_binaries_before_docker(self):
        """Installed binaries win over Docker, which is then not probed."""
        source = choose_database_source({}, has_local_binaries=lambda: True, has_docker=never)

        assert source is DatabaseSource.LOCAL

    def test_docker_when_no_binaries(self):
        """Without binaries a reachable Docker engine is used."""
        source = choose_database_source(
            {}, has_local_binaries=lambda: False, has_docker=lambda: True
        )

        assert source is DatabaseSource.DOCKER

    def test_nothing_available(self):
        """Without URL, binaries or Docker there is no database."""
        source = choose_database_source(
            {"ISR_DATABASE_URL": ""}, has_local_binaries=lambda: False, has_docker=lambda: False
        )

        assert source is DatabaseSource.NONE


class TestResolveDatabase:
    """Resolving applies the choice and starts what it picked."""

    def test_environment_url_is_used_as_is(self, tmp_path: Path):
        """ISR_DATABASE_URL comes back unchanged and nothing is started."""
        choice = resolve_database({"ISR_DATABASE_URL": "postgresql://u@h/db"}, tmp_path)

        assert choice.url == "postgresql://u@h/db"
        assert choice.server is None
        assert not (tmp_path / "postgres").exists()

    def test_no_database_gives_one_line_saying_what_to_install(self, tmp_path: Path, monkeypatch):
        """With nothing available the URL is None and one line says how to enable persistence."""
        monkeypatch.setattr(resolve.postgres_infra, "find_postgres_binaries", lambda: None)
        monkeypatch.setattr(resolve.docker_infra, "docker_available", lambda: False)

        choice = resolve_database({}, tmp_path)

        assert choice.url is None
        assert choice.source is DatabaseSource.NONE
        assert "\n" not in choice.reason
        assert "persistence is off" in choice.reason
        assert "install" in choice.reason

    @pytest.mark.postgres
    async def test_local_cluster_is_started_under_the_state_dir(self, tmp_path: Path):
        """With binaries installed a local cluster starts and its URL accepts connections."""
        choice = resolve_database({}, tmp_path)
        assert isinstance(choice.server, LocalPostgres)
        try:
            assert choice.url is not None
            connection = await asyncpg.connect(choice.url)
            await connection.close()
            assert choice.server.data_dir == tmp_path / "postgres"
            assert "password" not in choice.reason
        finally:
            choice.server.stop()
            shutil.rmtree(choice.server.cluster_dir, ignore_errors=True)

    def test_reason_line_for_missing_database(self):
        """The no-database reason embeds the install hint on a single line."""
        assert no_database_reason("install X") == (
            "no database, persistence is off; to enable it, install X"
        )


class TestResolveNats:
    """ISR_NATS_URL or the embedded server."""

    def test_environment_url_wins(self, tmp_path: Path):
        """ISR_NATS_URL is used and no server is started."""
        choice = resolve_nats({"ISR_NATS_URL": "nats://elsewhere:4222"}, tmp_path)

        assert choice.url == "nats://elsewhere:4222"
        assert choice.server is None
        assert choice.seed_files is None  # the user's own ISR_NATS_* identity applies

    @pytest.mark.nats
    async def test_embedded_server_is_started(self, tmp_path: Path):
        """Without ISR_NATS_URL a secured embedded server starts, its store under the state dir.

        Each identity signs in with its seed; a client without one is refused.
        """
        choice = resolve_nats({}, tmp_path, servers=["alpha"])
        assert choice.server is not None
        assert choice.seed_files is not None
        try:
            seed = choice.seed_files["parser"].read_text().strip()
            client = await nats.connect(choice.url, nkeys_seed_str=seed)
            await client.close()
            with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
                await nats.connect(choice.url, allow_reconnect=False, connect_timeout=3)
        finally:
            choice.server.stop()

        assert (tmp_path / "nats").is_dir()
