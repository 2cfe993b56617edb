"""The parser's async shell: raw batches in, typed events out, ack after the events are stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import structlog
from common.consumer import Delivery
from common.contracts import GameEvent, RawLineBatch, SourcePosition, line_id
from common.metric_names import Metric
from common.publishing import Outgoing, publish_confirmed
from common.telemetry import get_meter
from common.topology import Topology
from nats.js import JetStreamContext

from parser.factorio_log import parse_line

log = structlog.get_logger()
_meter = get_meter(__name__)
_lines = _meter.create_counter(Metric.LINES_PARSED, description="lines looked at")
_unmatched = _meter.create_counter(Metric.LINES_UNMATCHED, description="lines no pattern matched")
_published = _meter.create_counter(Metric.EVENTS_PUBLISHED, description="events acknowledged")


def events_from_batch(batch: RawLineBatch, *, observed_at: datetime) -> list[GameEvent]:
    """Every event the lines of a batch make, in line order (pure)."""
    events = []
    for offset, text in zip(batch.offsets, batch.lines, strict=True):
        parsed = parse_line(text)
        if parsed is None:
            continue
        events.append(
            GameEvent(
                id=line_id(batch.server, batch.file_id, offset),
                server=batch.server,
                type=parsed.type,
                ts=parsed.ts,
                observed_at=observed_at,
                player=parsed.player,
                message=parsed.message,
                data=parsed.data,
                raw=text,
                source=SourcePosition(
                    file_id=batch.file_id, generation=batch.generation, offset=offset
                ),
                pattern=parsed.pattern,
            )
        )
    return events


class ParseHandler:
    """Handles fetched raw batches: parse, publish every event, confirm, then let them be acked."""

    def __init__(self, js: JetStreamContext, topology: Topology) -> None:
        self._js = js
        self._topology = topology

    async def __call__(
        self, deliveries: Sequence[Delivery[RawLineBatch]]
    ) -> Mapping[int, BaseException] | None:
        now = datetime.now(UTC)
        outgoing: list[Outgoing] = []
        line_count = 0
        for delivery in deliveries:
            batch = delivery.value
            line_count += len(batch.lines)
            outgoing.extend(
                Outgoing(
                    self._topology.event_subject(event.server, event.type),
                    event.to_json(),
                    event.id,
                )
                for event in events_from_batch(batch, observed_at=now)
            )
        await publish_confirmed(self._js, outgoing)
        _lines.add(line_count)
        _unmatched.add(line_count - len(outgoing))
        _published.add(len(outgoing))
        return None
