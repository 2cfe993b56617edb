"""The metric catalog: every declared metric, its Prometheus name, and the /metrics option."""

from __future__ import annotations

import aiohttp
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import REGISTRY, generate_latest

from common.health import HealthServer
from common.metric_names import SPECS, Metric, prometheus_name


def test_every_metric_has_a_spec_with_a_unit_and_seconds_buckets_for_durations():
    """Each Metric is declared once with a unit; durations are seconds with explicit buckets."""
    assert set(SPECS) == set(Metric)
    for metric, spec in SPECS.items():
        assert spec.unit, metric
        assert spec.description.endswith("."), metric
        if spec.kind == "histogram":
            assert spec.buckets, f"{metric} needs explicit bucket boundaries"
        if spec.unit == "s" and spec.kind == "histogram":
            assert spec.buckets is not None
            assert spec.buckets[0] < 0.01 or metric is Metric.EVENT_AGE, metric
            assert spec.buckets[-1] <= 900, f"{metric}: boundaries are seconds, not milliseconds"


def test_prometheus_names_match_what_the_real_exporter_writes():
    """prometheus_name() agrees with opentelemetry-exporter-prometheus for every metric."""
    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("catalog-test")
    try:
        for metric, spec in SPECS.items():
            attributes = dict.fromkeys(spec.attributes, "x")
            if spec.kind == "counter":
                meter.create_counter(metric.value, unit=spec.unit).add(1, attributes)
            elif spec.kind == "histogram":
                meter.create_histogram(
                    metric.value,
                    unit=spec.unit,
                    explicit_bucket_boundaries_advisory=list(spec.buckets or ()),
                ).record(0.1, attributes)
            else:

                def one(
                    _options: object, attributes: dict[str, str] = attributes
                ) -> list[Observation]:
                    return [Observation(1.0, attributes)]

                meter.create_observable_gauge(metric.value, callbacks=[one], unit=spec.unit)
        text = generate_latest(REGISTRY).decode()
    finally:
        provider.shutdown()  # also takes the reader's collector out of the registry
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    for metric in Metric:
        name = prometheus_name(metric)
        assert name in families, f"{metric}: expected {name}; exporter wrote {sorted(families)}"


async def test_metrics_endpoint_serves_prometheus_text_only_when_enabled():
    """/metrics answers with the renderer's text when configured and is absent otherwise."""
    with_metrics = HealthServer(
        service="t", host="127.0.0.1", port=0, metrics=lambda: b"isr_demo_total 1\n"
    )
    without = HealthServer(service="t", host="127.0.0.1", port=0)
    await with_metrics.start()
    await without.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{with_metrics.bound_port}/metrics") as reply:
                assert reply.status == 200
                assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                assert await reply.text() == "isr_demo_total 1\n"
            async with http.get(f"http://127.0.0.1:{without.bound_port}/metrics") as reply:
                assert reply.status == 404
    finally:
        await with_metrics.stop()
        await without.stop()
