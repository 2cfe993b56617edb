"""One authenticated RCON connection: pipelined commands matched by id, exact-length reads.

:class:`RconConnection` writes each command as soon as it is called and matches replies to
callers by request id (non-zero, increasing), so the poller's few commands per sample share
one round trip. A background reader reads exactly ``size`` bytes per packet, however Factorio's
large replies are split into TCP segments (facts §4.2); it never sends the empty
"fragment detection" command that hangs conqp's ``rcon`` on Factorio.

A command that gets no answer within its timeout fails with :class:`RconTimeout` **and closes
the connection**: Factorio answers in order, so every later command on this connection would
wait behind the missing reply, and a half-open TCP connection never recovers by itself.
Callers reconnect (see :mod:`rcon_poller.rcon.link`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from rcon_poller.rcon import protocol

MAX_COMMAND_BYTES: Final = 4096
"""Factorio dropped sessions on commands over ~4 KB (facts §4.2)."""
MAX_REPLY_BYTES: Final = 64 * 1024 * 1024
"""Largest reply accepted before the connection is treated as corrupt."""


class RconError(Exception):
    """Root of the client's errors."""


class RconConnectError(RconError):
    """The TCP connection could not be opened or was lost."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class RconAuthError(RconError):
    """Factorio refused the password (the password is never part of the message)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(f"RCON at {host}:{port} refused the password")


class RconTimeout(RconError):
    """No answer within the timeout; the connection was closed."""

    def __init__(self, what: str, timeout_s: float) -> None:
        self.what = what
        self.timeout_s = timeout_s
        super().__init__(f"no answer to {what} within {timeout_s:g} s")


class CommandTooLong(RconError):
    """The command is longer than Factorio accepts; nothing was sent."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"command of {size} bytes exceeds {MAX_COMMAND_BYTES}")


class RconConnection:
    """An open, authenticated connection; build it with :meth:`open`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._last_id = 0
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._closed_reason: str | None = None
        self._reader_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, password: str, *, timeout_s: float) -> RconConnection:
        """Connect and authenticate within ``timeout_s``.

        Raises:
            RconConnectError: connection refused, reset or closed during login.
            RconAuthError: the password was refused.
            RconTimeout: no answer in time (e.g. a server that is saving).
        """
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        except TimeoutError as exc:
            raise RconTimeout(f"connect to {host}:{port}", timeout_s) from exc
        except OSError as exc:
            raise RconConnectError(f"connect to {host}:{port}: {exc.strerror or exc}") from exc
        connection = cls(reader, writer)
        try:
            await asyncio.wait_for(connection._authenticate(host, port, password), timeout_s)
        except TimeoutError as exc:
            await connection.close("login timed out")
            raise RconTimeout(f"login at {host}:{port}", timeout_s) from exc
        except BaseException:
            await connection.close("login failed")
            raise
        connection._reader_task = asyncio.create_task(connection._read_loop())
        return connection

    async def _authenticate(self, host: str, port: int, password: str) -> None:
        request_id = self._next_id()
        self._writer.write(protocol.encode(request_id, protocol.AUTH, password.encode("utf-8")))
        try:
            await self._writer.drain()
            while True:
                packet = await self._read_packet()
                # Source servers may send an empty RESPONSE_VALUE first; Factorio does not,
                # but tolerating it costs nothing (facts §4.1).
                if packet.type == protocol.AUTH_RESPONSE:
                    break
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise RconConnectError(f"connection to {host}:{port} closed during login") from exc
        if packet.request_id == protocol.AUTH_FAILED_ID:
            raise RconAuthError(host, port)
        if packet.request_id != request_id:
            raise RconConnectError(f"login answer had id {packet.request_id}, not {request_id}")

    @property
    def is_open(self) -> bool:
        """True until the connection is closed or lost."""
        return self._closed_reason is None

    @property
    def closed_reason(self) -> str | None:
        """Why the connection closed (e.g. a malformed packet), or None while it is open."""
        return self._closed_reason

    async def execute(self, command: str, *, timeout_s: float) -> str:
        """Run one console command and return its reply body (often empty).

        Raises:
            CommandTooLong: over :data:`MAX_COMMAND_BYTES`; nothing was sent.
            ValueError: a blank command (Factorio never answers one, facts §4.2).
            RconTimeout: no answer in time; the connection is now closed.
            RconConnectError: the connection is (or got) closed.
        """
        if not command.strip():
            raise ValueError("Factorio never answers a blank command")
        body = command.encode("utf-8")
        if len(body) > MAX_COMMAND_BYTES:
            raise CommandTooLong(len(body))
        if self._closed_reason is not None:
            raise RconConnectError(self._closed_reason)
        request_id = self._next_id()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._writer.write(protocol.encode(request_id, protocol.EXECCOMMAND, body))
            try:
                async with asyncio.timeout(timeout_s):
                    await self._writer.drain()
                    reply = await future
            except TimeoutError as exc:
                await self.close(f"no answer within {timeout_s:g} s")
                raise RconTimeout(_describe(command), timeout_s) from exc
            except OSError as exc:
                await self.close(f"write failed: {exc}")
                raise RconConnectError(f"write failed: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)
        return reply.decode("utf-8", errors="replace")

    async def close(self, reason: str = "closed") -> None:
        """Close the connection; every waiting command fails with :class:`RconConnectError`."""
        if self._closed_reason is None:
            self._closed_reason = reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RconConnectError(self._closed_reason))
        self._pending.clear()
        self._writer.transport.abort()
        task = self._reader_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _next_id(self) -> int:
        self._last_id = protocol.next_request_id(self._last_id)
        return self._last_id

    async def _read_packet(self) -> protocol.Packet:
        head = await self._reader.readexactly(protocol.SIZE_FIELD_BYTES)
        size = protocol.parse_size(head, max_size=MAX_REPLY_BYTES)
        return protocol.parse_payload(await self._reader.readexactly(size))

    async def _read_loop(self) -> None:
        reason = "connection closed by the server"
        try:
            while True:
                packet = await self._read_packet()
                future = self._pending.get(packet.request_id)
                # A reply nobody waits for (its caller timed out) is dropped.
                if future is not None and not future.done():
                    future.set_result(packet.body)
        except asyncio.CancelledError:
            return
        except (OSError, asyncio.IncompleteReadError):
            pass
        except protocol.FramingError as exc:
            reason = f"malformed packet: {exc.reason}"
        await self.close(reason)


def _describe(command: str) -> str:
    """A short, log-safe name for a command (its first word)."""
    head = command.split(" ", 1)[0]
    return head[:40] if head.startswith("/") else "chat text"
