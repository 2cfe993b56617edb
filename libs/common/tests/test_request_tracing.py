"""Request/reply spans over a real nats-server: send (client) → process (server), one trace."""

import nats
import pytest
from opentelemetry.trace import SpanKind

from common import tracing

pytestmark = pytest.mark.nats


async def test_a_request_carries_its_send_span_to_the_responders_process_span(
    nats_server, nats_prefix: str, spans
):
    """The responder's SERVER span is a child of the requester's CLIENT send span."""
    nc = await nats.connect(nats_server.url)
    subject = f"{nats_prefix}.rcon.alpha.bot"

    async def respond(msg):
        with tracing.serving(msg):
            await msg.respond(b"ok")

    sub = await nc.subscribe(subject, cb=respond)
    try:
        answer = await tracing.request(nc, subject, b"{}", timeout=5)
    finally:
        await sub.unsubscribe()
        await nc.close()
    assert answer.data == b"ok"
    by_name = {s.name: s for s in spans.get_finished_spans()}
    send, process = by_name[f"send {subject}"], by_name[f"process {subject}"]
    assert send.kind is SpanKind.CLIENT
    assert process.kind is SpanKind.SERVER
    assert process.parent.span_id == send.context.span_id
    assert process.context.trace_id == send.context.trace_id


async def test_a_request_without_tracing_has_no_headers(nats_server, nats_prefix: str):
    """With tracing off the request carries no headers and the responder opens no span."""
    nc = await nats.connect(nats_server.url)
    subject = f"{nats_prefix}.query.x.bot"
    seen = []

    async def respond(msg):
        seen.append(msg.headers)
        with tracing.serving(msg):
            await msg.respond(b"ok")

    sub = await nc.subscribe(subject, cb=respond)
    try:
        await tracing.request(nc, subject, b"{}", timeout=5)
    finally:
        await sub.unsubscribe()
        await nc.close()
    assert seen == [None]
