"""What one statement produced: its rows as a stream, and the plan or the write report behind them.

Shared by the engine (queries, EXPLAIN, SHOW, DESCRIBE) and DML (the per-row write
report), so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from connector.planning import Plan, explain
from connector.writers.report import WriteReport


@dataclass
class Result:
    """What one statement produced: rows (always a reader), and for DML the per-row write report."""

    kind: str  # query | explain | show | describe | insert | upsert | update | delete
    reader: pa.RecordBatchReader
    plan: Plan | None = None
    report: WriteReport | None = None  # DML only

    @property
    def rowcount(self) -> int:
        """Records written for DML (the report's inserted + updated + deleted); -1 for queries."""
        return int(self.report.rowcount) if self.report is not None else -1

    @property
    def explain_text(self) -> str | None:
        return explain(self.plan) if self.kind == "explain" and self.plan is not None else None


def table_reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
