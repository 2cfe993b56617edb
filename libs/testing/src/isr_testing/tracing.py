"""In-process span capture for tests: a real SDK tracer provider with an in-memory exporter.

OpenTelemetry's global tracer provider can be set once per process, so the capture installs one
SDK provider on first use (or adds its processor to the SDK provider already installed) and
switches :func:`common.telemetry.tracing_enabled` on only while a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common import telemetry

_exporter = InMemorySpanExporter()
_installed: list[bool] = []


def _install() -> None:
    if _installed:
        return
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    _installed.append(True)


@contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """Record every span ended inside the block (tracing switched on, 100 % sampled)."""
    _install()
    _exporter.clear()
    was = telemetry._state["tracing"]  # noqa: SLF001 - the switch this helper exists to flip
    telemetry._state["tracing"] = True  # noqa: SLF001
    try:
        yield _exporter
    finally:
        telemetry._state["tracing"] = was  # noqa: SLF001
        _exporter.clear()


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """The spans ended so far, oldest first."""
    return list(exporter.get_finished_spans())
