"""Trace context in headers and messaging spans (common.tracing) against the real SDK."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from common import tracing


def test_nothing_is_injected_or_extracted_while_tracing_is_off():
    """With tracing off, inject leaves headers alone and extract does not look."""
    headers = tracing.inject({"Nats-Msg-Id": "a"})
    assert headers == {"Nats-Msg-Id": "a"}
    assert tracing.extract({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None


def test_a_published_context_continues_in_the_consumer(spans):
    """The consumer's process span is a child of the producer's publish span, same trace."""
    with tracing.messaging_span("publish", "isr.raw.alpha", message_id="m1") as producer:
        headers = tracing.inject({"Nats-Msg-Id": "m1"})
    assert tracing.is_sampled(headers)
    parent = tracing.extract(headers)
    assert parent is not None
    with tracing.messaging_span(
        "process", "isr.raw.alpha", parent=parent, consumer_group="parser", batch_size=3
    ):
        pass
    publish, process = spans.get_finished_spans()
    assert publish.name == "publish isr.raw.alpha"
    assert publish.kind is SpanKind.PRODUCER
    assert publish.attributes["messaging.system"] == "nats"
    assert publish.attributes["messaging.message.id"] == "m1"
    assert process.kind is SpanKind.CONSUMER
    assert process.context.trace_id == producer.get_span_context().trace_id
    assert process.parent.span_id == producer.get_span_context().span_id
    assert process.attributes["messaging.batch.message_count"] == 3
    assert process.attributes["messaging.consumer.group.name"] == "parser"


def test_a_batch_span_links_to_the_other_messages_contexts(spans):
    """A span handling messages of several traces links to each of them."""
    contexts = []
    for n in range(3):
        with tracing.messaging_span("publish", f"isr.raw.s{n}"):
            contexts.append(tracing.extract(tracing.inject()))
    with tracing.messaging_span("process", "isr.events", links=[c for c in contexts if c]):
        pass
    *publishes, batch = spans.get_finished_spans()
    assert [link.context.trace_id for link in batch.links] == [
        p.context.trace_id for p in publishes
    ]


def test_unsampled_and_missing_headers_are_told_apart_cheaply():
    """is_sampled reads the flags byte; absent or unsampled contexts are not sampled."""
    assert not tracing.is_sampled(None)
    assert not tracing.is_sampled({})
    assert not tracing.is_sampled({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-00"})
    assert tracing.is_sampled({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
