"""Writes the metrics stream: raw samples and, in the same transaction, their roll-ups.

Samples are COPYed into a staging table and inserted with ``ON CONFLICT DO NOTHING`` on
``(server, sampled_at)``; only the rows actually inserted (``RETURNING``) are added to the
per-minute and per-hour roll-ups (sums, counts, minimum and maximum), so a redelivered sample
is counted once and the roll-ups always equal an aggregate of the stored samples. The day
partitions the rows go to are created first, in a short transaction of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from common.contracts import MetricSample
from common.errors import TransientError
from persistence.partition_store import PartitionKeeper
from persistence.partitions import partitions_for
from persistence.rows import SAMPLE_COLUMNS, sample_row
from persistence.writing import BatchWriter


def _rollup(table: str, width: str) -> str:
    return f"""
    {table}_up AS (
        INSERT INTO {table} AS r (server, bucket, samples, ups_samples, ups_sum, ups_min, ups_max,
                                  players_sum, players_max, paused_samples)
        SELECT server, date_bin('{width}', sampled_at, '2000-01-01 00:00:00+00'),
               count(*), count(ups), coalesce(sum(ups), 0), min(ups), max(ups),
               sum(player_count), max(player_count), count(*) FILTER (WHERE is_paused)
        FROM inserted WHERE rcon_up
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (server, bucket) DO UPDATE SET
            samples = r.samples + EXCLUDED.samples,
            ups_samples = r.ups_samples + EXCLUDED.ups_samples,
            ups_sum = r.ups_sum + EXCLUDED.ups_sum,
            ups_min = least(r.ups_min, EXCLUDED.ups_min),
            ups_max = greatest(r.ups_max, EXCLUDED.ups_max),
            players_sum = r.players_sum + EXCLUDED.players_sum,
            players_max = greatest(r.players_max, EXCLUDED.players_max),
            paused_samples = r.paused_samples + EXCLUDED.paused_samples
        RETURNING 1
    )"""  # noqa: S608 - table and width are constants


_INSERT_SAMPLES = f"""
WITH inserted AS (
    INSERT INTO metric_samples ({", ".join(SAMPLE_COLUMNS)})
    SELECT {", ".join(SAMPLE_COLUMNS)} FROM samples_stage
    ON CONFLICT (server, sampled_at) DO NOTHING
    RETURNING server, sampled_at, ups, player_count, is_paused, rcon_up
),
{_rollup("metric_minute", "1 minute")},
{_rollup("metric_hour", "1 hour")}
SELECT (SELECT count(*) FROM inserted) AS inserted,
       (SELECT count(*) FROM metric_minute_up) + (SELECT count(*) FROM metric_hour_up) AS buckets
"""  # noqa: S608 - the column list is a constant


class MetricsWriter(BatchWriter[MetricSample]):
    """Batch handler for the metrics stream."""

    table = "metric_samples"

    def __init__(self, *args: object, partitions: PartitionKeeper, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._partitions = partitions

    async def prepare(self, values: Sequence[MetricSample]) -> None:
        times = [v.sampled_at for v in values]
        await self._partitions.ensure(
            self._pool,
            partitions_for("metric_samples", times) | partitions_for("metric_minute", times),
        )

    async def write(self, conn: asyncpg.Connection, values: Sequence[MetricSample]) -> int:
        await conn.copy_records_to_table(
            "samples_stage", records=[sample_row(v) for v in values], columns=list(SAMPLE_COLUMNS)
        )
        try:
            row = await conn.fetchrow(_INSERT_SAMPLES)
        except asyncpg.PostgresError as exc:
            if "no partition of relation" in str(exc):
                self._partitions.forget()  # dropped by retention meanwhile; create and retry
                raise TransientError("a partition was dropped meanwhile", delay_s=0.5) from exc
            raise
        assert row is not None
        return int(row["inserted"])
