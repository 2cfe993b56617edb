import asyncio

from aiohttp import web

from common import telemetry
from common.settings import OtelSettings


class TestConfigure:
    def test_no_endpoint_is_a_noop(self):
        """Without an endpoint nothing is installed and spans cost nothing."""
        shutdown = telemetry.configure(OtelSettings(), service="t")

        with telemetry.get_tracer(__name__).start_as_current_span("x") as span:
            assert not span.is_recording()
        shutdown()

    async def test_spans_and_metrics_are_exported_over_otlp_http(self):
        """With an endpoint, spans and metrics reach an OTLP/HTTP receiver as protobuf."""
        received: list[tuple[str, str]] = []

        async def collect(request: web.Request) -> web.Response:
            received.append((request.path, request.content_type))
            await request.read()
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/v1/traces", collect)
        app.router.add_post("/v1/metrics", collect)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            shutdown = telemetry.configure(
                OtelSettings(endpoint=f"http://127.0.0.1:{port}", export_interval_s=60),
                service="t",
            )
            with telemetry.get_tracer(__name__).start_as_current_span("work"):
                telemetry.get_meter(__name__).create_counter("isr.test.counter").add(1)
            # The exporters block; run the flush off the loop so the receiver can answer.
            await asyncio.to_thread(shutdown)
        finally:
            await runner.cleanup()

        assert ("/v1/traces", "application/x-protobuf") in received
        assert ("/v1/metrics", "application/x-protobuf") in received
