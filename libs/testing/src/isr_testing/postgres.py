"""A real Postgres for tests, and a fresh empty database per test.

Where the server comes from, in order: ``ISR_TEST_DATABASE_URL`` (a role allowed to create
databases), a throwaway local cluster from the installed binaries (trust auth, durability off,
deleted afterwards), a Docker container when an engine answers. With none of these the suite
fails with one line saying what to install: a database test that silently skips tests nothing.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from isr_cli.infra import docker as docker_infra
from isr_cli.infra import postgres as postgres_infra
from isr_cli.infra.errors import InfraError

TEST_DATABASE_URL_VAR = "ISR_TEST_DATABASE_URL"
"""An existing server for the tests; its role must be allowed to CREATE DATABASE."""

T = TypeVar("T")


class PostgresServer(Protocol):
    """What the ``postgres_server`` fixture yields: a server reachable at ``url``."""

    @property
    def url(self) -> str:
        """A URL of a database on the server whose role may create and drop databases."""
        ...


class NoPostgresError(InfraError):
    """No Postgres could be found or started for the tests; the message says what to install."""


@dataclass(frozen=True)
class ExternalPostgres:
    """A server the tests did not start (``ISR_TEST_DATABASE_URL``); nothing to stop."""

    url: str


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` instead (user, password, host, query kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def new_database_name() -> str:
    """Return a fresh database name, ``t_`` + 10 hex chars."""
    return "t_" + secrets.token_hex(5)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def create_database(admin_url: str, database: str) -> None:
    """Create an empty ``database`` on the server of ``admin_url``."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def drop_database(admin_url: str, database: str) -> None:
    """Drop ``database``, disconnecting whoever is still connected (PostgreSQL 13+)."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create a uniquely named empty database, yield its URL, drop it afterwards."""
    name = new_database_name()
    run_sync(create_database(admin_url, name))
    try:
        yield with_database(admin_url, name)
    finally:
        run_sync(drop_database(admin_url, name))


@contextmanager
def postgres_for_tests(environ: Mapping[str, str]) -> Iterator[PostgresServer]:
    """Yield a Postgres for a test session (see the module docstring for the order tried).

    Raises:
        NoPostgresError: nothing is configured, installed or reachable, or it failed to start.
    """
    url = environ.get(TEST_DATABASE_URL_VAR)
    if url:
        yield ExternalPostgres(url)
        return
    if postgres_infra.find_postgres_binaries() is not None:
        with throwaway_local_postgres() as local:
            yield local
        return
    if docker_infra.docker_available():
        container = docker_infra.DockerPostgres()
        try:
            container.start()
        except InfraError as exc:
            raise NoPostgresError(str(exc)) from exc
        try:
            yield container
        finally:
            container.stop()
        return
    raise NoPostgresError(
        f"no PostgreSQL for the tests: set {TEST_DATABASE_URL_VAR}, or {postgres_infra.hint()}"
    )


@contextmanager
def throwaway_local_postgres() -> Iterator[postgres_infra.LocalPostgres]:
    """Start a throwaway local cluster (trust auth, in a temp dir) and delete it afterwards.

    Raises:
        NoPostgresError: the binaries are missing or the cluster did not start.
    """
    local = postgres_infra.LocalPostgres.temporary()
    try:
        local.start()
    except InfraError as exc:
        local.stop()
        raise NoPostgresError(str(exc)) from exc
    try:
        yield local
    finally:
        local.stop()


def stop_immediately(local: postgres_infra.LocalPostgres) -> None:
    """Stop ``local`` with ``pg_ctl stop -m immediate``: like a crash, no shutdown checkpoint.

    Every server process quits at once; the next ``local.start()`` runs crash recovery from the
    WAL. The cluster's files are kept (even for a throwaway cluster).

    Raises:
        NoPostgresError: the server binaries are gone.
        InfraError: pg_ctl failed.
    """
    binaries = postgres_infra.find_postgres_binaries()
    if binaries is None:
        raise NoPostgresError(postgres_infra.hint())
    argv = [binaries.path("pg_ctl"), "stop", "-D", str(local.pgdata), "-m", "immediate", "-w"]
    user = postgres_infra.ensure_service_user()
    command = user.wrap(argv) if user is not None else argv
    # cwd "/": the server's user may not be able to enter our working directory.
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if result.returncode != 0:
        msg = f"pg_ctl stop -m immediate exited with {result.returncode}: {result.stderr.strip()}"
        raise InfraError(msg)


async def commit_durably(database_url: str) -> None:
    """Make every later session on this database wait for its commits to reach the WAL on disk.

    A throwaway cluster runs with ``synchronous_commit=off`` for speed, so a crash loses the
    last commits *after* they were reported done: persistence would have acknowledged messages
    whose rows are then gone, a loss of the test set-up's making, not of the code under test.
    A database-level setting outranks the server's command-line one.
    """
    connection = await asyncpg.connect(database_url)
    try:
        database = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    finally:
        await connection.close()
