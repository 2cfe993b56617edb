"""What every table writer shares: poison isolation down to the row, and transient failures.

A writer is the batch handler of a :class:`common.intake.Intake` (settled when it returns).
A message decodes to one value, or to :class:`Several` (a batch of events carries many); the
rows of a batch of messages are written together. For each batch it

1. reports every value that did not decode as poison of its message (a message whose only
   fault is some of the values it carries is reported once, naming them, after the rest of
   its values were written);
2. writes the rest in **one** transaction (subclasses say how), so the consumer acks the batch
   only after that commit;
3. when Postgres rejects the rows themselves (a NUL byte in text, a number out of range), splits
   the batch in halves and retries each in its own transaction until the rows at fault are
   isolated, reports those as poison and writes the rest: one bad message never stalls the
   stream;
4. when Postgres is unreachable, marks the :class:`~persistence.gate.DatabaseGate` down and
   raises :class:`~common.errors.TransientError`, so the whole batch is redelivered after the
   gate's backoff and nothing is acked.

Poison is an :class:`~common.errors.InvalidMessage` failure for the message's index; the
intake dead-letters such a message (with the reason) and terminates it.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import structlog
from opentelemetry.trace import SpanKind

from common.errors import InvalidMessage, TransientError
from common.intake import Delivery
from common.metric_names import Metric, Span
from common.telemetry import counter, histogram
from common.tracing import span
from persistence import failures
from persistence.gate import DatabaseGate

T = TypeVar("T")

log = structlog.get_logger()
_rows = counter(Metric.ROWS_WRITTEN)
_batch_seconds = histogram(Metric.BATCH_SECONDS)


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A value of a message that does not fit its contract (the message's other values may)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Several(Generic[T]):
    """The values one message carries when it carries more than one (an event batch)."""

    members: tuple[T | Undecodable, ...]


class _PoisonError(Exception):
    """Postgres rejected the rows themselves."""


class BatchWriter(ABC, Generic[T]):
    """Handler writing one stream's batches; subclasses implement :meth:`write`."""

    table: str = ""
    """Main table, for metrics and logs."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        gate: DatabaseGate,
        write_timeout_s: float = 30.0,
    ) -> None:
        self._pool = pool
        self._gate = gate
        self._write_timeout_s = write_timeout_s

    async def prepare(self, values: Sequence[T]) -> None:
        """Runs before the write's connection is taken (e.g. to create partitions)."""

    def label(self, value: T) -> str:  # noqa: ARG002 - subclasses name their values
        """Names a value Postgres refused, in the dead-letter reason ("" = the message says it)."""
        return ""

    @abstractmethod
    async def write(self, conn: asyncpg.Connection, values: Sequence[T]) -> int:
        """Write ``values`` inside the open transaction of ``conn``; return rows inserted."""

    async def __call__(
        self, deliveries: Sequence[Delivery[T | Several[T] | Undecodable]]
    ) -> Mapping[int, BaseException] | None:
        failed: dict[int, BaseException] = {}
        good: list[tuple[int, T]] = []
        faults: dict[int, list[str]] = {}
        for index, delivery in enumerate(deliveries):
            value = delivery.value
            if isinstance(value, Undecodable):
                failed[index] = self._poison(delivery, value.reason)
            elif isinstance(value, Several):
                for member in value.members:
                    if isinstance(member, Undecodable):
                        faults.setdefault(index, []).append(member.reason)
                    else:
                        good.append((index, member))
            else:
                good.append((index, value))
        contexts = [d.trace for d in deliveries if d.trace is not None]
        if good and contexts:
            # One client span per batch: a child of its first traced message, linking the rest.
            with span(
                Span.PERSISTENCE_WRITE,
                kind=SpanKind.CLIENT,
                parent=contexts[0],
                links=contexts[1:],
                attributes={
                    "db.system.name": "postgresql",
                    "db.collection.name": self.table,
                    "db.operation.batch.size": len(good),
                },
            ):
                isolated = await self._write_isolating(good)
        else:
            isolated = await self._write_isolating(good) if good else []
        for index, reason in isolated:
            faults.setdefault(index, []).append(reason)
        for index, reasons in faults.items():
            failed[index] = self._poison(deliveries[index], "; ".join(reasons))
        return failed or None

    def _poison(self, delivery: Delivery[object], reason: str) -> InvalidMessage:
        log.warning("rows_refused", subject=delivery.msg.subject, reason=reason, table=self.table)
        return InvalidMessage(subject=delivery.msg.subject, reason=reason)

    async def _write_isolating(self, items: Sequence[tuple[int, T]]) -> list[tuple[int, str]]:
        """Write ``items``; return the delivery indexes (and reasons) of values never accepted."""
        try:
            await self._write_once([value for _, value in items])
        except _PoisonError as exc:
            if len(items) == 1:
                index, value = items[0]
                label = self.label(value)
                return [(index, f"{label}: {exc}" if label else str(exc))]
            half = len(items) // 2
            return [
                *await self._write_isolating(items[:half]),
                *await self._write_isolating(items[half:]),
            ]
        return []

    async def _write_once(self, values: Sequence[T]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._write_timeout_s):
                await self.prepare(values)
                async with self._pool.acquire() as conn, conn.transaction():
                    inserted = await self.write(conn, values)
        except TransientError:
            raise
        except Exception as exc:
            reason = failures.describe(exc)
            if failures.is_poison(exc):
                raise _PoisonError(reason) from exc
            if failures.is_unavailable(exc):
                self._gate.mark_down(reason)
            else:  # deadlock, serialisation failure, a dropped partition, a bug: retry later
                log.warning("write_failed", table=self.table, error=reason, batch=len(values))
            raise TransientError(reason, delay_s=self._gate.retry_delay_s) from exc
        self._gate.mark_up()
        _rows.add(inserted, {"table": self.table})
        _batch_seconds.record(time.perf_counter() - started, {"table": self.table})
        log.debug("batch_written", table=self.table, batch=len(values), inserted=inserted)


def inserted_count(status: str) -> int:
    """Rows affected from a command status such as ``INSERT 0 42``."""
    return int(status.rsplit(" ", 1)[-1])
