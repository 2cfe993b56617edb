"""A server's RCON link: one persistent connection, reopened on demand with backoff.

:class:`RconLink` is what the poller and the command service share for one server. It opens
the connection on first use and keeps it. Failed attempts are spaced by
:class:`~rcon_poller.rcon.backoff.BackoffPolicy` (the common exponential backoff with jitter; a
long pause after a refused password), and commands fail fast with :class:`RconUnavailable` in
between instead of queueing, so nothing hammers a server that is down.

A successful login alone proves little: a server (or something else listening on the port) can
accept the password and then send garbage or nothing. So a connection counts as good only once
it has returned a well-formed reply, and only that resets the backoff. The rule:

- a refused, timed-out or rejected connection attempt counts as a failure;
- a connection that closes (malformed packet, timeout, reset) before its first good reply
  counts as a failure too: the next attempt waits its backoff;
- a connection that had answered well and then breaks (server restart, a command timed out)
  is reopened by the next command at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr

from rcon_poller import metrics
from rcon_poller.rcon.backoff import BackoffPolicy
from rcon_poller.rcon.client import (
    RconAuthError,
    RconConnectError,
    RconConnection,
    RconError,
    RconTimeout,
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server's RCON listens and how to log in."""

    host: str
    port: int
    password: SecretStr
    timeout_s: float
    """Timeout of connect + login, and the default timeout of one command."""


class RconUnavailable(RconError):
    """There is no connection and none could be made now; nothing was sent."""

    def __init__(self, reason: str, *, retry_in_s: float, is_auth_failure: bool) -> None:
        self.reason = reason
        self.retry_in_s = retry_in_s
        self.is_auth_failure = is_auth_failure
        super().__init__(f"RCON unavailable ({reason}); next attempt in {retry_in_s:.1f} s")


@dataclass(frozen=True, slots=True)
class LinkState:
    """A snapshot of the link, for health reports."""

    is_connected: bool
    connected_since: datetime | None
    last_error: str | None
    retry_in_s: float | None
    failures: int
    is_auth_failure: bool


class RconLink:
    """One server's RCON connection, reconnecting with backoff; safe for concurrent callers."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        policy: BackoffPolicy,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        server: str = "",
    ) -> None:
        self._endpoint = endpoint
        self._server = server
        """The server tag on this link's metrics."""
        self._schedule = policy.schedule(rng or random.Random())  # noqa: S311 - jitter
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._connection: RconConnection | None = None
        self._unproven: RconConnection | None = None
        """The current connection while it has not yet returned a good reply."""
        self._connected_since: datetime | None = None
        self._retry_at = 0.0
        self._last_error: str | None = None
        self._is_auth_failure = False

    @property
    def endpoint(self) -> Endpoint:
        """Where the link connects."""
        return self._endpoint

    @property
    def state(self) -> LinkState:
        """The link as it is now."""
        connection = self._connection
        is_connected = connection is not None and connection.is_open
        retry_in_s = None if is_connected else max(0.0, self._retry_at - self._monotonic())
        return LinkState(
            is_connected=is_connected,
            connected_since=self._connected_since if is_connected else None,
            last_error=self._last_error,
            retry_in_s=retry_in_s,
            failures=self._schedule.count,
            is_auth_failure=self._is_auth_failure,
        )

    async def update_endpoint(self, endpoint: Endpoint) -> None:
        """Use a new address or password; reconnects at once (a fixed password ends the pause)."""
        if endpoint == self._endpoint:
            return
        self._endpoint = endpoint
        self._schedule.reset()
        self._unproven = None
        self._retry_at = 0.0
        self._is_auth_failure = False
        await self.close("endpoint changed")

    async def execute(self, command: str, *, timeout_s: float | None = None) -> str:
        """Run one command, connecting first when needed.

        Raises:
            RconUnavailable: no connection could be made (or the link is backing off).
            RconTimeout: no answer in time; the connection was closed.
            RconConnectError: the connection broke while the command was in flight.
            CommandTooLong: the command is too long; nothing was sent.
        """
        connection = await self._connect()
        started_s = time.monotonic()
        try:
            reply = await connection.execute(
                command, timeout_s=self._endpoint.timeout_s if timeout_s is None else timeout_s
            )
        except (RconTimeout, RconConnectError) as exc:
            metrics.record_error(
                self._server, "timeout" if isinstance(exc, RconTimeout) else "connect"
            )
            self._last_error = str(exc)
            self._note_lost(connection, str(exc))
            raise
        finally:
            metrics.record_command(self._server, command, time.monotonic() - started_s)
        if self._unproven is connection:
            self._unproven = None
            self._schedule.reset()
            self._last_error = None
        return reply

    async def execute_many(
        self, commands: Sequence[str], *, timeout_s: float | None = None
    ) -> list[str]:
        """Run several commands pipelined on the one connection; replies in the same order."""
        await self._connect()
        results = await asyncio.gather(
            *(self.execute(c, timeout_s=timeout_s) for c in commands), return_exceptions=True
        )
        replies: list[str] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            replies.append(result)
        return replies

    async def close(self, reason: str = "closed") -> None:
        """Close the connection (the next command reconnects)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close(reason)

    def _note_lost(self, connection: RconConnection, reason: str) -> None:
        """Count a connection that broke before its first good reply as a failed attempt."""
        if self._unproven is not connection:
            return  # it had answered well (reconnect at once), or was counted already
        self._unproven = None
        self._last_error = reason
        self._is_auth_failure = False
        self._retry_at = self._monotonic() + self._schedule.next_delay_s(is_auth_failure=False)

    async def _connect(self) -> RconConnection:
        connection = self._connection
        if connection is not None and connection.is_open:
            return connection
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.is_open:
                return connection
            if connection is not None:
                # Closed by its reader while nobody was waiting (e.g. garbage after login).
                self._note_lost(connection, connection.closed_reason or "connection closed")
            now = self._monotonic()
            if now < self._retry_at:
                raise RconUnavailable(
                    self._last_error or "backing off",
                    retry_in_s=self._retry_at - now,
                    is_auth_failure=self._is_auth_failure,
                )
            endpoint = self._endpoint
            try:
                connection = await RconConnection.open(
                    endpoint.host,
                    endpoint.port,
                    endpoint.password.get_secret_value(),
                    timeout_s=endpoint.timeout_s,
                )
            except (RconConnectError, RconTimeout, RconAuthError) as exc:
                is_auth_failure = isinstance(exc, RconAuthError)
                metrics.record_error(self._server, _error_kind(exc))
                self._is_auth_failure = is_auth_failure
                self._last_error = str(exc)
                delay_s = self._schedule.next_delay_s(is_auth_failure=is_auth_failure)
                self._retry_at = self._monotonic() + delay_s
                raise RconUnavailable(
                    str(exc), retry_in_s=delay_s, is_auth_failure=is_auth_failure
                ) from exc
            # The backoff is reset by the first good reply, not by the login (see above).
            if self._connected_since is not None:
                metrics.record_reconnect(self._server)
            self._connection = connection
            self._unproven = connection
            self._connected_since = datetime.now(UTC)
            self._is_auth_failure = False
            return connection


def _error_kind(exc: RconError) -> str:
    if isinstance(exc, RconAuthError):
        return "auth"
    return "timeout" if isinstance(exc, RconTimeout) else "connect"
