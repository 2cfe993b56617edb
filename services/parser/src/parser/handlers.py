"""The parser's async shell: raw batches in, typed events out, ack after the events are stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import structlog
from nats.js import JetStreamContext

from common.config.errors import ConfigIssue
from common.contracts import Alert, AlertType, RawLineBatch, Severity
from common.errors import InvalidMessage
from common.intake import Delivery
from common.metric_names import Metric
from common.publishing import Outgoing, max_payload, publish_confirmed, wire_size
from common.telemetry import counter
from common.topology import Topology
from common.tracing import context_of, inject, start_messaging_span
from common.vocabulary import SYSTEM_SERVER
from parser.events import MAX_BATCH_BYTES, events_from_batch, pack_events
from parser.log_time import ServerClocks
from parser.reloader import PatternHolder

log = structlog.get_logger()
_lines = counter(Metric.LINES_PARSED)
_unmatched = counter(Metric.LINES_UNMATCHED)
_published = counter(Metric.EVENTS_PUBLISHED)

_BATCH_HEADROOM = 1024
"""Bytes an event batch's wrapper and headers may add to its events (pack_events' budget)."""


class ParseHandler:
    """Handles fetched raw batches: parse, publish every event, confirm, then let them be acked.

    The events of one raw batch go out as one message per event type
    (:func:`parser.events.pack_events`, at most ``event_batch_max`` events each). Events keep
    the line's id and messages get ids derived from them, so a batch redelivered after a crash
    republishes the same message ids and JetStream drops them as duplicates. Lines no pattern
    claims are counted, not published. Event times come from the batch (the log's dates in the
    server's ``log_timezone``, and the tailer's read time), never from this worker's clock, so
    two workers or a redelivery give the same events.
    """

    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        holder: PatternHolder,
        *,
        bridge_marker: str,
        event_batch_max: int,
        clocks: ServerClocks | None = None,
    ) -> None:
        self._js = js
        self._clocks = clocks or ServerClocks()
        self._event_batch_max = event_batch_max
        self._topology = topology
        self._holder = holder
        self._bridge_marker = bridge_marker

    async def __call__(
        self, deliveries: Sequence[Delivery[RawLineBatch]]
    ) -> Mapping[int, BaseException] | None:
        patterns = self._holder.current
        limit = max_payload(self._js)
        max_bytes = min(MAX_BATCH_BYTES, limit - _BATCH_HEADROOM)
        clock_for = self._clocks.for_server
        outgoing: list[Outgoing] = []
        failures: dict[int, BaseException] = {}
        lines = unmatched = published = 0
        spans = []
        for index, delivery in enumerate(deliveries):
            batch = delivery.value
            try:
                events, missed = events_from_batch(
                    batch,
                    patterns,
                    clock=clock_for(batch.server),
                    bridge_marker=self._bridge_marker,
                )
                messages = pack_events(
                    events, max_events=self._event_batch_max, max_bytes=max_bytes
                )
                headers = None
                if delivery.trace is not None and messages:
                    # One publish span per raw batch's events, under the batch's process span.
                    span = start_messaging_span(
                        "publish",
                        self._topology.event_subject(messages[0].server, messages[0].type),
                        parent=delivery.trace,
                        batch_size=len(messages),
                    )
                    spans.append(span)
                    headers = inject(context=context_of(span))
                mine = [
                    Outgoing(
                        self._topology.event_subject(m.server, m.type),
                        m.payload,
                        m.msg_id,
                        headers,
                    )
                    for m in messages
                ]
            except Exception as exc:  # this raw batch alone; its neighbours are published
                failures[index] = exc
                continue
            # An event alone larger than the server takes can never be published: the raw
            # batch is dead-lettered naming it, and its other events still go out.
            too_large = [o for o in mine if wire_size(o) > limit]
            if too_large:
                failures[index] = InvalidMessage(
                    subject=delivery.msg.subject,
                    reason="; ".join(
                        f"event message {o.msg_id} is {wire_size(o)} bytes, more than the "
                        f"server's max_payload of {limit}"
                        for o in too_large[:3]
                    ),
                )
            outgoing.extend(o for o in mine if wire_size(o) <= limit)
            lines += len(batch.lines)
            unmatched += missed
            published += sum(
                m.count for m, o in zip(messages, mine, strict=True) if o not in too_large
            )
        try:
            await publish_confirmed(self._js, outgoing)
        finally:
            for span in spans:
                span.end()
        _lines.add(lines)
        _unmatched.add(unmatched)
        _published.add(published)
        return failures or None


def invalid_patterns_alert(issues: Sequence[ConfigIssue], *, now: datetime) -> Alert:
    """The alert raised when a pattern reload is refused (same problems → same id)."""
    text = "\n".join(str(i) for i in issues)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Alert(
        id=f"{SYSTEM_SERVER}:patterns_invalid:{digest}",
        server=SYSTEM_SERVER,
        type=AlertType.PATTERNS_INVALID,
        severity=Severity.WARNING,
        raised_at=now,
        summary=f"pattern files have {len(issues)} problem(s); the previous set keeps running",
        details={"problems": [str(i) for i in issues[:20]]},
    )


async def publish_alert(js: JetStreamContext, topology: Topology, alert: Alert) -> None:
    """Publish an alert on the events stream (de-duplicated by its id)."""
    await publish_confirmed(
        js, [Outgoing(topology.alert_subject(alert.server, alert.type), alert.to_json(), alert.id)]
    )
