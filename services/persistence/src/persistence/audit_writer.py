"""Writes the audit stream to ``audit_log``: COPY, insert skipping known ids, one transaction."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from common.contracts import AuditRecord
from persistence.rows import AUDIT_COLUMNS, audit_row
from persistence.writing import BatchWriter, inserted_count

_INSERT_AUDIT = f"""
INSERT INTO audit_log ({", ".join(AUDIT_COLUMNS)})
SELECT {", ".join(AUDIT_COLUMNS)} FROM audit_stage
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - the column list is a constant


class AuditWriter(BatchWriter[AuditRecord]):
    """Batch handler for the audit stream."""

    table = "audit_log"

    async def write(self, conn: asyncpg.Connection, values: Sequence[AuditRecord]) -> int:
        await conn.copy_records_to_table(
            "audit_stage", records=[audit_row(v) for v in values], columns=list(AUDIT_COLUMNS)
        )
        return inserted_count(await conn.execute(_INSERT_AUDIT))
