"""Daily partitions and retention arithmetic (pure).

``metric_samples`` and ``metric_minute`` are range-partitioned by UTC day: the partition of
``2026-11-27`` is ``<table>_p20261127`` and holds ``[2026-11-27 00:00Z, 2026-11-28 00:00Z)``.
Retention keeps a table's rows for ``keep_days`` days: a partition is dropped once its whole
range is older than the cutoff, so a row is kept at least ``keep_days`` and at most one day more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

PARTITIONED_TABLES: tuple[str, ...] = ("metric_samples", "metric_minute")
"""Tables partitioned by UTC day."""

_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<day>\d{8})$")


@dataclass(frozen=True, slots=True)
class DayPartition:
    """One day's partition of a table."""

    table: str
    day: date

    @property
    def name(self) -> str:
        """``<table>_pYYYYMMDD``."""
        return f"{self.table}_p{self.day:%Y%m%d}"

    @property
    def start(self) -> datetime:
        """Inclusive lower bound (UTC midnight)."""
        return datetime.combine(self.day, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive upper bound (the next UTC midnight)."""
        return self.start + timedelta(days=1)

    def create_sql(self) -> str:
        """DDL creating the partition if it is missing."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} PARTITION OF {self.table} "
            f"FOR VALUES FROM ('{self.start.isoformat()}') TO ('{self.end.isoformat()}')"
        )


def parse_partition(name: str) -> DayPartition | None:
    """The partition a table name denotes, or None when it is not one of ours."""
    match = _NAME.match(name)
    if match is None:
        return None
    try:
        day = datetime.strptime(match.group("day"), "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None
    return DayPartition(match.group("table"), day)


def utc_day(at: datetime) -> date:
    """The UTC calendar day of an aware datetime."""
    return at.astimezone(UTC).date()


def partitions_for(table: str, times: Iterable[datetime]) -> set[DayPartition]:
    """The partitions that rows with these times go to."""
    return {DayPartition(table, utc_day(t)) for t in times}


def partitions_ahead(table: str, now: datetime, days: int) -> list[DayPartition]:
    """Today's partition and the next ``days`` ones (created in advance by maintenance)."""
    today = utc_day(now)
    return [DayPartition(table, today + timedelta(days=i)) for i in range(days + 1)]


def retention_cutoff(now: datetime, keep_days: float) -> datetime | None:
    """Rows older than this are expired; None when ``keep_days`` is 0 (keep forever)."""
    if keep_days <= 0:
        return None
    return now - timedelta(days=keep_days)


def expired_partitions(
    names: Iterable[str], *, table: str, now: datetime, keep_days: float
) -> list[DayPartition]:
    """Partitions of ``table`` whose whole range is older than the retention cutoff."""
    cutoff = retention_cutoff(now, keep_days)
    if cutoff is None:
        return []
    expired = []
    for name in names:
        partition = parse_partition(name)
        if partition is not None and partition.table == table and partition.end <= cutoff:
            expired.append(partition)
    return sorted(expired, key=lambda p: p.day)
