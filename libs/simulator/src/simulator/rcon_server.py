"""An asyncio Source RCON server that behaves like Factorio's, plus the controls tests need.

Protocol behaviour (facts §4.1, §4.2): the first packet a client gets is the AUTH_RESPONSE
(no empty RESPONSE_VALUE before it); a wrong password is answered with id -1; every command
gets exactly one RESPONSE_VALUE with the request's id however large the body, except an empty
command, which gets nothing at all; pipelined requests on one connection are answered in order
and several connections are served at once. Our assumptions where the facts are silent: the
connection is closed after a refused password, after a command sent before logging in, and
after a request larger than `max_command_bytes` (Factorio drops such sessions, facts §4.2).

Controls: `stall()`/`release()` (keep accepting and reading, answer nothing: what a saving
server does, facts §4.4), `drop_connections()`, `restart()` (drop everything and listen again on
the same port), `refuse()` (close the listener so connects are refused) and `set_password()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final

from common.internal_errors import report_internal_error
from simulator.rcon_protocol import (
    AUTH,
    AUTH_FAILED_ID,
    AUTH_RESPONSE,
    EXECCOMMAND,
    MIN_PAYLOAD_SIZE,
    RESPONSE_VALUE,
    Packet,
    RconProtocolError,
    encode_packet,
    read_packet,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["DEFAULT_MAX_COMMAND_BYTES", "RconServer"]

#: Largest command body accepted; Factorio dropped sessions on commands over ~4 KB (facts §4.2).
DEFAULT_MAX_COMMAND_BYTES: Final = 4096


class RconServer:
    """Serves RCON on `host:port` (port 0 picks a free one, kept across `restart`).

    `handler` runs one authenticated command and returns the reply body, or None to send no
    packet; `on_connect` is called with the peer's host and port for each accepted connection.
    """

    def __init__(
        self,
        handler: Callable[[str], Awaitable[str | None]],
        *,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        max_command_bytes: int = DEFAULT_MAX_COMMAND_BYTES,
        on_connect: Callable[[str, int], None] | None = None,
    ) -> None:
        self._handler = handler
        self._password = password
        self.host = host
        self._port = port
        self._max_payload_size = MIN_PAYLOAD_SIZE + max_command_bytes
        self._on_connect = on_connect
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._running = asyncio.Event()
        self._running.set()
        self.commands_received = 0

    @property
    def port(self) -> int:
        """The bound port (after `start`), or the configured one before."""
        return self._port

    @property
    def is_listening(self) -> bool:
        """True while new connections are accepted."""
        return self._server is not None

    @property
    def is_stalled(self) -> bool:
        """True between `stall()` and `release()`."""
        return not self._running.is_set()

    @property
    def connection_count(self) -> int:
        """Connections currently open."""
        return len(self._connections)

    async def start(self) -> None:
        """Start listening (again); no-op when already listening."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self.host, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Close the listener: new connections are refused, open ones keep working."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def drop_connections(self) -> None:
        """Close every open connection at once, as a crashed or restarting server does."""
        tasks = list(self._connections)
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def restart(self) -> None:
        """Drop all connections, close the listener and listen again on the same port."""
        await self.refuse()
        await self.drop_connections()
        await self.start()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        await self.refuse()
        await self.drop_connections()

    def stall(self) -> None:
        """Keep accepting and reading, but answer nothing until `release()`."""
        self._running.clear()

    def release(self) -> None:
        """Answer again, including everything that queued up while stalled."""
        self._running.set()

    def set_password(self, password: str) -> None:
        """Change the password for logins from now on; open sessions stay logged in."""
        self._password = password

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            peer = writer.get_extra_info("peername") or ("?", 0)
            if self._on_connect is not None:
                self._on_connect(str(peer[0]), int(peer[1]))
            await self._session(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, RconProtocolError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            report_internal_error(exc, "simulator RCON session")
        finally:
            self._connections.pop(task, None)
            writer.transport.abort()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        is_authenticated = False
        while True:
            packet = await read_packet(reader, max_payload_size=self._max_payload_size)
            await self._running.wait()
            if packet.type == AUTH:
                if packet.text != self._password:
                    await _send(writer, Packet(AUTH_FAILED_ID, AUTH_RESPONSE))
                    return
                is_authenticated = True
                await _send(writer, Packet(packet.request_id, AUTH_RESPONSE))
            elif packet.type == EXECCOMMAND:
                if not is_authenticated:
                    return
                self.commands_received += 1
                reply = await self._handler(packet.text)
                if reply is None:
                    continue
                await self._running.wait()
                await _send(writer, Packet.of_text(packet.request_id, RESPONSE_VALUE, reply))


async def _send(writer: asyncio.StreamWriter, packet: Packet) -> None:
    writer.write(encode_packet(packet))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
