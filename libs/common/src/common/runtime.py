"""What every service's ``run()`` sets up the same way.

:class:`ServiceRuntime` is entered once in ``run()``: it configures logging and telemetry,
installs SIGTERM/SIGINT handlers that set :attr:`ServiceRuntime.stop`, starts the health server,
connects to NATS (reconnecting forever) and creates the declared streams and buckets. Leaving the
context tears it down in reverse order after the service has drained its own work.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self, TypeVar

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from common import logging as isr_logging
from common import telemetry
from common.access import access_for
from common.backoff import Backoff, sleep_until_stop
from common.health import HealthServer
from common.nats_auth import NatsAuthError, connect_options
from common.redaction import redact_text
from common.settings import NatsSettings, RuntimeSettings
from common.topology import Topology

T = TypeVar("T")

log = structlog.get_logger()

_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.NoServersError,
    nats.js.errors.ServiceUnavailableError,
)
"""What NATS (or JetStream) being down or restarting looks like to a request."""


class StoppedBeforeStart(SystemExit):
    """A stop was requested while the service was still waiting for NATS.

    A :class:`SystemExit` with status 0 on purpose: nothing had started, so there is nothing to
    drain, and every entry point (``isr <service>``, ``python -m <service>``, ``isr up``'s
    children) then exits cleanly without a traceback.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(0)

    def __str__(self) -> str:
        return f"stopped while waiting for {self.what}"


class NatsAuthExit(SystemExit):
    """A credential or TLS file named in the settings is unusable: exit 2, naming it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(2)

    def __str__(self) -> str:
        return self.reason


def inbox_prefix(identity: str) -> str:
    """The reply-subject prefix of one identity: ``_INBOX.<identity>``.

    Each service takes replies under its own prefix, so the authorisation model can let it
    subscribe to its own replies only (no service can read another's RCON or query answers).
    """
    return f"_INBOX.{identity}"


async def connect_nats(
    settings: NatsSettings,
    *,
    name: str,
    stopping: asyncio.Event | None = None,
    identity: str | None = None,
) -> NatsClient:
    """Connect to NATS, retrying until it answers; reconnects forever afterwards.

    ``stopping`` tells a planned disconnect (draining at shutdown) from a lost connection, and
    ends the retries: a stop while NATS has never answered raises :class:`StoppedBeforeStart`.
    ``identity`` (the service's name in the authorisation model) sets the inbox prefix.
    The credentials and TLS come from ``settings`` (:mod:`common.nats_auth`); an unusable file
    raises :class:`NatsAuthExit`, and an authorisation failure is retried like an outage (the
    operator may be fixing the server's config), logged as ``nats_unreachable`` with
    ``error=AuthorizationError``.
    """
    try:
        auth = connect_options(settings)
    except NatsAuthError as exc:
        log.error("nats_auth_invalid", error=str(exc))
        raise NatsAuthExit(str(exc)) from None
    if identity is not None:
        auth["inbox_prefix"] = inbox_prefix(identity)

    async def on_error(exc: Exception) -> None:
        log.warning("nats_error", error=redact_text(str(exc)) or type(exc).__name__)

    async def on_disconnected() -> None:
        if stopping is not None and stopping.is_set():
            log.info("nats_closed")
        else:
            log.warning("nats_disconnected")

    async def on_reconnected() -> None:
        log.info("nats_reconnected")

    backoff = Backoff(
        initial_s=settings.reconnect_wait_s, max_s=max(settings.reconnect_wait_s, 5.0)
    )
    while True:
        try:
            connecting = nats.connect(
                servers=settings.servers,
                name=name,
                connect_timeout=settings.connect_timeout_s,
                reconnect_time_wait=settings.reconnect_wait_s,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                # Publishes made while disconnected wait in this buffer and go out on reconnect.
                pending_size=64 * 1024 * 1024,
                **auth,
            )
            return await _unless_stopped(connecting, stopping)
        except (
            OSError,
            TimeoutError,
            nats.errors.NoServersError,
            nats.errors.AuthorizationError,
        ) as exc:
            # nats-py gives up on a failed *first* connect; a service started before its
            # nats-server (isr up, Kubernetes) keeps trying instead of crash-looping.
            delay_s = backoff.next_delay_s()
            log.warning("nats_unreachable", retry_in_s=round(delay_s, 2), error=type(exc).__name__)
            if stopping is None:
                await asyncio.sleep(delay_s)
            elif await sleep_until_stop(stopping, delay_s):
                raise StoppedBeforeStart("NATS") from exc


async def _unless_stopped(
    connecting: Awaitable[NatsClient], stopping: asyncio.Event | None
) -> NatsClient:
    """Await the first connect, abandoning it when a stop comes first.

    nats-py keeps retrying a first connect by itself while reconnects are allowed, so a stop
    must be able to end that wait, or SIGTERM would not stop a service whose NATS never came.
    """
    task = asyncio.ensure_future(connecting)
    if stopping is None:
        return await task
    stop_wait = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_wait.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    raise StoppedBeforeStart("NATS")


async def retry_through_outage(
    stop: asyncio.Event, what: str, attempt: Callable[[], Awaitable[T]]
) -> T:
    """Run ``attempt`` until it succeeds, waiting out NATS outages of any length.

    Only outage errors (connection lost, timeouts, no responders, JetStream unavailable) are
    retried, with :class:`~common.backoff.Backoff`; anything else is a real error and raised.
    A stop during the wait raises :class:`StoppedBeforeStart`.
    """
    backoff = Backoff(initial_s=0.2, max_s=5.0)
    while True:
        try:
            return await attempt()
        except _OUTAGE_ERRORS as exc:
            delay_s = backoff.next_delay_s()
            log.warning(
                "nats_request_failed", what=what, retry_in_s=round(delay_s, 2), error=repr(exc)
            )
            if await sleep_until_stop(stop, delay_s):
                raise StoppedBeforeStart(what) from exc


def install_stop_signals(stop: asyncio.Event) -> None:
    """Make SIGTERM and SIGINT set ``stop`` (a second signal is left to the default handler)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):

        def handler(sig: signal.Signals = sig) -> None:
            log.info("stop_requested", signal=sig.name)
            stop.set()
            loop.remove_signal_handler(sig)

        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler)


class ServiceRuntime:
    """Logging, telemetry, signals, health server and NATS for one service process."""

    def __init__(
        self,
        service: str,
        settings: RuntimeSettings,
        *,
        configure_logging: bool = True,
        handle_signals: bool = True,
    ) -> None:
        self.service = service
        self.settings = settings
        self.topology = Topology(settings.pipeline.prefix, retention=settings.streams.retention())
        self.stop = asyncio.Event()
        """Set when the service should stop fetching new work and drain."""
        self.health = HealthServer(
            service=service,
            host=settings.health.host,
            port=settings.health.port,
            metrics=telemetry.prometheus_text if settings.health.metrics else None,
        )
        self._configure_logging = configure_logging
        self._handle_signals = handle_signals
        self._otel_shutdown: telemetry.Shutdown = lambda: None
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        access = access_for(self.topology, service)
        # A known identity sets up only the streams and buckets its permissions cover (the
        # others it may not even look at); an unknown one (a test's) sets up everything.
        self.streams: tuple[str, ...] | None = None if access is None else access.streams
        """The streams this service creates when missing and checks for readiness."""
        self.buckets: tuple[str, ...] | None = None if access is None else access.buckets
        """The KV buckets this service creates when missing."""

    @property
    def nc(self) -> NatsClient:
        """The NATS connection."""
        assert self._nc is not None, "ServiceRuntime not entered"
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context."""
        assert self._js is not None, "ServiceRuntime not entered"
        return self._js

    async def __aenter__(self) -> Self:
        if self._configure_logging:
            isr_logging.configure(self.settings.log, service=self.service)
        self._otel_shutdown = telemetry.configure(
            self.settings.otel, service=self.service, prometheus=self.settings.health.metrics
        )
        if self._handle_signals:
            install_stop_signals(self.stop)
        if self.settings.health.enabled:
            await self.health.start()
            log.info("health_server_started", port=self.health.bound_port)
        try:
            self._nc = await connect_nats(
                self.settings.nats,
                name=f"isr-{self.service}",
                stopping=self.stop,
                identity=self.service,
            )
            js = self._js = self._nc.jetstream()
            await retry_through_outage(
                self.stop,
                "streams",
                lambda: self.topology.ensure(js, streams=self.streams, buckets=self.buckets),
            )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self.health.add_check("nats", self._check_nats)
        self.health.add_check("streams", self._check_streams)
        log.info("service_started", prefix=self.topology.prefix)
        return self

    async def _check_nats(self) -> str | None:
        if self._nc is None or not self._nc.is_connected:
            return "disconnected"
        return None

    async def _check_streams(self) -> str | None:
        if self._nc is None or not self._nc.is_connected:
            return "unknown while NATS is disconnected"
        missing = await self.topology.missing_streams(self.js, streams=self.streams)
        return f"missing {', '.join(missing)}" if missing else None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                # drain() flushes pending publishes and acks before closing.
                await asyncio.wait_for(self._nc.drain(), self.settings.shutdown_grace_s)
            if not self._nc.is_closed:
                # Stopping during a NATS outage: closing flushes into a lost transport and
                # raises; there is nothing left to send, so the service still exits cleanly.
                with contextlib.suppress(OSError, nats.errors.Error):
                    await self._nc.close()
        await self.health.stop()
        self._otel_shutdown()
        log.info("service_stopped")
