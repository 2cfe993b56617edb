"""Fixtures: a simulated Factorio server with RCON, and a link to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from rcon_poller.rcon.backoff import BackoffPolicy
from rcon_poller.rcon.link import Endpoint, RconLink
from simulator import ServerSettings, SimulatedServer

PASSWORD = "s3cret-rcon-pw"


@pytest.fixture(name="sim")
async def _sim(tmp_path: Path) -> AsyncIterator[SimulatedServer]:
    """A simulated server with RCON on a free port and two players online."""
    settings = ServerSettings(
        log_path=tmp_path / "console.log", rcon_port=0, rcon_password=PASSWORD
    )
    async with SimulatedServer(settings) as server:
        server.add_player("Cool-Guy")
        server.add_player("grilled ham")
        yield server


def endpoint(sim: SimulatedServer, *, password: str = PASSWORD, timeout_s: float = 2.0) -> Endpoint:
    """The endpoint of ``sim``."""
    assert sim.rcon_port is not None
    return Endpoint("127.0.0.1", sim.rcon_port, SecretStr(password), timeout_s)


@pytest.fixture(name="link")
async def _link(sim: SimulatedServer) -> AsyncIterator[RconLink]:
    """A link to ``sim`` with fast backoff."""
    link = RconLink(
        endpoint(sim), policy=BackoffPolicy(initial_s=0.05, max_s=0.2, auth_failure_s=0.5)
    )
    yield link
    await link.close()
