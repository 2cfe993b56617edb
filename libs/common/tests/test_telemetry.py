import subprocess
import sys
import textwrap

from common import telemetry
from common.settings import OtelSettings


class TestConfigure:
    def test_no_endpoint_is_a_noop(self):
        """Without an endpoint or the Prometheus option nothing is installed: tracing stays off."""
        shutdown = telemetry.configure(OtelSettings(), service="t")

        assert not telemetry.tracing_enabled()
        assert telemetry.prometheus_text() is None
        shutdown()

    def test_resource_names_one_service_per_kind(self):
        """Every tailer is service.name isr-tailer (its server an attribute), with a version."""
        attributes = telemetry.resource_attributes(
            OtelSettings(instance_id="pod-7"), service="tailer-alpha"
        )
        assert attributes["service.name"] == "isr-tailer"
        assert attributes["isr.server"] == "alpha"
        assert attributes["service.instance.id"] == "pod-7"
        assert attributes["service.version"] == telemetry.service_version() != "0+unknown"
        assert telemetry.resource_attributes(OtelSettings(), service="parser")["service.name"] == (
            "isr-parser"
        )

    def test_spans_and_metrics_are_exported_over_otlp_http(self):
        """With an endpoint, spans and metrics reach an OTLP/HTTP receiver as protobuf.

        In a process of its own: OpenTelemetry's global providers can be set once per process.
        """
        script = textwrap.dedent(
            """
            import threading
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            from common import telemetry
            from common.metric_names import Metric
            from common.settings import OtelSettings

            received = []

            class Receiver(BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers["Content-Length"]))
                    received.append((self.path, self.headers["Content-Type"]))
                    self.send_response(200)
                    self.end_headers()

                def log_message(self, *args):
                    pass

            server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            shutdown = telemetry.configure(
                OtelSettings(endpoint=f"http://127.0.0.1:{server.server_port}",
                             export_interval_s=60),
                service="parser",
            )
            assert telemetry.tracing_enabled()
            with telemetry.get_tracer("t").start_as_current_span("work"):
                telemetry.counter(Metric.LINES_PARSED).add(1)
            shutdown()
            server.shutdown()
            print(sorted(set(received)))
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "('/v1/metrics', 'application/x-protobuf')" in result.stdout
        assert "('/v1/traces', 'application/x-protobuf')" in result.stdout
