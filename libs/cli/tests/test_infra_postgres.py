"""Tests for the local PostgreSQL cluster run from the installed binaries."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from common.redaction import redact_text
from isr_cli.infra.postgres import (
    RELOCATION_ROOT,
    LocalPostgres,
    find_postgres_binaries,
    hint,
    order_bindirs,
    parse_postmaster_pid,
    relocated_cluster_dir,
    version_key,
)

pytestmark = pytest.mark.postgres


async def fetch_value(url: str, query: str) -> object:
    """Run one query on a fresh connection and return the first column of the first row."""
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


@pytest.fixture(name="clusters")
def _clusters() -> Iterator[list[LocalPostgres]]:
    """Collects clusters a test creates; stops them and deletes their data afterwards."""
    created: list[LocalPostgres] = []
    yield created
    for cluster in created:
        cluster.stop()
        shutil.rmtree(cluster.cluster_dir, ignore_errors=True)


@pytest.fixture(name="open_dir")
def _open_dir() -> Iterator[Path]:
    """A fresh directory the server's user can traverse (unlike pytest's 0700 tmp dirs)."""
    path = Path(tempfile.mkdtemp(prefix="isr-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class TestBinaryDiscovery:
    """Finding initdb/pg_ctl and ordering candidate directories."""

    def test_installed_binaries_are_found(self):
        """The PostgreSQL server binaries installed on this machine are found."""
        binaries = find_postgres_binaries()

        assert binaries is not None
        assert Path(binaries.path("initdb")).is_file()

    def test_version_is_read_from_the_path(self):
        """Debian and Homebrew paths name the major version."""
        assert version_key(Path("/usr/lib/postgresql/15/bin")) == 15
        assert version_key(Path("/opt/homebrew/opt/postgresql@16/bin")) == 16
        assert version_key(Path("/usr/bin")) == 0

    def test_path_first_then_pg_config_then_newest(self):
        """PATH wins, then pg_config's bindir, then versioned directories newest first."""
        versioned = [Path("/usr/lib/postgresql/13/bin"), Path("/usr/lib/postgresql/16/bin")]

        ordered = order_bindirs(Path("/a"), Path("/usr/lib/postgresql/13/bin"), versioned)

        assert ordered == [
            Path("/a"),
            Path("/usr/lib/postgresql/13/bin"),
            Path("/usr/lib/postgresql/16/bin"),
        ]


class TestPureHelpers:
    """Relocation paths, postmaster.pid parsing and install hints."""

    def test_relocated_dir_is_deterministic_per_data_dir(self, tmp_path: Path):
        """The same data dir always maps to the same relocated area, another one elsewhere."""
        first = relocated_cluster_dir(tmp_path / "a")

        assert first == relocated_cluster_dir(tmp_path / "a")
        assert first != relocated_cluster_dir(tmp_path / "b")
        assert first.parent == RELOCATION_ROOT
        assert first.name.startswith("isr-postgres-")

    def test_postmaster_pid_gives_pid_and_port(self):
        """The first line of postmaster.pid is the pid and the fourth the port."""
        text = "4242\n/data\n1700000000\n5433\n/run\n127.0.0.1\n"

        assert parse_postmaster_pid(text) == (4242, 5433)
        assert parse_postmaster_pid("4242\n/data\n") == (4242, None)

    @pytest.mark.parametrize(
        ("platform", "release", "expected"),
        [
            ("linux", 'ID=debian\nNAME="Debian GNU/Linux"', "apt-get install postgresql"),
            ("linux", "ID=ubuntu", "apt-get install postgresql"),
            ("darwin", "", "brew install postgresql@15"),
            ("linux", "ID=fedora", "dnf install postgresql-server"),
            ("linux", "ID=arch", "PostgreSQL 15+ server binaries"),
        ],
    )
    def test_hint_names_the_package_for_the_platform(self, platform, release, expected):
        """The install hint is one line naming the right package manager command."""
        text = hint(platform, release)

        assert expected in text
        assert "\n" not in text
        assert "Docker" in text


class TestLocalPostgres:
    """A persistent cluster: auth, relocation, survival across restarts, stale postmasters."""

    async def test_data_survives_a_restart(self, tmp_path: Path, clusters):
        """Rows written before stop() are there after a new instance starts the same dir."""
        first = LocalPostgres(tmp_path / "pg")
        clusters.append(first)
        first.start()
        await fetch_value(first.url, "CREATE TABLE kept AS SELECT 7 AS v")
        first.stop()

        second = LocalPostgres(tmp_path / "pg")
        clusters.append(second)
        second.start()

        assert await fetch_value(second.url, "SELECT v FROM kept") == 7

    async def test_password_is_required_and_kept_private(self, tmp_path: Path, clusters):
        """TCP needs the generated password, which is stored 0600 and registered for redaction."""
        server = LocalPostgres(tmp_path / "pg")
        clusters.append(server)
        server.start()
        password = server.password_path.read_text().strip()

        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(f"postgresql://isr:wrong@127.0.0.1:{server.port}/isr")
        assert await fetch_value(server.url, "SELECT current_database()") == "isr"
        assert stat.S_IMODE(server.password_path.stat().st_mode) == 0o600
        assert password in server.url
        assert password not in redact_text(f"connecting with {password}")

    async def test_lost_password_file_is_replaced(self, tmp_path: Path, clusters):
        """When the password file is deleted, the next start sets a new password that works."""
        first = LocalPostgres(tmp_path / "pg")
        clusters.append(first)
        first.start()
        first.stop()
        old = first.password_path.read_text()
        first.password_path.unlink()

        second = LocalPostgres(tmp_path / "pg")
        clusters.append(second)
        second.start()

        assert second.password_path.read_text() != old
        assert await fetch_value(second.url, "SELECT 1") == 1

    def test_unreachable_data_dir_is_relocated_and_recorded(self, tmp_path: Path, clusters):
        """Under a 0700 root-owned dir the cluster lives in /var/tmp, and `location` says where."""
        if os.geteuid() != 0:
            pytest.skip("relocation only happens when root runs the server as another user")
        tmp_path.chmod(0o700)
        server = LocalPostgres(tmp_path / "pg")
        clusters.append(server)
        server.start()

        assert server.cluster_dir == relocated_cluster_dir(tmp_path / "pg")
        assert server.location_path.read_text().strip() == str(server.cluster_dir)

    def test_reachable_data_dir_keeps_the_cluster_inside(self, open_dir: Path, clusters):
        """When the server's user can reach the data dir, the cluster stays inside it."""
        server = LocalPostgres(open_dir / "pg")
        clusters.append(server)
        server.start()

        assert server.cluster_dir == open_dir / "pg" / "cluster"
        assert server.is_initialised
        assert not server.location_path.exists()

    async def test_stale_postmaster_is_stopped_before_start(self, tmp_path: Path, clusters):
        """A postmaster left by a crashed run is stopped, and the new start owns the data."""
        crashed = LocalPostgres(tmp_path / "pg")
        clusters.append(crashed)
        crashed.start()
        await fetch_value(crashed.url, "CREATE TABLE survivor AS SELECT 1 AS v")

        fresh = LocalPostgres(tmp_path / "pg")
        clusters.append(fresh)
        fresh.start()

        assert fresh.is_running
        assert await fetch_value(fresh.url, "SELECT v FROM survivor") == 1

    async def test_restart_keeps_the_port(self, private_postgres: LocalPostgres):
        """restart() brings the server back on the same URL with its data."""
        url = private_postgres.url
        await fetch_value(url, "CREATE TABLE t AS SELECT 3 AS v")

        private_postgres.restart()

        assert private_postgres.url == url
        assert await fetch_value(url, "SELECT v FROM t") == 3


class TestThrowawayPostgres:
    """Throwaway clusters for tests."""

    async def test_trust_auth_and_removal_on_stop(self):
        """A temporary cluster accepts role isr without a password and vanishes on stop()."""
        server = LocalPostgres.temporary()
        server.start()
        try:
            assert ":" not in server.url.split("@")[0].removeprefix("postgresql://")
            assert await fetch_value(server.url, "SELECT current_user") == "isr"
        finally:
            server.stop()

        assert not server.cluster_dir.exists()
        assert not server.data_dir.exists()
