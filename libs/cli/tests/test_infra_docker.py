"""Tests for the Docker fallback (no engine runs on this machine)."""

from __future__ import annotations

import sys

import pytest

from isr_cli.infra.docker import DockerPostgres, docker_available
from isr_cli.infra.errors import InfraError, StartupError


class TestDockerAvailable:
    """Docker detection never raises and never trusts the CLI alone."""

    def test_missing_package_means_unavailable(self, monkeypatch):
        """Without the docker package installed, Docker counts as unavailable."""
        monkeypatch.setitem(sys.modules, "docker", None)

        assert docker_available() is False

    def test_unreachable_engine_means_unavailable(self, monkeypatch):
        """A DOCKER_HOST nobody listens on yields False instead of an exception."""
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

        assert docker_available() is False


class TestDockerPostgres:
    """The container wrapper's behaviour when it cannot run."""

    def test_url_before_start_is_an_error(self):
        """Asking for the URL of a container that was never started raises InfraError."""
        with pytest.raises(InfraError, match="not been started"):
            _ = DockerPostgres().url

    def test_start_without_testcontainers_names_the_extra(self, monkeypatch):
        """Starting without testcontainers installed says to install isr-cli[docker]."""
        monkeypatch.setitem(sys.modules, "testcontainers.postgres", None)

        with pytest.raises(StartupError, match=r"isr-cli\[docker\]"):
            DockerPostgres().start()

    def test_stop_without_start_is_harmless(self):
        """stop() on a container that never started does nothing."""
        DockerPostgres().stop()
