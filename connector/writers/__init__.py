"""Writers: rows (Arrow or dicts) into Zoho through the REST or the Bulk Write API.

Both take the same arguments and return a :class:`WriteReport` with one line per
input row; :func:`write` picks the one that costs fewer credits (:func:`choose_writer`).
The SQL engine and the sync runners call these; nothing here parses SQL::

    report = RestWriter(session).write("Leads", table, operation="upsert", key="Email",
                                       report_path="leads.parquet")
    report.summary()       # {"inserted": 120, "updated": 30, "failed": 2, "total": 152}
    report.failed_rows()   # the rows to fix; then write(..., resume_from="leads.parquet")

Rooms: ``validate`` (columns and values checked against field metadata before any
call), ``report`` (the per-row report and its crash-safe journal), ``reconcile``
(finding out what a write whose answer was lost did), ``base`` (the shared
``write()``: permission, resume, dry run), ``rest``, ``bulk`` and ``bulk_csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .base import ProgressCallback, Rows, WriteProgress, Writer, WriteSession
from .bulk import BulkWriter, choose_writer
from .report import DONE, RETRY, WriteReport
from .rest import RestWriter
from .validate import OPERATIONS, WritePlan

__all__ = ["BulkWriter", "DONE", "OPERATIONS", "RETRY", "RestWriter", "WritePlan", "WriteProgress", "WriteReport",
           "WriteSession", "Writer", "choose_writer", "write"]


def write(session: WriteSession, module: str, rows: Rows, operation: str = "insert", key: str | None = None,
          trigger: Iterable[str] = (), dry_run: bool | None = None, *, api: str = "auto",
          report_path: str | Path | None = None, resume_from: str | Path | None = None,
          progress: ProgressCallback | None = None, report_wait_s: float = 0.0,
          resume_if_there: bool = False) -> WriteReport:
    """Write through ``api`` ("rest", "bulk", or "auto": the cheaper in credits for this many rows).
    ``report_wait_s`` and ``resume_if_there``: see :meth:`Writer._write`."""
    if api == "auto":
        writer = choose_writer(session, rows, operation)
    elif api in ("rest", "bulk"):
        writer = RestWriter(session) if api == "rest" else BulkWriter(session)
    else:
        raise ValueError(f"api must be auto, rest or bulk, not {api!r}")
    return writer.write(module, rows, operation, key, trigger, dry_run, report_path=report_path,
                        resume_from=resume_from, progress=progress, report_wait_s=report_wait_s,
                        resume_if_there=resume_if_there)
