"""Trace context in NATS headers, and spans named by the OpenTelemetry messaging conventions.

A W3C trace context (``traceparent``, ``tracestate``) travels in the headers of every message
and request: the tailer's raw batch starts a trace, the parser's events continue it, the bot's
post and persistence's commit end it; a slash command's RCON request carries it to the poller.

Everything here is free when tracing is off (:func:`common.telemetry.tracing_enabled` false):
:func:`inject` returns the headers unchanged, :func:`extract` returns None without looking, and
spans are OpenTelemetry's non-recording no-ops. Callers on hot paths check
:func:`common.telemetry.tracing_enabled` once per batch, not per message.

Span shapes (semantic conventions for messaging, ``messaging.system = nats``):

- ``publish <subject>`` (PRODUCER): one per published message or batch of messages sent
  together; ``messaging.batch.message_count`` when several.
- ``process <subject>`` (CONSUMER): the handling of received messages, a child of the context
  the message carried; a consumer that handles a batch from many traces links to the others.
- ``send <subject>`` (CLIENT) / ``process <subject>`` (SERVER): a request and its handling
  (``isr.rcon.*``, ``isr.query.*``): request/reply is a call, so client/server kinds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from common.telemetry import tracing_enabled

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_LINKS = 128
"""Most links one batch span carries (the SDK's default span limit as well)."""

_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("isr")

Operation = Literal["publish", "send", "receive", "process"]
_OPERATION_TYPE = {"publish": "send", "send": "send", "receive": "receive", "process": "process"}


def inject(headers: dict[str, str] | None = None, context: Context | None = None) -> dict[str, str]:
    """``headers`` (a new dict when None) with the trace context added.

    The context is ``context``, else the current one; nothing is added when tracing is off or
    no span is recording.
    """
    carrier = {} if headers is None else headers
    if tracing_enabled():
        _propagator.inject(carrier, context=context)
    return carrier


def extract(headers: Mapping[str, str] | None) -> Context | None:
    """The context a message carried in its headers, or None (none, or tracing is off)."""
    if not headers or not tracing_enabled() or TRACEPARENT not in headers:
        return None
    context = _propagator.extract(headers)
    span_context = trace.get_current_span(context).get_span_context()
    return context if span_context.is_valid else None


def is_sampled(headers: Mapping[str, str] | None) -> bool:
    """Whether the message's ``traceparent`` says "sampled" (its last flag bit), cheaply."""
    if not headers:
        return False
    value = headers.get(TRACEPARENT) or ""
    return value[-1:] in {"1", "3", "5", "7", "9", "b", "d", "f"}


def link_to(context: Context) -> Link:
    """A span link to the span of ``context``."""
    return Link(trace.get_current_span(context).get_span_context())


def messaging_attributes(
    operation: Operation,
    destination: str,
    *,
    message_id: str | None = None,
    batch_size: int | None = None,
    consumer_group: str | None = None,
    body_size: int | None = None,
) -> dict[str, str | int]:
    """The messaging semantic-convention attributes of one operation."""
    attributes: dict[str, str | int] = {
        "messaging.system": "nats",
        "messaging.operation.name": operation,
        "messaging.operation.type": _OPERATION_TYPE[operation],
        "messaging.destination.name": destination,
    }
    if message_id is not None:
        attributes["messaging.message.id"] = message_id
    if batch_size is not None and batch_size != 1:
        attributes["messaging.batch.message_count"] = batch_size
    if consumer_group is not None:
        attributes["messaging.consumer.group.name"] = consumer_group
    if body_size is not None:
        attributes["messaging.message.body.size"] = body_size
    return attributes


_KINDS = {
    "publish": SpanKind.PRODUCER,
    "send": SpanKind.CLIENT,
    "receive": SpanKind.CONSUMER,
    "process": SpanKind.CONSUMER,
}


@contextlib.contextmanager
def messaging_span(
    operation: Operation,
    destination: str,
    *,
    parent: Context | None = None,
    links: Sequence[Context] = (),
    server: bool = False,
    message_id: str | None = None,
    batch_size: int | None = None,
    consumer_group: str | None = None,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span]:
    """A span ``"<operation> <destination>"``, current while the block runs.

    ``parent``: the context a received message carried (else the current context: a new trace
    when there is none). ``links``: other messages' contexts handled in the same span (at most
    :data:`MAX_LINKS`). ``server``: the handling of a request (kind SERVER, not CONSUMER).
    """
    started = start_messaging_span(
        operation,
        destination,
        parent=parent,
        links=links,
        server=server,
        message_id=message_id,
        batch_size=batch_size,
        consumer_group=consumer_group,
        attributes=attributes,
    )
    with trace.use_span(started, end_on_exit=True) as current:
        yield current


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
    links: Sequence[Context] = (),
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span]:
    """A span that is not a messaging operation (an RCON command, a Discord post, a write)."""
    span_links = [link_to(c) for c in links[:MAX_LINKS]] if links else None
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, links=span_links, attributes=attributes
    ) as current:
        yield current


def current_context() -> Context:
    """The current context (to hand to work that runs later, e.g. a held Discord post)."""
    from opentelemetry import context as otel_context  # noqa: PLC0415

    return otel_context.get_current()


def start_messaging_span(
    operation: Operation,
    destination: str,
    *,
    parent: Context | None = None,
    links: Sequence[Context] = (),
    server: bool = False,
    message_id: str | None = None,
    batch_size: int | None = None,
    consumer_group: str | None = None,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Span:
    """Like :func:`messaging_span`, but started, not made current: the caller ends it.

    For spans that end later than a block (the intake's batch spans end when the batch, or a
    held message, is settled).
    """
    kind = SpanKind.SERVER if server else _KINDS[operation]
    span_links = [link_to(c) for c in links[:MAX_LINKS]] if links else None
    span_attributes: dict[str, str | int | float | bool] = dict(
        messaging_attributes(
            operation,
            destination,
            message_id=message_id,
            batch_size=batch_size,
            consumer_group=consumer_group,
        )
    )
    if attributes:
        span_attributes.update(attributes)
    return _tracer.start_span(
        f"{operation} {destination}",
        context=parent,
        kind=kind,
        links=span_links,
        attributes=span_attributes,
    )


def context_of(span: Span) -> Context:
    """A context whose current span is ``span`` (the parent to hand to later work)."""
    return trace.set_span_in_context(span)


async def request(nc: NatsClient, subject: str, payload: bytes, *, timeout: float) -> Msg:  # noqa: ASYNC109 - nc.request's own parameter
    """``nc.request`` under a ``send <subject>`` CLIENT span whose context the request carries.

    With tracing off it is exactly ``nc.request`` (no headers, no span).
    """
    if not tracing_enabled():
        return await nc.request(subject, payload, timeout=timeout)
    with messaging_span("send", subject):
        return await nc.request(subject, payload, timeout=timeout, headers=inject())


def serving(msg: Msg) -> contextlib.AbstractContextManager[object]:
    """A ``process <subject>`` SERVER span for a request, child of the context it carried.

    Nothing (a null context) when tracing is off or the request carried no sampled context.
    """
    parent = extract(msg.headers) if is_sampled(msg.headers) else None
    if parent is None:
        return contextlib.nullcontext()
    return messaging_span("process", msg.subject, parent=parent, server=True)
