"""Embedded infrastructure for `isr up` and the test fixtures: nats-server, Postgres, Docker."""

from isr_cli.infra.docker import DockerPostgres, docker_available
from isr_cli.infra.errors import BinaryNotFoundError, InfraError, StartupError
from isr_cli.infra.nats import EmbeddedNats, find_nats_server
from isr_cli.infra.postgres import LocalPostgres, PostgresBinaries, find_postgres_binaries
from isr_cli.infra.resolve import (
    DatabaseChoice,
    DatabaseSource,
    NatsChoice,
    resolve_database,
    resolve_nats,
)

__all__ = [
    "BinaryNotFoundError",
    "DatabaseChoice",
    "DatabaseSource",
    "DockerPostgres",
    "EmbeddedNats",
    "InfraError",
    "LocalPostgres",
    "NatsChoice",
    "PostgresBinaries",
    "StartupError",
    "docker_available",
    "find_nats_server",
    "find_postgres_binaries",
    "resolve_database",
    "resolve_nats",
]
