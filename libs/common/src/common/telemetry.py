"""OpenTelemetry set-up: traces and metrics over OTLP/HTTP, a no-op unless configured.

Library code calls :func:`get_tracer` / :func:`get_meter`, which return OpenTelemetry's no-op
implementations until :func:`configure` installs real providers. Metric and span names are
declared once in :mod:`common.metric_names`.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import metrics, trace

from common.settings import OtelSettings

Shutdown = Callable[[], None]
"""Flushes and stops the exporters."""


def configure(settings: OtelSettings, *, service: str) -> Shutdown:
    """Install OTLP exporters when ``settings.endpoint`` is set; return their shutdown hook."""
    if not settings.endpoint:
        return lambda: None
    # Imported lazily: the exporters pull in protobuf and requests, which a service without an
    # endpoint never needs.
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
        OTLPMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    base = settings.endpoint.rstrip("/")
    resource = Resource.create({"service.name": f"isr-{service}", "service.namespace": "isr"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
        export_interval_millis=settings.export_interval_s * 1000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)

    def shutdown() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return shutdown


def get_tracer(name: str) -> trace.Tracer:
    """A tracer (no-op until configured)."""
    return trace.get_tracer(name)


def get_meter(name: str) -> metrics.Meter:
    """A meter (no-op until configured)."""
    return metrics.get_meter(name)
