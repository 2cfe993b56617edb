"""Helpers (no tests) for the persistence end-to-end tests: payloads, row counts, readiness."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.request import urlopen

import asyncpg
from nats.js import JetStreamContext

from common.contracts import GameEvent, MetricSample, SourcePosition
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from parser.events import EncodedEvent, pack_events

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_KINDS = ("chat", "join", "chat", "leave", "chat")


def events(count: int, *, server: str = "e2e", first_offset: int = 0) -> list[GameEvent]:
    """``count`` events with distinct source ids: chat, joins and leaves of a few players."""
    out = []
    for i in range(first_offset, first_offset + count):
        kind = _KINDS[i % len(_KINDS)]
        out.append(
            GameEvent(
                id=f"{server}:f1:{i * 80}",
                server=server,
                type=kind,
                observed_at=T0 + timedelta(milliseconds=10 * i),
                player=f"p{i % 7}",
                message=f"message {i}" if kind == "chat" else None,
                raw=f"2026-11-27 12:00:00 [{kind.upper()}] p{i % 7}: line {i}",
                source=SourcePosition(file_id="f1", generation=0, offset=i * 80),
            )
        )
    return out


def samples(count: int, *, server: str = "e2e") -> list[MetricSample]:
    """``count`` metric samples 10 s apart."""
    return [
        MetricSample(
            id=f"{server}:metric:{i}",
            server=server,
            sampled_at=T0 + timedelta(seconds=10 * i),
            player_count=i % 4,
            ups=60.0 - (i % 10),
        )
        for i in range(count)
    ]


async def publish_events(
    js: JetStreamContext, topo: Topology, batch: list[GameEvent], *, per_raw_batch: int = 1
) -> None:
    """Publish events as the parser does, confirmed and de-duplicated by message id.

    With ``per_raw_batch=n``, every ``n`` consecutive events are treated as the events of one
    raw line batch: one message per event type (parser.events.pack_events). ``1`` publishes
    every event as its own message.
    """
    encoded = [EncodedEvent(e.id, e.server, e.type, e.to_json()) for e in batch]
    outgoing = [
        Outgoing(topo.event_subject(m.server, m.type), m.payload, m.msg_id)
        for start in range(0, len(encoded), per_raw_batch)
        for m in pack_events(encoded[start : start + per_raw_batch], max_events=per_raw_batch)
    ]
    await publish_confirmed(js, outgoing)


async def publish_samples(js: JetStreamContext, topo: Topology, batch: list[MetricSample]) -> None:
    """Publish metric samples, confirmed."""
    await publish_confirmed(
        js, [Outgoing(topo.metrics_subject(s.server), s.to_json(), s.id) for s in batch]
    )


async def count(url: str, sql: str) -> int:
    """One number from the database, 0 while the table does not exist yet or the DB is down."""
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except Exception:
        return 0
    try:
        return int(await conn.fetchval(sql))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


def readiness(port: int) -> dict[str, object]:
    """The body of ``/readyz`` (200 or 503)."""
    try:
        with urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return json.loads(response.read())
    except Exception as exc:  # HTTPError carries the 503 body
        body = getattr(exc, "read", None)
        return json.loads(body()) if body else {"status": repr(exc)}


async def fetch_readiness(port: int) -> dict[str, object]:
    """:func:`readiness` without blocking the event loop."""
    return await asyncio.to_thread(readiness, port)
