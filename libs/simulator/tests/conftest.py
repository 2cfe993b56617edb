"""Fixtures for the simulator tests: a running simulated server and a raw RCON client."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from simulator import Packet, ServerSettings, SimulatedServer, encode_packet
from simulator.rcon_protocol import AUTH, EXECCOMMAND

PASSWORD = "s3cret-pw"


class RawRconClient:
    """A deliberately plain RCON client: writes packets, reads exactly one packet per call."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 1

    async def send(self, type_: int, body: str | bytes, request_id: int | None = None) -> int:
        """Send one packet; returns its id."""
        if request_id is None:
            request_id = self.next_id
            self.next_id += 1
        data = body.encode() if isinstance(body, str) else body
        self.writer.write(encode_packet(Packet(request_id, type_, data)))
        await self.writer.drain()
        return request_id

    async def read(self, timeout_s: float = 5.0) -> Packet:
        """Read one whole packet (size first, then exactly that many bytes)."""

        async def read_one() -> Packet:
            (size,) = struct.unpack("<i", await self.reader.readexactly(4))
            payload = await self.reader.readexactly(size)
            request_id, type_ = struct.unpack_from("<ii", payload)
            assert payload[-2:] == b"\x00\x00"
            return Packet(request_id, type_, payload[8:-2])

        return await asyncio.wait_for(read_one(), timeout_s)

    async def is_closed_by_server(self, timeout_s: float = 5.0) -> bool:
        """True when the server closes the connection (EOF) within the timeout."""
        data = await asyncio.wait_for(self.reader.read(1), timeout_s)
        return data == b""

    async def login(self, password: str = PASSWORD) -> Packet:
        """Authenticate and return the AUTH_RESPONSE."""
        await self.send(AUTH, password)
        return await self.read()

    async def command(self, text: str) -> str:
        """Run a command and return the reply body (checks the id matches)."""
        request_id = await self.send(EXECCOMMAND, text)
        reply = await self.read()
        assert reply.request_id == request_id
        return reply.text

    async def close(self) -> None:
        """Close the socket."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


Connect = Callable[..., Awaitable[RawRconClient]]


MakeServer = Callable[..., Awaitable[SimulatedServer]]


@pytest.fixture(name="password")
def _password() -> str:
    """The RCON password of test servers."""
    return PASSWORD


@pytest.fixture(name="make_server")
async def _make_server(tmp_path: Path) -> AsyncIterator[MakeServer]:
    """Start simulated servers (real clock, free port, known password); stops them afterwards."""
    servers: list[SimulatedServer] = []

    async def make_server(**overrides: object) -> SimulatedServer:
        values: dict[str, object] = {
            "log_path": tmp_path / f"server{len(servers)}" / "console.log",
            "rcon_port": 0,
            "rcon_password": PASSWORD,
        }
        values.update(overrides)
        server = SimulatedServer(ServerSettings(**values))  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    yield make_server
    for server in servers:
        await server.stop()


@pytest.fixture(name="server")
async def _server(make_server: MakeServer) -> SimulatedServer:
    """A running simulated server whose save already ran Lua (no achievements warning)."""
    return await make_server(is_achievements_enabled=False)


@pytest.fixture(name="connect")
async def _connect(server: SimulatedServer) -> AsyncIterator[Connect]:
    """Open raw clients (to `server` unless another is given), logged in unless login=False."""
    clients: list[RawRconClient] = []

    async def connect(
        *, login: bool = True, to: SimulatedServer | None = None, password: str = PASSWORD
    ) -> RawRconClient:
        port = (to or server).rcon_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = RawRconClient(reader, writer)
        clients.append(client)
        if login:
            reply = await client.login(password)
            assert reply.request_id != -1
        return client

    yield connect
    for client in clients:
        await client.close()


@pytest.fixture(name="log_text")
def _log_text() -> Callable[[SimulatedServer], str]:
    """Read everything a server wrote to its console log so far."""

    def log_text(server: SimulatedServer) -> str:
        return server.settings.log_path.read_text(encoding="utf-8")

    return log_text
