"""In-process metric capture for tests: a real SDK meter provider with an in-memory reader.

OpenTelemetry's global meter provider can be set once per process: the first use installs
one with an :class:`InMemoryMetricReader`; the library's proxy instruments (created at import)
bind to it. :func:`points` collects now and returns the data points of one metric.
"""

from __future__ import annotations

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

_reader: list[InMemoryMetricReader] = []


def reader() -> InMemoryMetricReader:
    """The process's in-memory reader (installed on first use)."""
    if not _reader:
        found = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[found]))
        _reader.append(found)
    return _reader[0]


def points(name: str) -> list[tuple[float, dict[str, object]]]:
    """Collect now; the (value, attributes) of every data point of metric ``name``."""
    data = reader().get_metrics_data()
    found: list[tuple[float, dict[str, object]]] = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [
                        (float(getattr(p, "value", 0.0)), dict(p.attributes or {}))
                        for p in metric.data.data_points
                    ]
    return found
