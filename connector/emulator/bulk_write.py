"""Bulk Write jobs: uploaded files, the per-org queue, row processing and the result CSV.

bulk-write.md sections 1-5. An upload keeps the parsed CSV under a file id; a
job maps CSV columns (by 0-based index) to fields, converts each cell to the
Records-API JSON value of its field (rules in :mod:`.csv_format`: Java date
patterns, ``;`` lists, lookups by id or by a unique field), validates it
with :func:`.values.decode_record` and writes through :mod:`.writes`. Rows that
fail are skipped with their codes; the others carry on.

Jobs of one org run one after another on the virtual clock, through the queue
bulk read uses too (:mod:`.job_queue`): a job needs ``max(MIN_JOB_S, rows /
bulk_rows_per_s)`` virtual seconds and is never ``COMPLETED`` (or ``FAILED``)
before its background thread has written every row and the result zip
``{Module}-{uploaded name}`` (first three mapped columns, then ``STATUS``,
``RECORD_ID``, ``ERRORS``; rows in input order).
"""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema, values, writes
from .csv_format import Mapping, RowError, build_record, key_of
from .job_queue import ADDED, JobQueue
from .schema import ModuleDef
from .write_batch import WriteBatch

#: rows validated together: one prefetch, then one insert_records and one update_records call (each
#: a single Arrow-backed statement per chunk, see writes.py); bigger chunks mean fewer round trips
CHUNK_ROWS = 500
FAILED = "FAILED"  # bulk write's failure state (bulk read says FAILURE)


@dataclass
class Upload:
    file_id: int
    name: str
    header: list[str]
    rows: list[list[str]]
    created_at: float


@dataclass
class BulkWriteJob:
    id: int
    operation: str
    module: ModuleDef
    upload: Upload
    mappings: list[Mapping]
    find_by: str | None
    ignore_empty: bool
    user_id: int
    created_at: float
    callback: dict[str, str] | None = None
    state: str = ADDED
    started_at: float | None = None
    finish_at: float | None = None
    #: per input row: (STATUS, RECORD_ID, ERRORS)
    results: list[tuple[str, str, str]] = field(default_factory=list)
    error: str | None = None
    path: Path | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def counts(self) -> dict[str, int]:
        statuses = [r[0] for r in self.results]
        total = len(self.upload.rows)
        added, updated = statuses.count("ADDED"), statuses.count("UPDATED")
        return {"added_count": added, "updated_count": updated,
                "skipped_count": total - added - updated, "total_count": total}


class BulkWriteQueue(JobQueue[BulkWriteJob]):
    """All bulk write jobs of one emulated org, in creation order, and the files uploaded for them."""

    state_key = "bulk_write"
    failed = FAILED

    def __init__(self) -> None:
        super().__init__()
        self.uploads: dict[int, Upload] = {}

    def work(self, app: Any, job: BulkWriteJob) -> None:
        _process(app, self, job)

    def rows(self, job: BulkWriteJob) -> int:
        return len(job.upload.rows)


def queue_of(app: Any) -> BulkWriteQueue:
    return BulkWriteQueue.of(app)


def add_job(app: Any, job: BulkWriteJob, status: Callable[[], dict[str, Any]] | None = None) -> None:
    """Queue a job; ``status`` renders what the callback (if any) POSTs when the job ends."""
    queue_of(app).add(app, job, status)


def get_job(app: Any, job_id: str) -> BulkWriteJob | None:
    return queue_of(app).get(app, job_id)


# -- processing ----------------------------------------------------------------------------------


def _errors_text(errors: list[RowError]) -> str:
    """``CODE-col1,col2:CODE2-col3`` (bulk-write.md section 4): columns per code, codes joined by ':'."""
    by_code: dict[str, list[str]] = {}
    for code, column in errors:
        cols = by_code.setdefault(code, [])
        if column not in cols:
            cols.append(column)
    return ":".join(f"{code}-{','.join(cols)}" for code, cols in by_code.items())


class _Writer:
    """Processing of one job, chunk by chunk; results kept in input order.

    Per chunk of :data:`CHUNK_ROWS` rows: one prefetch of the lookup targets and unique values
    the rows name, every row validated in file order (unique values claimed by earlier rows
    are seen through the shared :class:`.write_batch.WriteBatch`), then one
    ``insert_records`` and one ``update_records`` call for the rows that passed.
    """

    def __init__(self, app: Any, job: BulkWriteJob) -> None:
        self.app, self.job, self.m = app, job, job.module
        self.batch = WriteBatch()
        self.results: list[tuple[str, str, str] | None] = [None] * len(job.upload.rows)
        #: decoded rows not written yet: inserts (row index, columns, find_by key), updates (row, id, columns)
        self.inserts: list[tuple[int, dict[str, Any], Any]] = []
        self.updates: list[tuple[int, int, dict[str, Any]]] = []
        #: find_by key -> record id (or the row index of a pending insert, negated - 1)
        self.known: dict[Any, int] = {}
        self.columns = {mp.api_name: mp.column for mp in job.mappings}
        self.order = {mp.column: mp.index if mp.index is not None else len(job.upload.header) for mp in job.mappings}
        self.key_mapping = next((mp for mp in job.mappings if mp.api_name == job.find_by), None)

    def skip(self, i: int, errors: list[RowError]) -> None:
        """Mark row ``i`` SKIPPED; its error columns are listed in file order."""
        ordered = sorted(errors, key=lambda e: self.order.get(e[1], len(self.order) + 1000))
        self.results[i] = ("SKIPPED", "", _errors_text(ordered))

    def column_for(self, err: dict[str, Any]) -> str:
        api = (err.get("details") or {}).get("api_name") or ""
        return self.columns.get(api, api)

    def run(self) -> None:
        job = self.job
        rows = job.upload.rows
        km = self.key_mapping
        if job.find_by and km is not None:
            raw_keys = [km.cell(r) for r in rows]
            found = writes.find_matches(self.app, self.m, job.find_by, [k for k in raw_keys if k])
            self.known = {key_of(km, k): rid for k, rid in found.items()}
        lookups = _resolve_lookups(self.app, job.mappings, rows)
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start:start + CHUNK_ROWS]
            built = [build_record(self.app, job.mappings, row, lookups, job.ignore_empty) for row in chunk]
            # The chunk holds the write lock from prefetch to write, so a REST call cannot take a
            # unique value between this chunk's check and its write.
            with self.app.store.write_lock:
                self.batch.prefetch(self.app, self.m, [record for record, _ in built])
                for i, (row, (record, errors)) in enumerate(zip(chunk, built, strict=True), start):
                    self._row(i, row, record, errors)
                self.flush()
        job.results = [r or ("UNPROCESSED", "", "") for r in self.results]

    def _row(self, i: int, row: list[str], record: dict[str, Any], errors: list[RowError]) -> None:
        job, km = self.job, self.key_mapping
        key = key_of(km, km.cell(row)) if km is not None else None
        existing = self.known.get(key) if key is not None else None
        if existing is not None and existing < 0:
            self.flush()  # the row updates a record inserted earlier in this file: write that one first
            existing = self.known.get(key)
        op = job.operation
        if op == "insert" and existing is not None:
            errors.append(("DUPLICATE_DATA", km.column if km else job.find_by or ""))
        elif op == "update" and existing is None:
            # Nothing to update: no record has this find_by value (or the cell is empty).
            errors.append(("RESOURCE_NOT_FOUND", km.column if km else job.find_by or ""))
        if errors and (op, existing is None) in (("insert", False), ("update", True)):
            self.skip(i, errors)
        elif existing is None:
            record.pop("id", None)
            cols = self._decode(i, record, "insert", errors)
            if cols is not None:
                self.inserts.append((i, cols, key))
                if key is not None:
                    self.known[key] = -i - 1
        else:
            record["id"] = str(existing)
            cols = self._decode(i, record, "update", errors)
            if cols is not None:
                self.updates.append((i, existing, cols))

    def _decode(self, i: int, record: dict[str, Any], op: str, errors: list[RowError]) -> dict[str, Any] | None:
        """Validate like the Records API; cells that failed conversion are reported once, as INVALID_DATA."""
        cols, errs = values.decode_record(self.app, self.m, record, op=op, index=i, batch=self.batch)
        failed = {col for _, col in errors}
        errors = errors + [(e["code"], self.column_for(e)) for e in errs
                           if not (e["code"] == "MANDATORY_NOT_FOUND" and self.column_for(e) in failed)]
        if errors:
            self.skip(i, errors)
            return None
        return cols

    def flush(self) -> None:
        """Write the decoded rows: one insert_records and one update_records call."""
        inserts, self.inserts = self.inserts, []
        updates, self.updates = self.updates, []
        user = self.job.user_id
        if inserts:
            ids = writes.insert_records(self.app, self.m, [cols for _, cols, _ in inserts], user)
            for (i, cols, key), rid in zip(inserts, ids, strict=True):
                self.results[i] = ("ADDED", str(rid), "")
                # Unique values these rows claimed now belong to real records, so a later row of the
                # file updating one of them is not a duplicate of itself.
                self.batch.resolve(i, rid, cols.get("Owner") or user)
                if key is not None:
                    self.known[key] = rid
        if updates:
            writes.update_records(self.app, self.m, [(rid, cols) for _, rid, cols in updates], user)
            for i, rid, _ in updates:
                self.results[i] = ("UPDATED", str(rid), "")


def _resolve_lookups(app: Any, mappings: list[Mapping], rows: list[list[str]]) -> dict[str, dict[str, int]]:
    """Lookup cells given by a unique field of the target (``find_by`` != id) -> record ids, per mapping."""
    out: dict[str, dict[str, int]] = {}
    for mp in mappings:
        if mp.field is None or mp.lookup_by in (None, "id", "email") or not mp.field.lookup:
            continue
        target = schema.MODULES_BY_NAME.get(mp.field.lookup)
        if target is None:
            continue
        cells = {c for c in (mp.cell(r) for r in rows) if c}
        if mp.default:
            cells.add(mp.default)
        out[mp.api_name] = {str(k): v for k, v in writes.find_matches(app, target, mp.lookup_by, list(cells)).items()}
    return out


def _process(app: Any, q: BulkWriteQueue, job: BulkWriteJob) -> None:
    try:
        writer = _Writer(app, job)
        try:
            writer.run()
        except Exception:
            job.results = [r or ("UNPROCESSED", "", "") for r in writer.results]
            raise
    except Exception as exc:  # the job is FAILED; rows not reached are UNPROCESSED
        job.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        try:
            job.path = write_result(q.dir, job)
        finally:
            job.done.set()


def result_name(job: BulkWriteJob) -> str:
    return f"{job.module.api_name}-{job.upload.name}"


def write_result(directory: Path, job: BulkWriteJob) -> Path:
    """The result zip: first three mapped input columns, then STATUS, RECORD_ID, ERRORS."""
    indexes = sorted({mp.index for mp in job.mappings if mp.index is not None})[:3]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow([job.upload.header[i] for i in indexes] + ["STATUS", "RECORD_ID", "ERRORS"])
    results = job.results or [("UNPROCESSED", "", "")] * len(job.upload.rows)
    for row, (status, rid, errors) in zip(job.upload.rows, results, strict=True):
        out.writerow([row[i] if i < len(row) else "" for i in indexes] + [status, rid, errors])
    path = directory / f"{job.id}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(result_name(job), buf.getvalue())
    return path
