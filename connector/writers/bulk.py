"""The Bulk Write writer: zipped CSV files, one job each, results zipped back onto the input rows.

bulk-write.md: upload to the content host (``feature: bulk-write``,
``X-CRM-ORG: <zgid>``), create the job with field mappings and ``find_by``,
poll it with backoff, download the result CSV and map its rows (in input
order) back to input rows. Zoho runs an org's jobs one after another, so the next
file is built, uploaded and its job created while the previous job is queued or
running; a job is polled only once the jobs this connection created before it have
finished (a poll costs a credit, and a queued job has nothing to tell).

Zoho's Bulk Write has no delete and cannot say which module a polymorphic or
multi-module lookup points at per row, so those writes go through the REST
writer (same report). A job costs 500 credits against 1 per 10 records over
REST, so :func:`choose_writer` picks REST below about 5,000 rows.

A job whose creation answer was lost cannot be asked about (there is no job
list). It is created again when repeating it cannot insert a row twice: an
update, an upsert whose every row has a value to match on, an insert with a key
(the job's ``find_by`` then skips rows the first job added). Otherwise its rows
are reported ``unknown``, like the rows of a job that was created but whose
outcome could not be read, and a resumed run looks them up before writing.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from connector.api import bulk
from connector.errors import ConnectorError, PlanningError, RetriableError
from connector.http.per_connection import PerConnection
from connector.http.retry import check_cancelled

from .base import PENDING_CODE, Rows, RowSource, Writer, WriteRun, WriteSession, pending_message
from .bulk_csv import CsvColumn, CsvFile, ResultRow, field_mappings, parse_result, plan_columns, split_files
from .reconcile import default_match_field, has_key, upsert_keys
from .report import Entry
from .rest import STOPPERS, RestWriter
from .validate import RowItem

log = logging.getLogger("connector.writers")
JOB_CREDITS = 500  # limits-and-errors.md section 2
JOB_OVERHEAD_CREDITS = 10  # upload, status polls and the download are ordinary 1-credit calls
REST_RECORDS_PER_CREDIT = 10


class JobLine:
    """The Bulk Write jobs one connection created and has not seen finish, oldest first: Zoho runs them in
    that order, so a job waits for those before it to be polled (chunks of a migration write at once)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: list[str] = []

    def join(self, job_id: str) -> None:
        with self._cond:
            self._jobs.append(job_id)

    def wait_turn(self, job_id: str) -> None:
        with self._cond:
            while self._jobs and self._jobs[0] != job_id and job_id in self._jobs:
                self._cond.wait(0.2)
                check_cancelled()  # a stopping run does not wait for its turn

    def leave(self, job_id: str) -> None:
        with self._cond:
            if job_id in self._jobs:
                self._jobs.remove(job_id)
            self._cond.notify_all()


#: the Bulk Write jobs of one connection (its HTTP client)
job_line: PerConnection[JobLine] = PerConnection(JobLine)


@dataclass
class _Job:
    """A file whose job was created (or whose rows are already settled: ``entries``)."""

    file: CsvFile
    sent: datetime
    job_id: str | None = None
    retried: bool = False
    entries: list[Entry] | None = None


def rest_credits(rows: int) -> int:
    return math.ceil(rows / REST_RECORDS_PER_CREDIT)


def bulk_credits(rows: int, max_rows: int = bulk.WRITE_MAX_ROWS) -> int:
    return math.ceil(rows / max_rows) * (JOB_CREDITS + JOB_OVERHEAD_CREDITS) if rows else 0


def choose_writer(session: WriteSession, rows: Rows | int, operation: str = "insert") -> Writer:
    """The writer that costs fewer credits for this many rows (REST below ~5,000; delete is REST only)."""
    n = rows if isinstance(rows, int) else rows.num_rows if isinstance(rows, (pa.Table, pa.RecordBatch)) \
        else RowSource(rows).num_rows
    if operation.lower() == "delete" or bulk_credits(n) >= rest_credits(n):
        return RestWriter(session)
    return BulkWriter(session)


def _rest_only_reason(run: WriteRun) -> str | None:
    if run.operation == "delete":
        return "Bulk Write has no delete"
    for c, f in run.plan.values:
        if c == run.plan.tag_column:
            return "tags travel in the record's payload, which a Bulk Write CSV does not carry"
        if f.data_type == "subform":
            # Zoho takes subform rows as a second CSV in the parent's zip (bulk-write.md section 1);
            # these files carry one CSV, so a parent with its rows goes through the records API.
            return f"{f.api_name} rows go inside their parent's record, which a one-CSV Bulk Write cannot carry"
        if f.polymorphic or f.data_type == "multi_module_lookup":
            return f"{f.api_name} points at a different module per row, which a Bulk Write mapping cannot say"
    return None


class BulkWriter(Writer):
    """``BulkWriter(session).write(module, rows, operation=..., key=..., trigger=(), dry_run=None)``."""

    name = "bulk"

    def __init__(self, session: WriteSession, *, max_rows: int = bulk.WRITE_MAX_ROWS, max_bytes: int = bulk.WRITE_MAX_BYTES,
                 poll_initial: float = 0.25, poll_max: float = 10.0, poll_timeout: float = 6 * 3600.0) -> None:
        super().__init__(session)
        self.max_rows = min(max_rows, bulk.WRITE_MAX_ROWS)
        self.max_bytes = min(max_bytes, bulk.WRITE_MAX_BYTES)
        self.poll_initial, self.poll_max, self.poll_timeout = poll_initial, poll_max, poll_timeout
        self.jobs: list[str] = []  # ids of the jobs this writer created (for logs and tests)

    def _execute(self, run: WriteRun, items: Iterator[RowItem]) -> None:
        reason = _rest_only_reason(run)
        if reason:
            log.info("%s %s goes through the REST API: %s", run.operation, run.module, reason)
            RestWriter(self.session)._execute(run, items)
            return
        if run.trigger:
            msg = "Bulk Write has no trigger option: the requested automations were not asked for"
            run.plan.warnings.append(msg)
            log.warning(msg)
        cols = plan_columns(run.plan)
        find_by = self._find_by(run)
        zgid = str(self.session.org()["zgid"])
        line = job_line(self.http)
        started: list[_Job] = []  # jobs created and not finished yet, oldest first
        try:
            for n, f in enumerate(split_files(cols, items, max_rows=self.max_rows, max_bytes=self.max_bytes)):
                # This file's job goes into Zoho's queue behind the previous one, which is then waited for.
                started.append(self._start_file(run, cols, f, zgid, n, find_by, line))
                if len(started) > 1:
                    run.record(self._finish_file(run, cols, started.pop(0), find_by, line), self.http.meter.total)
            while started:
                run.record(self._finish_file(run, cols, started.pop(0), find_by, line), self.http.meter.total)
        finally:
            for job in started:  # stopped before their turn: their rows stay "unknown" in the journal
                if job.job_id is not None:
                    line.leave(job.job_id)

    # -- one file ---------------------------------------------------------------------------------

    def _find_by(self, run: WriteRun) -> str | None:
        if run.operation == "update":
            return "id"  # as over REST: an update names its records by id
        if run.operation == "upsert":
            f = default_match_field(run.plan)
            if f is None:
                raise PlanningError(f"upsert into {run.module} through Bulk Write needs a key",
                                    hint="pass key=<a unique or duplicate-check field among the columns>")
            return f.api_name
        return run.plan.key_field.api_name if run.plan.key_field is not None else None

    def _send_file(self, run: WriteRun, cols: list[CsvColumn], f: CsvFile, zgid: str, n: int,
                   find_by: str | None) -> list[Entry]:
        """One file from upload to its rows' outcome."""
        line = job_line(self.http)
        return self._finish_file(run, cols, self._start_file(run, cols, f, zgid, n, find_by, line), find_by, line)

    def _start_file(self, run: WriteRun, cols: list[CsvColumn], f: CsvFile, zgid: str, n: int,
                    find_by: str | None, line: JobLine) -> _Job:
        """Journal the rows, upload the file and create its job (queued at Zoho behind the ones before)."""
        name = f"{run.module}-{n + 1:04d}.csv"
        sent = run.clock.now()  # Zoho's clock: a resumed run compares it with Created_Time
        keys = upsert_keys(run.plan)
        # Creating the job again after a lost answer is safe only if no row can be inserted twice.
        repeatable = run.operation == "update" or (run.operation == "insert" and find_by is not None) or (
            run.operation == "upsert" and all(has_key(keys, it) for it in f.items))
        if run.operation in ("insert", "upsert"):
            run.journal.record(Entry(it.row, "unknown", it.key, None, None, "sent in a bulk job; no result yet",
                                     run.unsure.get(it.row, sent)) for it in f.items)
        job = _Job(f, sent)
        try:
            file_id = self._upload(f.zipped(name), name, zgid)
            for attempt in range(self.config.max_retries + 1):
                try:
                    job.job_id = bulk.create_write_job(self.http, run.operation, run.module, file_id,
                                                       field_mappings(cols), find_by=find_by)
                    break
                except RetriableError as exc:
                    if not exc.ambiguous or attempt == self.config.max_retries:
                        raise
                    if not repeatable:
                        job.entries = self._entries(f.items, "unknown", "JOB_UNCONFIRMED",
                                                    "the answer to the job creation was lost; resume to look "
                                                    "these rows up before writing them again")
                        return job
                    job.retried = True  # the same job again is harmless (see the module docstring)
            assert job.job_id is not None
            self.jobs.append(job.job_id)
            line.join(job.job_id)
            if run.operation in ("insert", "upsert"):
                # A run killed from here on leaves a job Zoho may still run: a resumed write waits for it
                # (by this id) before looking its rows up, or it would send them a second time.
                run.journal.record(Entry(it.row, "unknown", it.key, None, PENDING_CODE, pending_message(job.job_id),
                                         run.unsure.get(it.row, sent)) for it in f.items)
        except STOPPERS:
            raise
        except ConnectorError as exc:
            job.entries = self._failed_job(run, f, job.job_id, exc)
        return job

    def _failed_job(self, run: WriteRun, f: CsvFile, job_id: str | None, exc: ConnectorError) -> list[Entry]:
        # Once a job may exist, its rows may be written whatever happens to us: look before repeating.
        doubt = (isinstance(exc, RetriableError) and exc.ambiguous) or job_id is not None
        state = "unknown" if run.operation != "update" and doubt else "failed"
        message = f"{pending_message(job_id)}: {exc}" if job_id is not None and state == "unknown" else str(exc)
        return self._entries(f.items, state, getattr(exc, "code", None) or type(exc).__name__, message)

    def _finish_file(self, run: WriteRun, cols: list[CsvColumn], job: _Job, find_by: str | None,
                     line: JobLine) -> list[Entry]:
        """Wait for the job (after those before it), download its result, one entry per row."""
        if job.entries is not None:
            return job.entries
        f, job_id = job.file, job.job_id
        assert job_id is not None
        try:
            line.wait_turn(job_id)
            status = self._wait(job_id)
        except STOPPERS:
            raise
        except ConnectorError as exc:
            return self._failed_job(run, f, job_id, exc)
        finally:
            line.leave(job_id)
        url = (status.get("result") or {}).get("download_url")
        may_have_inserted = run.operation != "update"
        if not url:
            state = "unknown" if may_have_inserted else "failed"
            return self._entries(f.items, state, "JOB_FAILED", f"bulk write job {job_id} ended {status.get('status')} "
                                 "without a result file")
        try:
            results = parse_result(bulk.download_write_result(self.http, url))
        except (ConnectorError, ValueError) as exc:
            state = "unknown" if may_have_inserted else "failed"
            return self._entries(f.items, state, "RESULT_UNREADABLE", f"job {job_id}: {exc}")
        if len(results) != len(f.items):
            return self._entries(f.items, "unknown" if may_have_inserted else "failed", "RESULT_MISMATCH",
                                 f"job {job_id} answered {len(results)} rows for {len(f.items)}")
        entries = [self._entry(run, it, res, cols, find_by) for it, res in zip(f.items, results, strict=True)]
        if job.retried and find_by is not None:
            entries = self._claim_skipped(run, f.items, entries, job.sent)
        return entries

    def _upload(self, data: bytes, name: str, zgid: str) -> str:
        for attempt in range(self.config.max_retries + 1):
            try:
                return bulk.upload(self.http, data, name, zgid)
            except RetriableError as exc:
                # Uploading the file again is harmless: an unused upload simply expires.
                if not exc.ambiguous or attempt == self.config.max_retries:
                    raise
        raise AssertionError("unreachable")

    def _wait(self, job_id: str) -> dict[str, Any]:
        # The pause between polls ends at once when the run stops (a chunk sender sees no signal itself).
        return bulk.wait_write_job(self.http, job_id, initial=self.poll_initial, cap=self.poll_max,
                                   timeout=self.poll_timeout)

    @staticmethod
    def _entries(items: list[RowItem], status: str, code: str, message: str) -> list[Entry]:
        return [Entry(it.row, status, it.key, it.record_id, code, message) for it in items]

    def _entry(self, run: WriteRun, it: RowItem, res: ResultRow, cols: list[CsvColumn], find_by: str | None
               ) -> Entry:
        if res.status in ("ADDED", "UPDATED"):
            status = "inserted" if res.status == "ADDED" else "updated"
            return Entry(it.row, status, it.key, res.record_id or it.record_id, "SUCCESS",
                         "record added" if status == "inserted" else "record updated")
        if res.status == "UNPROCESSED":
            return Entry(it.row, "unprocessed", it.key, it.record_id, "UNPROCESSED", "the job did not reach this row")
        if not res.errors:
            return Entry(it.row, "skipped", it.key, it.record_id, "SKIPPED", "skipped by Zoho")
        by_header = {c.header: c.input_column for c in cols}
        code = res.errors[0][0]
        message = "; ".join(f"{c}: {', '.join(by_header.get(h, h) for h in hs)}" for c, hs in res.errors)
        key_header = next((c.header for c in cols if c.api_name == find_by), None)
        if run.operation == "insert" and code == "DUPLICATE_DATA" and res.errors[0][1] == [key_header]:
            # With a key, an insert leaves rows whose key already exists alone (find_by).
            return Entry(it.row, "skipped", it.key, None, code, f"a record with this {find_by} exists")
        return Entry(it.row, "failed", it.key, it.record_id, code, message)

    def _claim_skipped(self, run: WriteRun, items: list[RowItem], entries: list[Entry], sent: Any) -> list[Entry]:
        """After a repeated insert job, rows skipped as duplicates may be the first job's: look them up."""
        skipped = [it for it, e in zip(items, entries, strict=True) if e.status == "skipped"]
        if not skipped:
            return entries
        with run.lock:
            claimed = set(run.claimed)
        found = run.finder.find(skipped, sent, claimed)
        return [Entry(e.row, "inserted", e.key, found[e.row], "SUCCESS", "record added (by the first of two jobs)")
                if e.row in found else e for e in entries]
