"""Decide where NATS and Postgres come from, and start the embedded ones.

Precedence for the database: ``ISR_DATABASE_URL``, then a local cluster from the installed
PostgreSQL binaries, then a Docker container, then none (persistence off, with one line saying
what to install). For NATS: ``ISR_NATS_URL`` (with the user's own ``ISR_NATS_*`` identity),
else the embedded nats-server, secured with a generated NKey per identity. The choice itself
is the pure ``choose_database_source``; ``resolve_*`` apply it and start what they picked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from isr_cli.infra import docker as docker_infra
from isr_cli.infra import postgres as postgres_infra
from isr_cli.infra.nats import EmbeddedNats
from isr_cli.infra.nkeys_store import ensure_seeds

DATABASE_URL_VAR = "ISR_DATABASE_URL"
"""The environment variable naming an external database; it wins over everything."""

NATS_URL_VAR = "ISR_NATS_URL"
"""The environment variable naming an external NATS server; it wins over the embedded one."""


class ManagedServer(Protocol):
    """A server this process started and must stop (EmbeddedNats, LocalPostgres, DockerPostgres)."""

    @property
    def url(self) -> str:
        """The client URL of the running server."""
        ...

    def stop(self) -> None:
        """Stop the server and wait until it is gone."""
        ...


class _Startable(ManagedServer, Protocol):
    def start(self) -> None: ...


def _start_or_clean_up(server: _Startable) -> None:
    try:
        server.start()
    except BaseException:
        # Also on Ctrl-C half-way through a start: nothing of ours may be left running.
        server.stop()
        raise


class DatabaseSource(StrEnum):
    """Where the database comes from."""

    ENVIRONMENT = "environment"
    LOCAL = "local"
    DOCKER = "docker"
    NONE = "none"


@dataclass(frozen=True)
class DatabaseChoice:
    """The database to use: its URL (None means persistence is off) and why it was chosen.

    ``server`` is set when this process started the database; the caller stops it.
    """

    url: str | None
    reason: str
    source: DatabaseSource
    server: ManagedServer | None = None


@dataclass(frozen=True)
class NatsChoice:
    """The NATS server to use, why, and the embedded server to stop later (if one was started).

    ``seed_files`` maps each identity to its NKey seed file when the server is the embedded,
    secured one; None when the user's ``ISR_NATS_*`` settings are passed through.
    """

    url: str
    reason: str
    server: ManagedServer | None = None
    seed_files: Mapping[str, Path] | None = None


def choose_database_source(
    environ: Mapping[str, str],
    *,
    has_local_binaries: Callable[[], bool],
    has_docker: Callable[[], bool],
) -> DatabaseSource:
    """Pick the database source; the probes are called lazily, in order of precedence."""
    if environ.get(DATABASE_URL_VAR):
        return DatabaseSource.ENVIRONMENT
    if has_local_binaries():
        return DatabaseSource.LOCAL
    if has_docker():
        return DatabaseSource.DOCKER
    return DatabaseSource.NONE


def no_database_reason(install_hint: str) -> str:
    """The one line printed when no database can be had: persistence is off, and how to fix it."""
    return f"no database, persistence is off; to enable it, {install_hint}"


def resolve_database(environ: Mapping[str, str], state_dir: Path) -> DatabaseChoice:
    """Choose the database and start it when it is ours to run (data under ``state_dir``).

    Raises:
        isr_cli.infra.errors.InfraError: the chosen local cluster or container failed to start.
    """
    binaries = postgres_infra.find_postgres_binaries()
    source = choose_database_source(
        environ,
        has_local_binaries=lambda: binaries is not None,
        has_docker=docker_infra.docker_available,
    )
    if source is DatabaseSource.ENVIRONMENT:
        return DatabaseChoice(environ[DATABASE_URL_VAR], f"using {DATABASE_URL_VAR}", source)
    if source is DatabaseSource.LOCAL:
        assert binaries is not None
        local = postgres_infra.LocalPostgres(Path(state_dir) / "postgres")
        _start_or_clean_up(local)
        reason = (
            f"local PostgreSQL ({binaries.bindir}) on port {local.port}, data in {local.pgdata}"
        )
        return DatabaseChoice(local.url, reason, source, local)
    if source is DatabaseSource.DOCKER:
        container = docker_infra.DockerPostgres()
        _start_or_clean_up(container)
        reason = (
            "PostgreSQL in Docker (no local binaries found); its data is lost when it stops. "
            f"For lasting data, {postgres_infra.hint()}"
        )
        return DatabaseChoice(container.url, reason, source, container)
    return DatabaseChoice(None, no_database_reason(postgres_infra.hint()), source)


def nats_auth_dir(state_dir: Path) -> Path:
    """Where ``isr up`` keeps the identities' NKey seeds (``<identity>.nk``)."""
    return Path(state_dir) / "nats-auth"


def secured_config(
    prefix: str, servers: Sequence[str], state_dir: Path
) -> tuple[str, dict[str, Path]]:
    """The embedded server's authorization config and each identity's seed file.

    Seeds are made on first use and reused (:func:`~isr_cli.infra.nkeys_store.ensure_seeds`);
    the config lists every identity of ``servers`` by public key, with its permissions.
    """
    from common import access  # noqa: PLC0415
    from common.topology import Topology  # noqa: PLC0415

    model = access.access_model(Topology(prefix), servers)
    seeds = ensure_seeds(nats_auth_dir(state_dir), [a.identity for a in model])
    users = {name: access.NkeyUser(seed.public_key) for name, seed in seeds.items()}
    header = (
        "Written by `isr up` at every start: only the identities below, by NKey, may connect.\n"
        f"Their seeds are in {nats_auth_dir(state_dir)} (0600)."
    )
    text = access.render_server_config(model, users, header=header)
    return text, {name: seed.seed_file for name, seed in seeds.items()}


def resolve_nats(
    environ: Mapping[str, str],
    state_dir: Path,
    *,
    prefix: str = "isr",
    servers: Sequence[str] = (),
) -> NatsChoice:
    """Use ``ISR_NATS_URL`` when set, else start the embedded nats-server under ``state_dir``.

    The embedded server is secured: it admits only the identities of ``servers`` (a tailer
    each, then the services), each by its own NKey, with its permissions under ``prefix``.

    Raises:
        isr_cli.infra.errors.InfraError: the embedded server could not be found or started.
    """
    url = environ.get(NATS_URL_VAR)
    if url:
        return NatsChoice(url, f"using {NATS_URL_VAR}")
    config_text, seed_files = secured_config(prefix, servers, state_dir)
    server = EmbeddedNats(Path(state_dir), config_text=config_text)
    _start_or_clean_up(server)
    reason = (
        f"embedded nats-server on {server.url}, JetStream store in {server.store_dir}, "
        f"clients by NKey only (seeds in {nats_auth_dir(state_dir)})"
    )
    return NatsChoice(server.url, reason, server, seed_files)
