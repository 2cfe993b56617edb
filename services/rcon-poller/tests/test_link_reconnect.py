"""The link's reconnect rule against a real socket that logs in and then misbehaves."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from rcon_poller.rcon import protocol
from rcon_poller.rcon.backoff import BackoffPolicy
from rcon_poller.rcon.client import RconConnectError, RconTimeout
from rcon_poller.rcon.link import Endpoint, RconLink, RconUnavailable

GARBAGE = b"\xff\xfe\xfd\xfc" + b"not rcon at all\r\n" * 4
"""Bytes whose size field (-197,121) no RCON packet can have."""


@dataclass
class FakeClock:
    """The link's monotonic clock, moved by the test."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class MisbehavingRcon:
    """A Source RCON listener that accepts any password, then acts as ``mode`` says.

    Modes: ``garbage_reply`` answers each command with garbage bytes, ``garbage_at_login``
    sends garbage right after the login answer, ``silent`` never answers a command, ``good``
    answers every command with ``ok``.
    """

    def __init__(self) -> None:
        self.mode = "garbage_reply"
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            auth_id, _ = await _read_packet(reader)
            writer.write(protocol.encode(auth_id, protocol.AUTH_RESPONSE, b""))
            if self.mode == "garbage_at_login":
                writer.write(GARBAGE)
            await writer.drain()
            while True:
                request_id, _ = await _read_packet(reader)
                if self.mode in {"garbage_reply", "garbage_at_login"}:
                    writer.write(GARBAGE)
                elif self.mode == "good":
                    writer.write(protocol.encode(request_id, protocol.RESPONSE_VALUE, b"ok"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, int]:
    (size,) = struct.unpack("<i", await reader.readexactly(4))
    payload = await reader.readexactly(size)
    return struct.unpack_from("<ii", payload)


@pytest.fixture(name="rcon")
async def _rcon() -> AsyncIterator[MisbehavingRcon]:
    """A listener that accepts the login and then sends garbage."""
    server = MisbehavingRcon()
    await server.start()
    yield server
    await server.close()


def _link(rcon: MisbehavingRcon, clock: FakeClock, *, timeout_s: float = 2.0) -> RconLink:
    endpoint = Endpoint("127.0.0.1", rcon.port, SecretStr("any"), timeout_s)
    policy = BackoffPolicy(initial_s=1.0, max_s=30.0, jitter=0.0, auth_failure_s=300.0)
    return RconLink(endpoint, policy=policy, monotonic=clock)


async def _sample_every_second(link: RconLink, clock: FakeClock, seconds: int) -> None:
    """What the poller does: one command per sample, whatever the link answers."""
    for _ in range(seconds):
        with contextlib.suppress(RconUnavailable, RconConnectError, RconTimeout):
            await link.execute("/time")
        clock.now += 1.0


class TestGarbageAfterLogin:
    @pytest.mark.parametrize("mode", ["garbage_reply", "garbage_at_login"])
    async def test_garbage_after_a_good_login_backs_off(self, rcon: MisbehavingRcon, mode: str):
        """A server that logs in and then sends garbage is retried at 0, 1, 3, 7, 15, 31 s."""
        rcon.mode = mode
        clock = FakeClock()
        link = _link(rcon, clock)

        await _sample_every_second(link, clock, 61)
        await link.close()

        assert rcon.connections == 6
        assert link.state.failures == 6
        assert "malformed packet" in (link.state.last_error or "")

    async def test_silence_after_login_backs_off(self, rcon: MisbehavingRcon):
        """A server that accepts the login and then never answers is not reconnected at once."""
        rcon.mode = "silent"
        clock = FakeClock()
        link = _link(rcon, clock, timeout_s=0.2)

        with pytest.raises(RconTimeout):
            await link.execute("/time")
        with pytest.raises(RconUnavailable) as second:
            await link.execute("/time")
        await link.close()

        assert rcon.connections == 1
        assert second.value.retry_in_s == pytest.approx(1.0)

    async def test_only_a_good_reply_resets_the_backoff(self, rcon: MisbehavingRcon):
        """Logins do not reset the failure count; a good reply does (the next failure waits 1 s)."""
        clock = FakeClock()
        link = _link(rcon, clock)
        await _sample_every_second(link, clock, 8)  # attempts at 0, 1, 3, 7
        failures_before = link.state.failures

        rcon.mode = "good"
        clock.now += 8.0  # past the 8 s backoff
        reply = await link.execute("/time")
        failures_after_reply = link.state.failures
        rcon.mode = "garbage_reply"
        await link.close("test: force a reconnect")
        with pytest.raises(RconConnectError):
            await link.execute("/time")
        with pytest.raises(RconUnavailable) as unavailable:
            await link.execute("/time")
        await link.close()

        assert failures_before == 4
        assert reply == "ok"
        assert failures_after_reply == 0
        assert unavailable.value.retry_in_s == pytest.approx(1.0)

    async def test_a_proven_connection_that_breaks_reconnects_at_once(self, rcon: MisbehavingRcon):
        """A connection that had answered well and then breaks is reopened by the next command."""
        rcon.mode = "good"
        clock = FakeClock()
        link = _link(rcon, clock)
        await link.execute("/time")

        await link.close("test: server went away")
        reply = await link.execute("/time")
        await link.close()

        assert reply == "ok"
        assert rcon.connections == 2
        assert link.state.failures == 0
