"""Per-service HTTP health server: ``/healthz`` (alive), ``/readyz`` (dependencies), ``/metrics``.

``/healthz`` answers 200 as long as the event loop runs. ``/readyz`` runs every registered check
concurrently (each bounded by a timeout) and answers 200 when all pass, or 503 naming each
failing part and why, e.g. ``{"status": "not ready", "failing": {"nats": "disconnected"}}``.
``/metrics`` (only with ``ISR_HEALTH_METRICS=true``) serves the process's metrics in Prometheus
text format, collected at the scrape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from common.redaction import redact_text

Check = Callable[[], Awaitable[str | None]]
"""A readiness check: returns None when healthy, else a short reason."""

_CHECK_TIMEOUT_S = 2.0
_PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class HealthServer:
    """Serves liveness and readiness for one service process."""

    def __init__(
        self,
        *,
        service: str,
        host: str,
        port: int,
        metrics: Callable[[], bytes | None] | None = None,
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._host = host
        self._port = port
        self._checks: dict[str, Check] = {}
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None
        """The port actually bound (useful with port 0)."""

    def add_check(self, name: str, check: Check) -> None:
        """Register a readiness check under ``name`` (shown in the 503 body when it fails)."""
        self._checks[name] = check

    async def readiness(self) -> dict[str, str]:
        """Run every check; return the failing ones with their reasons."""

        async def run(check: Check) -> str | None:
            try:
                return await asyncio.wait_for(check(), _CHECK_TIMEOUT_S)
            except TimeoutError:
                return f"no answer within {_CHECK_TIMEOUT_S:g} s"
            except Exception as exc:  # a check that raises is a failing check, not a crash
                return redact_text(f"{type(exc).__name__}: {exc}")

        names = list(self._checks)
        results = await asyncio.gather(*(run(self._checks[n]) for n in names))
        return {name: reason for name, reason in zip(names, results, strict=True) if reason}

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "service": self._service})

    async def _readyz(self, _request: web.Request) -> web.Response:
        failing = await self.readiness()
        if failing:
            return web.json_response(
                {"status": "not ready", "service": self._service, "failing": failing}, status=503
            )
        return web.json_response(
            {"status": "ready", "service": self._service, "checks": sorted(self._checks)}
        )

    async def _serve_metrics(self, _request: web.Request) -> web.Response:
        assert self._metrics is not None
        # Collection runs the gauges' readings and walks every series: off the event loop.
        body = await asyncio.to_thread(self._metrics)
        if body is None:
            return web.Response(status=404, text="metrics are not configured\n")
        return web.Response(body=body, headers={"Content-Type": _PROMETHEUS_TEXT})

    async def start(self) -> None:
        """Bind and serve in the background."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        if self._metrics is not None:
            app.router.add_get("/metrics", self._serve_metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes no public accessor for the port
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
