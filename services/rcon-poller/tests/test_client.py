"""The RCON client and link against the simulator, over real sockets."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from pydantic import SecretStr

from rcon_poller.rcon.backoff import BackoffPolicy
from rcon_poller.rcon.client import (
    CommandTooLong,
    RconAuthError,
    RconConnection,
    RconTimeout,
)
from rcon_poller.rcon.link import RconLink, RconUnavailable
from simulator import SimulatedServer

from .conftest import PASSWORD, endpoint


class TestConnection:
    async def test_commands_get_their_replies(self, sim: SimulatedServer):
        """A connection authenticates and returns Factorio's reply bodies."""
        assert sim.rcon_port is not None
        connection = await RconConnection.open("127.0.0.1", sim.rcon_port, PASSWORD, timeout_s=2)
        try:
            assert await connection.execute("/version", timeout_s=2) == "2.0.77\n"
            assert await connection.execute("hello from the test", timeout_s=2) == ""
        finally:
            await connection.close()

    async def test_pipelined_commands_are_matched_by_id(self, sim: SimulatedServer):
        """Many commands in flight at once each get their own reply."""
        assert sim.rcon_port is not None
        connection = await RconConnection.open("127.0.0.1", sim.rcon_port, PASSWORD, timeout_s=2)
        try:
            replies = await asyncio.gather(
                *(connection.execute(f"/sc rcon.print({i})", timeout_s=2) for i in range(50))
            )
        finally:
            await connection.close()

        # The first Lua command of a fresh save is swallowed (empty reply); the rest answer.
        assert replies[0] == ""
        assert [f"{i}\n" for i in range(1, 50)] == replies[1:]

    async def test_a_100_kb_reply_is_read_whole(self, sim: SimulatedServer):
        """A reply far larger than one TCP segment is read exactly, in one piece."""
        assert sim.rcon_port is not None
        connection = await RconConnection.open("127.0.0.1", sim.rcon_port, PASSWORD, timeout_s=2)
        try:
            await connection.execute("/sc rcon.print('x')", timeout_s=2)  # the achievements ack
            reply = await connection.execute(
                "/sc rcon.print(string.rep('abcdefghij', 10240))", timeout_s=5
            )
        finally:
            await connection.close()

        assert len(reply) == 102_401
        assert reply.startswith("abcdefghij")

    async def test_wrong_password_is_an_auth_error_without_the_password(self, sim: SimulatedServer):
        """A refused login raises RconAuthError whose text does not contain the password."""
        assert sim.rcon_port is not None

        with pytest.raises(RconAuthError) as caught:
            await RconConnection.open("127.0.0.1", sim.rcon_port, "wrong-pass", timeout_s=2)

        assert "wrong-pass" not in str(caught.value)

    async def test_stall_times_out_and_closes(self, sim: SimulatedServer):
        """A command the server never answers times out, and the connection is closed."""
        assert sim.rcon_port is not None
        connection = await RconConnection.open("127.0.0.1", sim.rcon_port, PASSWORD, timeout_s=2)
        sim.stall_rcon()
        try:
            with pytest.raises(RconTimeout):
                await connection.execute("/time", timeout_s=0.2)
        finally:
            sim.release_rcon()

        assert not connection.is_open

    async def test_commands_factorio_cannot_take_are_not_sent(self, sim: SimulatedServer):
        """Blank and over-long commands are refused before anything is sent."""
        assert sim.rcon_port is not None
        connection = await RconConnection.open("127.0.0.1", sim.rcon_port, PASSWORD, timeout_s=2)
        try:
            with pytest.raises(ValueError, match="blank"):
                await connection.execute("   ", timeout_s=1)
            with pytest.raises(CommandTooLong):
                await connection.execute("x" * 4097, timeout_s=1)
            assert connection.is_open
        finally:
            await connection.close()
        assert sim.rcon is not None
        assert sim.rcon.commands_received == 0


class TestLink:
    async def test_one_connection_serves_many_commands(self, sim: SimulatedServer, link: RconLink):
        """The link keeps its connection: one login for many commands."""
        for _ in range(5):
            await link.execute("/version")

        log = sim.settings.log_path.read_text()
        assert log.count("New RCON connection") == 1

    async def test_reconnects_after_a_server_restart(self, sim: SimulatedServer, link: RconLink):
        """After RCON restarts the next command reconnects and succeeds."""
        await link.execute("/version")
        await sim.restart_rcon()

        assert await _eventually(link, "/version") == "2.0.77\n"
        assert link.state.is_connected
        assert sim.settings.log_path.read_text().count("New RCON connection") == 2

    async def test_refused_connections_back_off_and_recover(
        self, sim: SimulatedServer, link: RconLink
    ):
        """While connects are refused commands fail fast; once RCON is back they work again."""
        await sim.refuse_rcon()
        with pytest.raises(RconUnavailable) as first:
            await link.execute("/version")
        with pytest.raises(RconUnavailable) as second:
            await link.execute("/version")
        await sim.accept_rcon()

        assert "refused" in first.value.reason.lower() or "connect" in first.value.reason
        assert second.value.retry_in_s > 0
        assert not link.state.is_connected
        reply = await _eventually(link, "/version")
        assert reply == "2.0.77\n"

    async def test_wrong_password_waits_the_long_backoff(self, sim: SimulatedServer):
        """A refused password is not retried until the long auth backoff has passed."""
        link = RconLink(
            endpoint(sim, password="nope"),
            policy=BackoffPolicy(initial_s=0.01, max_s=0.01, auth_failure_s=60),
        )
        with pytest.raises(RconUnavailable) as first:
            await link.execute("/version")
        for _ in range(20):
            with pytest.raises(RconUnavailable):
                await link.execute("/version")

        assert first.value.is_auth_failure
        assert link.state.is_auth_failure
        assert sim.settings.log_path.read_text().count("New RCON connection") == 1
        assert link.state.retry_in_s is not None
        assert link.state.retry_in_s > 40

    async def test_fixing_the_password_reconnects_at_once(self, sim: SimulatedServer):
        """A new endpoint (the fixed password) ends the auth backoff immediately."""
        link = RconLink(endpoint(sim, password="nope"), policy=BackoffPolicy(auth_failure_s=600))
        with pytest.raises(RconUnavailable):
            await link.execute("/version")

        await link.update_endpoint(endpoint(sim))

        assert await link.execute("/version") == "2.0.77\n"
        await link.close()

    async def test_stall_times_out_then_recovers(self, sim: SimulatedServer, link: RconLink):
        """During a stall commands time out; after it the link reconnects by itself."""
        await link.execute("/version")
        sim.stall_rcon()
        with pytest.raises(RconTimeout):
            await link.execute("/time", timeout_s=0.2)
        sim.release_rcon()

        assert await _eventually(link, "/version") == "2.0.77\n"

    async def test_password_never_reaches_the_logs(self, sim: SimulatedServer):
        """Neither a refused nor a good login writes the password into a log event."""
        with structlog.testing.capture_logs() as logs:
            bad = RconLink(endpoint(sim, password="nope-nope"), policy=BackoffPolicy())
            with pytest.raises(RconUnavailable) as caught:
                await bad.execute("/version")
            good = RconLink(endpoint(sim), policy=BackoffPolicy())
            await good.execute("/version")
            await good.close()

        assert "nope-nope" not in str(caught.value)
        assert PASSWORD not in repr(logs)
        assert PASSWORD not in repr(endpoint(sim))
        assert SecretStr(PASSWORD) == endpoint(sim).password


async def _eventually(link: RconLink, command: str) -> str:
    """Retry through the backoff until the command succeeds (bounded)."""
    for _ in range(200):
        try:
            return await link.execute(command)
        except RconUnavailable as exc:
            await asyncio.sleep(min(exc.retry_in_s, 0.05) + 0.01)  # backoff pacing, not sync
        except Exception:
            continue
    raise AssertionError("the link did not recover")
