"""OpenTelemetry set-up: traces and metrics over OTLP/HTTP, metrics on ``/metrics``, or nothing.

Library code takes instruments from :func:`counter`, :func:`histogram` and
:func:`observe_gauge` (each named by a :class:`~common.metric_names.Metric`, whose unit,
description and bucket boundaries come from :data:`~common.metric_names.SPECS`) and tracers
from :func:`get_tracer`. They are OpenTelemetry's no-op proxies until :func:`configure`
installs real providers, so a service without telemetry pays nothing but a method call.

What :func:`configure` installs, from :class:`~common.settings.OtelSettings`:

- ``ISR_OTLP_ENDPOINT`` set: a tracer provider (parent-based ratio sampler, batch span
  processor) and a periodic OTLP metric reader.
- ``ISR_HEALTH_METRICS=true``: a Prometheus reader, rendered by :func:`prometheus_text` on the
  health server's ``/metrics`` (collected on scrape, so gauges are read then).

Resource attributes: ``service.name`` is ``isr-<kind>`` (one name per service kind: every
tailer is ``isr-tailer`` and tells its server in the ``server`` attribute),
``service.namespace`` ``isr``, ``service.instance.id``, ``service.version``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from common.metric_names import SPECS, Metric
from common.settings import OtelSettings

Shutdown = Callable[[], None]
"""Flushes and stops the exporters."""

_state: dict[str, object] = {"tracing": False, "prometheus": None}


def service_kind(service: str) -> str:
    """The service kind of a runtime name: ``tailer-alpha`` → ``tailer``, ``parser`` → itself."""
    return "tailer" if service.startswith("tailer-") else service


def service_version() -> str:
    """The installed version of the project (the ``isr-common`` distribution)."""
    try:
        return metadata.version("isr-common")
    except metadata.PackageNotFoundError:  # running from a source tree without metadata
        return "0+unknown"


def resource_attributes(settings: OtelSettings, *, service: str) -> dict[str, str]:
    """The OTel resource of one process (see the module docstring)."""
    attributes = {
        "service.name": f"isr-{service_kind(service)}",
        "service.namespace": "isr",
        "service.instance.id": settings.instance_id or f"{socket.gethostname()}-{os.getpid()}",
        "service.version": service_version(),
    }
    if service_kind(service) == "tailer":
        attributes["isr.server"] = service.removeprefix("tailer-")
    return attributes


def configure(settings: OtelSettings, *, service: str, prometheus: bool = False) -> Shutdown:
    """Install the exporters the settings ask for; return their shutdown hook.

    ``prometheus``: also keep metrics for :func:`prometheus_text` (``ISR_HEALTH_METRICS``).
    OpenTelemetry's global providers can be set once per process; a second call installs
    nothing and returns a no-op.
    """
    if not settings.endpoint and not prometheus:
        return lambda: None
    # Imported lazily: the SDK and exporters pull in protobuf and requests, which a service
    # without telemetry never needs.
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import MetricReader  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415

    if _state.get("configured"):
        return lambda: None
    _state["configured"] = True
    resource = Resource.create(resource_attributes(settings, service=service))
    readers: list[MetricReader] = []
    tracer_provider = None
    if settings.endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
            OTLPMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.metrics.export import (  # noqa: PLC0415
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
        from opentelemetry.sdk.trace.sampling import (  # noqa: PLC0415
            ParentBased,
            TraceIdRatioBased,
        )

        base = settings.endpoint.rstrip("/")
        tracer_provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.traces_sample_ratio))
        )
        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
        )
        trace.set_tracer_provider(tracer_provider)
        _state["tracing"] = True
        readers.append(
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
                export_interval_millis=settings.export_interval_s * 1000,
            )
        )
    if prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415
        from prometheus_client import CollectorRegistry  # noqa: PLC0415

        # A registry of our own: prometheus_client's global one would add the client's
        # process and GC collectors under names we do not document.
        registry = CollectorRegistry(auto_describe=True)
        reader = PrometheusMetricReader()
        # The reader registers its collector in the global registry; move it to ours.
        from prometheus_client import REGISTRY  # noqa: PLC0415

        collector = reader._collector  # noqa: SLF001 - the reader exposes no registry option
        REGISTRY.unregister(collector)
        registry.register(collector)
        _state["prometheus"] = registry
        readers.append(reader)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    metrics.set_meter_provider(meter_provider)

    def shutdown() -> None:
        if tracer_provider is not None:
            tracer_provider.shutdown()
        meter_provider.shutdown()

    return shutdown


def tracing_enabled() -> bool:
    """True once a real tracer provider is installed: callers skip header work otherwise."""
    return bool(_state["tracing"])


def prometheus_text() -> bytes | None:
    """The current metrics in Prometheus text format, or None when the option is off."""
    registry = _state["prometheus"]
    if registry is None:
        return None
    from prometheus_client import generate_latest  # noqa: PLC0415

    return generate_latest(registry)  # type: ignore[arg-type]


def get_tracer(name: str) -> trace.Tracer:
    """A tracer (no-op until configured)."""
    return trace.get_tracer(name)


def get_meter(name: str) -> metrics.Meter:
    """A meter (no-op until configured)."""
    return metrics.get_meter(name)


_meter = metrics.get_meter("isr")


def _checked(metric: Metric, kind: str) -> None:
    actual = SPECS[metric].kind
    if actual != kind:
        msg = f"{metric} is declared as a {actual}, not a {kind} (common.metric_names.SPECS)"
        raise TypeError(msg)


_instruments: dict[Metric, object] = {}


def counter(metric: Metric) -> metrics.Counter:
    """The counter for ``metric``, with its declared unit and description (one per process)."""
    _checked(metric, "counter")
    if metric not in _instruments:
        spec = SPECS[metric]
        _instruments[metric] = _meter.create_counter(
            metric.value, unit=spec.unit, description=spec.description
        )
    return _instruments[metric]  # type: ignore[return-value]


def histogram(metric: Metric) -> metrics.Histogram:
    """The histogram for ``metric``: declared unit, description and boundaries (one per process)."""
    _checked(metric, "histogram")
    if metric not in _instruments:
        spec = SPECS[metric]
        _instruments[metric] = _meter.create_histogram(
            metric.value,
            unit=spec.unit,
            description=spec.description,
            explicit_bucket_boundaries_advisory=list(spec.buckets) if spec.buckets else None,
        )
    return _instruments[metric]  # type: ignore[return-value]


GaugeReading = Callable[[], Iterable[tuple[float, dict[str, str]]]]
"""Returns the current (value, attributes) pairs of a gauge; called at each collection."""

_gauges: dict[Metric, tuple[metrics.ObservableGauge, list[GaugeReading]]] = {}


def observe_gauge(metric: Metric, reading: GaugeReading) -> Callable[[], None]:
    """Report ``metric``'s values from ``reading`` at every collection; returns an undo.

    One observable gauge exists per metric; every part of the process that has values for it
    (two intakes' consumer lag, the poller's servers) adds a reading. A reading must be cheap
    and must not block (it runs in the exporter's thread): read a value the service already
    keeps (the poller's last sample, the intake's last consumer info), never do I/O.
    """
    _checked(metric, "gauge")
    if metric not in _gauges:
        spec = SPECS[metric]
        readings: list[GaugeReading] = []

        def observe(_options: CallbackOptions) -> Sequence[Observation]:
            return [Observation(value, attrs) for read in list(readings) for value, attrs in read()]

        gauge = _meter.create_observable_gauge(
            metric.value, callbacks=[observe], unit=spec.unit, description=spec.description
        )
        _gauges[metric] = (gauge, readings)
    entries = _gauges[metric][1]
    entries.append(reading)

    def undo() -> None:
        if reading in entries:
            entries.remove(reading)

    return undo
