"""Postgres in a Docker container via testcontainers (the optional ``isr-cli[docker]`` extra).

Used only when no local PostgreSQL binaries exist and a Docker engine answers a ping within
2 s: the docker CLI alone proves nothing (it is installed here without an engine), and
docker-py's default timeout would hang a start for 60 s against a stuck daemon.
"""

from __future__ import annotations

import secrets
from typing import Any

from common.redaction import register_secret
from isr_cli.infra._process import StartStopContext
from isr_cli.infra.errors import InfraError, StartupError

IMAGE = "postgres:15-alpine"
"""The image the container runs; the same major version as the Debian package."""

_PING_TIMEOUT_S = 2


def docker_available() -> bool:
    """Tell whether testcontainers is installed and a Docker engine answers a ping within 2 s.

    Never raises: a missing package, a missing socket or a silent daemon all mean False.
    """
    try:
        import docker  # noqa: PLC0415 - optional extra, imported only when asked
        import testcontainers.postgres  # noqa: F401, PLC0415

        client = docker.from_env(timeout=_PING_TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class DockerPostgres(StartStopContext):
    """A throwaway Postgres container (role, password and database ``isr``).

    The container has no volume: its data is gone after ``stop()``. ``isr up`` prefers local
    binaries for that reason and says so when it falls back to Docker.
    """

    def __init__(self, *, image: str = IMAGE) -> None:
        self.image = image
        self._password = secrets.token_urlsafe(24)
        self._container: Any = None

    @property
    def url(self) -> str:
        """``postgresql://isr:<password>@<host>:<port>/isr`` of the running container."""
        if self._container is None:
            raise InfraError("the Postgres container has not been started")
        host = self._container.get_container_host_ip()
        port = self._container.get_exposed_port(5432)
        return f"postgresql://isr:{self._password}@{host}:{port}/isr"

    def start(self) -> None:
        """Start the container and wait until Postgres accepts connections.

        Raises:
            StartupError: testcontainers is missing or the container did not come up.
        """
        if self._container is not None:
            return
        try:
            from testcontainers.postgres import PostgresContainer  # noqa: PLC0415
        except ImportError as exc:
            raise StartupError(
                "postgres (docker)", "install the docker extra: pip install 'isr-cli[docker]'"
            ) from exc
        register_secret(self._password)
        container = PostgresContainer(
            self.image, username="isr", password=self._password, dbname="isr"
        )
        try:
            container.start()
        except Exception as exc:
            raise StartupError("postgres (docker)", str(exc)) from exc
        self._container = container

    def stop(self) -> None:
        """Stop and remove the container; no-op when it is not running."""
        container, self._container = self._container, None
        if container is not None:
            container.stop()
