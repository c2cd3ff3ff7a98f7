"""What every writer does the same way: permission, validation, resume, dry run, the report.

A writer subclass only says how valid rows reach Zoho (:meth:`Writer._execute`).
The order of a write is fixed here: AllowedOperations/AllowedModules are checked
before any call, then the catalog is read, the input columns are planned
(unknown columns stop the write before any data call), rows an earlier report
marks done are skipped, and every other row is validated; invalid rows are
reported at once and never stop the others.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import pyarrow as pa

from connector.api import bulk, metadata
from connector.config.config import ConnectionConfig
from connector.errors import (
    ConfigError,
    FatalApiError,
    PlanningError,
    RetriableError,
    StateError,
)
from connector.http.client import ZohoHttp
from connector.http.guard import require_write
from connector.http.policy import acting_as
from connector.schema.catalog import Catalog
from connector.schema.types import TableSchema

from .reconcile import RecordFinder, ServerClock, has_key, server_clock, upsert_keys
from .report import DONE, Entry, ReportJournal, WriteReport, holding
from .validate import OPERATIONS, Problem, RowItem, WritePlan

log = logging.getLogger("connector.writers")

#: the code of an ``unknown`` row whose Bulk Write job was created and not seen to finish
PENDING_CODE = "JOB_PENDING"
JOB_WAIT_S = 6 * 3600.0  # a resumed write waits this long for a job an earlier run left at Zoho
_PENDING = re.compile(r"^bulk write job (\d+)\b")


def pending_message(job_id: str) -> str:
    return f"bulk write job {job_id} created; no result yet"


def pending_job(entry: Entry) -> str | None:
    """The Bulk Write job an ``unknown`` row was sent in, when the journal knows it."""
    hit = _PENDING.match(entry.message or "") if entry.status == "unknown" else None
    return hit.group(1) if hit else None

CHUNK_ROWS = 1_000  # rows converted from Arrow to Python at a time
IDS_PER_CALL = 100  # GET /{module}?ids= takes at most 100 (records.md section 1)
TRIGGERS = ("workflow", "approval", "blueprint", "pathfinder", "orchestration")  # records.md section 3

Rows: TypeAlias = pa.Table | pa.RecordBatch | Sequence[dict[str, Any]]


class WriteSession(Protocol):
    """What a writer needs of a connection (a :class:`~connector.session.ZohoSession` has it all):
    its settings, its HTTP client, its catalog and the org (Bulk Write uploads name the org's zgid)."""

    @property
    def config(self) -> ConnectionConfig: ...

    @property
    def http(self) -> ZohoHttp: ...

    @property
    def catalog(self) -> Catalog: ...

    def org(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WriteProgress:
    """Handed to the ``progress`` callback after every batch (the CLI draws bars from it)."""

    module: str
    operation: str
    done: int  # rows with a final status in this run
    total: int  # rows this run handles (input rows minus those an earlier report marks done)
    failed: int
    credits: int


ProgressCallback = Callable[[WriteProgress], None]


class RowSource:
    """The input rows, read a chunk at a time as plain dicts (Arrow tables are never copied whole)."""

    def __init__(self, rows: Rows) -> None:
        self.table: pa.Table | None = None
        self.dicts: list[dict[str, Any]] = []
        if isinstance(rows, pa.RecordBatch):
            rows = pa.Table.from_batches([rows])
        if isinstance(rows, pa.Table):
            self.table = rows
            self.column_names = list(rows.column_names)
            self.num_rows = rows.num_rows
        else:
            self.dicts = [dict(r) for r in rows]
            self.column_names = list(dict.fromkeys(k for r in self.dicts for k in r))
            self.num_rows = len(self.dicts)

    def chunk(self, start: int, size: int) -> list[dict[str, Any]]:
        if self.table is not None:
            return list(self.table.slice(start, size).to_pylist())
        return self.dicts[start:start + size]

    def take(self, indices: list[int]) -> list[dict[str, Any]]:
        if self.table is not None:
            return self.table.take(pa.array(indices, pa.int64())).to_pylist() if indices else []
        return [self.dicts[i] for i in indices]


def problem_entry(row: int, key: str | None, problems: list[Problem], record_id: str | None = None) -> Entry:
    """Zoho reports one code per record: the first problem's; the message lists them all."""
    return Entry(row, "failed", key, record_id, problems[0].code, "; ".join(p.text() for p in problems))


@dataclass
class WriteRun:
    """One write's state, shared by the batches (some run on worker threads)."""

    module: str
    operation: str
    ts: TableSchema
    plan: WritePlan
    journal: ReportJournal
    trigger: list[str]
    dry_run: bool
    progress: ProgressCallback | None
    clock: ServerClock
    finder: RecordFinder
    total: int = 0
    claimed: set[str] = field(default_factory=set)  # record ids the report already gives to a row
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    failed: int = 0
    credits_at_start: int = 0
    #: when an earlier run last tried rows it did not finish (a resumed delete looks in the recycle bin from then)
    tried_at: dict[int, datetime] = field(default_factory=dict)
    #: rows an earlier run sent without learning the outcome, and when (Zoho's clock): they may exist
    unsure: dict[int, datetime] = field(default_factory=dict)

    def since(self, rows: Iterable[int], sent: datetime) -> datetime:
        return min([sent, *(self.tried_at[r] for r in rows if r in self.tried_at)])

    def stamped(self, entries: Iterable[Entry]) -> list[Entry]:
        """Entries timed on Zoho's clock: a resume compares them with Zoho's own times.

        A row still ``unknown`` keeps the time it was first sent (journaled before its call):
        a resumed run looks for its record from then on, not from when we gave up waiting.
        """
        now = self.clock.now()
        out = []
        for e in entries:
            before = self.journal.get(e.row) if e.status == "unknown" else None
            out.append(replace(e, at=before.at if before is not None and before.status == "unknown" else now))
        return out

    def record(self, entries: list[Entry], credits: int) -> None:
        """Keep a batch's outcome (on the caller's thread) and tell the progress callback."""
        entries = self.stamped(entries)
        self.journal.record(entries, durable=False)  # outcomes: see ReportJournal.record
        with self.lock:
            self.claimed.update(e.record_id for e in entries if e.record_id and e.status == "inserted")
            self.done += sum(1 for e in entries if e.status != "unknown")
            self.failed += sum(1 for e in entries if e.status == "failed")
            info = WriteProgress(self.module, self.operation, self.done, self.total, self.failed,
                                 credits - self.credits_at_start)
        if self.progress is not None:
            self.progress(info)


class Writer:
    """The shared ``write()``; subclasses implement :meth:`_execute` (and may override dry runs)."""

    name = "writer"

    def __init__(self, session: WriteSession) -> None:
        self.session = session
        self.http = session.http
        self.config = session.config

    def write(self, module: str, rows: Rows, operation: str = "insert", key: str | None = None,
              trigger: Iterable[str] = (), dry_run: bool | None = None, *, report_path: str | Path | None = None,
              resume_from: str | Path | None = None, progress: ProgressCallback | None = None,
              report_wait_s: float = 0.0, resume_if_there: bool = False) -> WriteReport:
        # The reads a write makes of its own module (ids to check, rows to reconcile) are part of it.
        with acting_as(operation.strip().lower() if isinstance(operation, str) else "", module):
            return self._write(module, rows, operation, key, trigger, dry_run, report_path=report_path,
                               resume_from=resume_from, progress=progress, report_wait_s=report_wait_s,
                               resume_if_there=resume_if_there)

    def _write(self, module: str, rows: Rows, operation: str = "insert", key: str | None = None,
               trigger: Iterable[str] = (), dry_run: bool | None = None, *, report_path: str | Path | None = None,
               resume_from: str | Path | None = None, progress: ProgressCallback | None = None,
               report_wait_s: float = 0.0, resume_if_there: bool = False) -> WriteReport:
        """Write ``rows`` to ``module``; every input row gets one line in the returned report.

        ``key``: the duplicate-check field for upsert, and what rows are recognised by after a lost
        answer. ``trigger``: automations to run (default none: ``"trigger": []``). ``dry_run``: None
        takes the connection's DryRun. ``report_path``: results file (.csv or .parquet) kept up to
        date while the write runs. ``resume_from``: an earlier report; rows it marks done are skipped,
        the others written (the report goes to ``report_path``, else back to ``resume_from``).
        ``report_wait_s``: how long to wait for another write holding the same report (``holding``).
        ``resume_if_there``: resume from ``report_path`` when a report is there once this write holds it
        (a Spark task that may be another attempt of itself).
        """
        op = operation.strip().lower()
        if op not in OPERATIONS:
            raise PlanningError(f"unknown write operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
        require_write(self.config, op, module)  # before any call, even a metadata read
        triggers = list(dict.fromkeys(trigger))
        unknown_triggers = [t for t in triggers if t not in TRIGGERS]
        if unknown_triggers:
            raise PlanningError(f"unknown trigger {', '.join(map(repr, unknown_triggers))}",
                                hint=f"triggers are {', '.join(TRIGGERS)}")
        dry = self.config.dry_run if dry_run is None else bool(dry_run)
        api_module = self.session.catalog.resolve(module)
        require_write(self.config, op, api_module)
        source = RowSource(rows)
        if source.num_rows == 0 and not source.column_names:
            return WriteReport.from_entries([], module=api_module, operation=op, dry_run=dry)
        ts = self.session.catalog.table(api_module)
        plan = WritePlan(ts, source.column_names, op, key)
        target = report_path if report_path is not None else None if dry else resume_from
        if dry and target is not None and resume_from is not None and Path(target).resolve() == \
                Path(resume_from).resolve():
            # Its "unknown" rows must stay unknown: a later real run looks them up before writing.
            raise ConfigError("a dry run does not overwrite the report it resumes from",
                              hint="give the dry run another report_path, or none")
        # The report is read only once no other write holds it: all it recorded is then in it.
        with holding(target if target is not None else resume_from, report_wait_s):
            if resume_if_there and resume_from is None and target is not None and WriteReport.exists(target):
                resume_from = target
            return self._write_held(api_module, op, ts, plan, source, triggers, dry, target, resume_from, progress)

    def _write_held(self, api_module: str, op: str, ts: TableSchema, plan: WritePlan, source: RowSource,
                    triggers: list[str], dry: bool, target: str | Path | None, resume_from: str | Path | None,
                    progress: ProgressCallback | None) -> WriteReport:
        previous = WriteReport.read(resume_from).entries() if resume_from is not None else {}
        if previous and max(previous) >= source.num_rows:
            raise StateError(f"the report {resume_from} has row {max(previous)} but the input has "
                             f"{source.num_rows} rows", hint="resume with the same input as the earlier write")
        journal = ReportJournal(target, previous.values())
        clock: ServerClock = server_clock(self.http)
        run = WriteRun(api_module, op, ts, plan, journal, triggers, dry, progress, clock,
                       RecordFinder(self.http, ts, plan, clock), credits_at_start=self.http.meter.total)
        run.claimed = {e.record_id for e in previous.values() if e.record_id and e.status == "inserted"}
        run.tried_at = {e.row: e.at for e in previous.values() if e.status in ("failed", "unknown")}
        run.unsure = {e.row: e.at for e in previous.values() if e.status == "unknown"}
        if not dry and op != "update" and source.num_rows:
            clock.prime(self.http)  # send times are journaled on Zoho's clock from the first row
        todo = [i for i in range(source.num_rows) if i not in previous or previous[i].status not in DONE]
        run.total = len(todo)
        meta = {"module": api_module, "operation": op, "dry_run": dry, "warnings": plan.warnings}
        try:
            if op in ("insert", "upsert") and not dry:
                settled = self._settle_unknown(run, source, previous)
                todo = [i for i in todo if i not in settled]
            items = self._valid_items(run, source, todo)
            if dry:
                self._dry_run(run, items)
            else:
                self._execute(run, items)
        except BaseException:
            # Whatever stops the write, the report says so for every row it did not reach.
            journal.fill(todo, "unprocessed", "not attempted: the write stopped before this row")
            journal.finish(credits=self.http.meter.total - run.credits_at_start, **meta)
            raise
        journal.fill(todo, "unprocessed", "not attempted")
        report = journal.finish(credits=self.http.meter.total - run.credits_at_start, **meta)
        log.info("%s %s via %s: %s", op, api_module, self.name, report.summary())
        return report

    # -- rows -----------------------------------------------------------------------------------

    def _settle_unknown(self, run: WriteRun, source: RowSource, previous: dict[int, Entry]) -> set[int]:
        """Rows an earlier insert sent without learning the outcome: look them up before sending again."""
        unknown = sorted((e for e in previous.values() if e.status == "unknown"), key=lambda e: e.row)
        if not unknown:
            return set()
        items = [it for e, row in zip(unknown, source.take([e.row for e in unknown]), strict=True)
                 if isinstance(it := run.plan.check(e.row, row), RowItem)]
        if run.operation == "upsert":  # rows with a key are simply upserted again; the others were inserts
            keys = upsert_keys(run.plan)
            items = [it for it in items if not has_key(keys, it)]
        self._await_jobs(sorted({j for e in unknown if (j := pending_job(e)) is not None}))
        found = run.finder.find(items, min(e.at for e in unknown), run.claimed)
        by_row = {it.row: it for it in items}
        run.record([Entry(r, "inserted", by_row[r].key, rid, "SUCCESS",
                          "record added (found in Zoho after an interrupted write)") for r, rid in found.items()],
                   self.http.meter.total)
        return set(found)

    def _await_jobs(self, job_ids: list[str]) -> None:
        """Wait for the Bulk Write jobs an earlier run left behind: until Zoho has run them, their rows
        cannot be found, and sending those rows again would write them twice."""
        for job_id in job_ids:
            log.info("waiting for bulk write job %s, left by an earlier run, to end", job_id)
            try:
                bulk.wait_write_job(self.http, job_id, initial=0.25, cap=10.0, timeout=JOB_WAIT_S)
            except FatalApiError as exc:
                # Zoho keeps a job's details for a limited time; one it no longer knows has long ended.
                log.info("bulk write job %s left by an earlier run: %s; looking its rows up", job_id, exc.code)
            except RetriableError as exc:
                if exc.code != "JOB_TIMEOUT":
                    raise
                raise RetriableError(
                    f"the bulk write job {job_id} an earlier run started has not ended at Zoho",
                    code="JOB_PENDING", hint="resume once Zoho has run it; its rows are looked up then, so "
                    "none is written twice") from None

    def _valid_items(self, run: WriteRun, source: RowSource, todo: list[int]) -> Iterator[RowItem]:
        """Validated rows, in input order; invalid rows are reported as they are met."""
        wanted = set(todo)
        for start in range(0, source.num_rows, CHUNK_ROWS):
            if not any(i in wanted for i in range(start, min(start + CHUNK_ROWS, source.num_rows))):
                continue
            bad: list[Entry] = []
            for offset, row in enumerate(source.chunk(start, CHUNK_ROWS)):
                i = start + offset
                if i not in wanted:
                    continue
                checked = run.plan.check(i, row)
                if isinstance(checked, list):
                    bad.append(problem_entry(i, run.plan.key_of(row), checked))
                else:
                    yield checked
            if bad:
                run.record(bad, self.http.meter.total)

    # -- dry run ----------------------------------------------------------------------------------

    def _dry_run(self, run: WriteRun, items: Iterator[RowItem]) -> None:
        """Report what would be written and every row that would fail; reads only, no write call."""
        status = f"would_{run.operation}"
        chunk: list[RowItem] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= IDS_PER_CALL:
                run.record(self._dry_chunk(run, chunk, status), self.http.meter.total)
                chunk = []
        if chunk:
            run.record(self._dry_chunk(run, chunk, status), self.http.meter.total)

    def _dry_chunk(self, run: WriteRun, chunk: list[RowItem], status: str) -> list[Entry]:
        problems: dict[int, list[Problem]] = {}
        if run.operation in ("update", "delete"):
            missing = self._missing_ids(run.module, {it.record_id for it in chunk if it.record_id})
            for it in chunk:
                if it.record_id in missing:
                    problems.setdefault(it.row, []).append(Problem(
                        "INVALID_DATA", "id", "the id given seems to be invalid", {"id": it.record_id}))
        for column, f in run.plan.values:
            if not f.is_lookup or f.data_type == "layout":
                continue
            refs = {it.payload[f.api_name]["id"] for it in chunk if isinstance(it.payload.get(f.api_name), dict)}
            if not refs:
                continue
            if f.lookup_module == "Users":
                missing = refs - self._active_users()
            elif f.polymorphic or f.data_type == "multi_module_lookup":
                continue  # the target differs per row; Zoho checks it on write
            elif f.lookup_module:
                missing = self._missing_ids(f.lookup_module, refs)
            else:
                continue
            for it in chunk:
                ref = it.payload.get(f.api_name)
                if isinstance(ref, dict) and ref.get("id") in missing:
                    problems.setdefault(it.row, []).append(Problem(
                        "INVALID_DATA", column, "invalid data", {"id": ref["id"]}))
        return [problem_entry(it.row, it.key, problems[it.row], it.record_id) if it.row in problems
                else Entry(it.row, status, it.key, it.record_id) for it in chunk]

    def _missing_ids(self, module: str, ids: set[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(ids)
        for start in range(0, len(wanted), IDS_PER_CALL):
            part = wanted[start:start + IDS_PER_CALL]
            params = {"ids": ",".join(part), "fields": "id"}
            if module == "Leads":
                params["converted"] = "both"  # converted leads are records too
            r = self.http.get(f"/{module}", params=params, kind="get", what=f"check {module} ids")
            if not r.empty:
                found |= {str(d.get("id")) for d in r.body.get("data", [])}
        return ids - found

    def _active_users(self) -> set[str]:
        if not hasattr(self, "_users"):
            self._users = {str(u.get("id")) for u in metadata.list_users(self.http)
                           if str(u.get("status", "active")).lower() == "active"}
        return self._users

    # -- the part each writer does its own way ------------------------------------------------------

    def _execute(self, run: WriteRun, items: Iterator[RowItem]) -> None:
        raise NotImplementedError
