"""The parser's async shell: raw batches in, typed events out, ack after the events are stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import structlog
from nats.js import JetStreamContext

from common.config.errors import ConfigIssue
from common.consumer import Delivery
from common.contracts import Alert, AlertType, RawLineBatch, Severity
from common.metric_names import Metric
from common.publishing import Outgoing, publish_confirmed
from common.telemetry import get_meter
from common.topology import Topology
from parser.events import events_from_batch, pack_events
from parser.log_time import ServerClocks
from parser.reloader import PatternHolder

log = structlog.get_logger()
_meter = get_meter(__name__)
_lines = _meter.create_counter(Metric.LINES_PARSED, description="lines looked at")
_unmatched = _meter.create_counter(Metric.LINES_UNMATCHED, description="lines no pattern matched")
_published = _meter.create_counter(Metric.EVENTS_PUBLISHED, description="events acknowledged")

SYSTEM_SERVER = "_system"
"""Server tag of alerts about the pipeline itself."""


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
        clock_for = self._clocks.for_server
        outgoing: list[Outgoing] = []
        lines = unmatched = published = 0
        for delivery in deliveries:
            batch = delivery.value
            events, missed = events_from_batch(
                batch,
                patterns,
                clock=clock_for(batch.server),
                bridge_marker=self._bridge_marker,
            )
            lines += len(batch.lines)
            unmatched += missed
            for message in pack_events(events, max_events=self._event_batch_max):
                subject = self._topology.event_subject(message.server, message.type)
                outgoing.append(Outgoing(subject, message.payload, message.msg_id))
                published += message.count
        await publish_confirmed(self._js, outgoing)
        _lines.add(lines)
        _unmatched.add(unmatched)
        _published.add(published)
        return None


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
