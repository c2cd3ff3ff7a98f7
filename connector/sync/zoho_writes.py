"""One Zoho target's writes: rows through the writers, each outcome settled in the id map and the
per-row report, insert batches made crash-safe.

The target (:mod:`.target_zoho`) decides *what* to write; this decides how a write reaches Zoho
and what is kept of it:

* the API per module: Bulk Write takes subform and linking rows only inside their parent's
  zip, as a second CSV (bulk-write.md sections 1 and 5), which these one-CSV files do not
  build, so those modules, and parents written with their line items, go through REST; the
  others through what ``write_api`` says;
* before an insert batch is sent, its rows (lookups already rewritten) are saved under
  ``<state>.pending/`` and the writer journals every row ``unknown`` before its call; the id
  map is committed after the batch, then the pending files go. A re-run finds them and
  resumes the writer, which looks rows with no known outcome up in Zoho before sending again;
* updates, upserts by key and deletes are safe to repeat, so they are sent as they are;
* a module whose rows cannot point at each other keeps up to two insert chunks on the wire while
  the next is prepared (:mod:`.zoho_inflight`); they are settled in order on the run's thread.

The second pass (:mod:`.zoho_second_pass`) writes through :meth:`ZohoWrites.write` too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connector import writers
from connector.errors import PermissionDenied
from connector.http.guard import missing_writes
from connector.localfs import private_dir, write_private
from connector.session import ZohoSession
from connector.writers.base import ProgressCallback, Rows, WriteProgress
from connector.writers.report import DONE, Entry, WriteReport

from .contract import ProgressFn
from .idmap import SyncStateStore, pending_dir
from .lookups import RECORD
from .paths import STATE
from .zoho_inflight import InFlight
from .zoho_report import FailureLog
from .zoho_rows import RowPlanner
from .zoho_tags import TagSync

log = logging.getLogger("connector.sync")
#: said with an insert Zoho refused as a duplicate: the record it names was not made by this migration
#: (rows this migration made are in its id map and are updated, never inserted again)
DUPLICATE_HINT = ("the target already holds that record (duplicate_record), made outside this migration: to "
                  "take it as this row's record and update it, run with --mode upsert --key <that field>; or "
                  "remove it from the target and run again")


@dataclass
class ModuleTally:
    """What the writes of one module came to in this run."""

    notes: list[str] = field(default_factory=list)
    sent: int = 0  # source rows handed to the writers so far
    owners_defaulted: int = 0  # user lookups set to the connection's user (no active user matched)
    participants_dropped: int = 0  # meeting participants whose record is not in the target


class ZohoWrites:
    """Writes of one run into one Zoho org, kept in its sync state (``store``) and report (``failures``)."""

    def __init__(self, session: ZohoSession, store: SyncStateStore, failures: FailureLog, *, mode: str,
                 key: str | None, write_api: str, progress: ProgressFn | None = None) -> None:
        self.session, self.store, self.failures = session, store, failures
        self.operation = "upsert" if mode == "upsert" else "insert"  # what a row the target lacks becomes
        self.key = key  # the upsert key, or what inserted rows are recognised by after a lost answer
        self.write_api = write_api
        self.dry_run = bool(session.config.dry_run)
        self.progress = progress
        self.tallies: dict[str, ModuleTally] = {}
        #: module -> source ids of resumed batches still unconfirmed: not written again in this run
        self.unsettled: dict[str, set[str]] = {}
        self.dry_deferred = 0  # lookups a dry run would have left to the second pass
        #: told (module, source id -> target id) of every batch that landed (a target maps line items with it)
        self.on_settled: Callable[[str, dict[str, str]], None] | None = None
        self.tags = TagSync(session, store, failures)  # tags the source dropped come off the target's records
        self.inflight = InFlight()  # insert chunks on the wire while the next is prepared
        self._progress_lock = threading.Lock()  # senders report progress from their threads
        #: module -> rows done so far by each chunk on the wire (they count in the module's progress)
        self._live: dict[str, dict[object, int]] = {}

    def tally(self, module: str) -> ModuleTally:
        return self.tallies.setdefault(module, ModuleTally())

    def api(self, module: str) -> str:
        """REST for subform and linking modules and for parents written with their subform rows
        (see the module docstring), else ``write_api``."""
        info = self.session.catalog.modules().get(module)
        if info is not None and info.generated_type in ("subform", "linking"):
            return "rest"
        if info is not None and any(f.data_type == "subform" for f in self.session.catalog.table(module).fields.values()):
            return "rest"
        return self.write_api

    def _progress(self, module: str, live: object | None = None) -> ProgressCallback | None:
        """The writer's per-write counts, as rows written in this module so far: rows settled, those
        done by the chunks on the wire, and this write's (``live``: this write is such a chunk)."""
        progress = self.progress
        if progress is None:
            return None
        base = self.tally(module).sent
        chunks = self._live.setdefault(module, {})

        def report(info: WriteProgress) -> None:
            with self._progress_lock:
                if live is not None:
                    chunks[live] = info.done
                    progress(module, "write", self.tally(module).sent + sum(chunks.values()))
                else:
                    progress(module, "write", base + sum(chunks.values()) + info.done)

        return report

    def write(self, module: str, rows: Rows, operation: str, key: str | None = None,
              *, report_path: Path | None = None, resume_from: Path | None = None,
              live: object | None = None) -> WriteReport:
        """One write through the writers, by this module's API, counted in the run's progress."""
        return writers.write(self.session, module, rows, operation, key, api=self.api(module),
                             report_path=report_path, resume_from=resume_from,
                             progress=self._progress(module, live))

    # -- a chunk of source rows -------------------------------------------------------------------

    def write_chunk(self, module: str, planner: RowPlanner, table: pa.Table) -> int:
        """Insert (or upsert) the rows the id map does not know, update those it does; rows written."""
        unsettled = self.unsettled.get(module)
        if unsettled:  # sent by a killed run, outcome still unknown: sending them again could double them
            ids = pc.cast(table.column("id"), pa.string())
            table = table.filter(pc.invert(pc.is_in(ids, value_set=pa.array(sorted(unsettled), pa.string()))))
        sids = [str(s) for s in table.column("id").to_pylist()]
        prep = planner.prepare(table, self.store.lookup(module, sids), self.store.lookup)
        written = 0
        if prep.participants_dropped:
            self.tally(module).participants_dropped += prep.participants_dropped
        if prep.failed:  # not sent: a record they need is not in the target (the message says which)
            self.failures.add(module, self.operation, [(sid, Entry(0, "failed", code=code, message=message))
                                                       for sid, code, message in prep.failed])
            if not self.dry_run:
                self.store.record(module, {}, {sid: (code, message) for sid, code, message in prep.failed})
        if self.dry_run:
            if prep.inserts is not None:
                report = self.write(module, prep.inserts.drop_columns(["__source_id"]), self.operation, self.key)
                self.settle(module, report, _source_ids(prep.inserts), self.operation)
            prep.inserts = None
            self.dry_deferred += len(prep.deferred)
        else:
            # Deferred lookups are kept before the write: if we die after it, the second pass still knows.
            self.store.defer(module, sids, prep.deferred)
        if prep.inserts is not None:
            path = self._save_pending(module, prep.inserts)
            if self._pipelined(module, planner):
                written += self._launch(module, path)
            else:
                written += self.drain() + self.send_pending(module, path)
        for t in prep.updates:
            report = self.write(module, t.drop_columns(["__source_id"]), "update")
            written += self.settle(module, report, _source_ids(t), "update")
            self.tags.landed(module, t, report, _source_ids(t), "update", planner.tag_column)
        return written

    # -- chunks on the wire while the next is prepared (zoho_inflight) -----------------------------

    @staticmethod
    def _pipelined(module: str, planner: RowPlanner) -> bool:
        """Whether the next chunk may be prepared before this one lands: no row of this module can
        point at another (a lookup to the module itself, line items) — else it would find no id."""
        return not planner.lines and not any(
            lc.kind == RECORD and (module in lc.targets or not lc.targets) for lc in planner.lookups)

    def _launch(self, module: str, path: Path) -> int:
        """Hand a saved chunk to a sender; settle the oldest first when DEPTH are on the wire already."""
        written = 0
        while self.inflight.full():
            written += self._settle_oldest()
        key = object()
        with self._progress_lock:
            self._live.setdefault(module, {})[key] = 0
        self.inflight.submit(module, path, key, lambda: self._send_pending(module, path, live=key))
        return written

    def _settle_oldest(self) -> int:
        try:
            chunk = self.inflight.oldest()
        except BaseException:
            self.abandon()
            raise
        report, table, operation = chunk.future.result()
        return self._finish_pending(chunk.module, chunk.path, report, table, operation, chunk.key)

    def drain(self) -> int:
        """Settle every chunk still on the wire (before a module's deletes, files or state); rows written."""
        written = 0
        while len(self.inflight):
            written += self._settle_oldest()
        return written

    def abandon(self) -> None:
        """The run is stopping: stop the senders; their chunks stay pending for the next run."""
        self.inflight.abandon()
        with self._progress_lock:
            self._live.clear()

    # -- pending insert batches (the crash-safe part) ---------------------------------------------

    def _pending_dir(self) -> Path:
        return private_dir(pending_dir(self.store.path), "pending write batches", setting=STATE)

    def _save_pending(self, module: str, table: pa.Table) -> Path:
        d = self._pending_dir()
        n = 1 + max((int(p.name.split(".")[-2]) for p in d.glob(f"{module}.*.parquet")), default=0)
        path = d / f"{module}.{n:06d}.parquet"
        meta = {"operation": self.operation, "key": self.key}
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)  # 0600: under the target's private umask
        write_private(path.with_suffix(".json"), json.dumps(meta), "pending write batch", setting=STATE)
        os.replace(tmp, path)  # the batch exists for a re-run only once it is whole
        return path

    def pending_batches(self, module: str | None = None) -> int:
        """Insert batches saved before they were sent and not finished yet (a killed run's)."""
        d = pending_dir(self.store.path)
        return len(list(d.glob(f"{module or '*'}.*.parquet"))) if d.is_dir() else 0

    def recover(self, module: str) -> None:
        """Finish insert batches a killed run left behind, before anything new is written."""
        if self.dry_run:
            waiting = self.pending_batches(module)
            if waiting:
                self.tally(module).notes.append(f"{waiting} insert batches of an interrupted run wait to be "
                                                "resumed; a run that is not a dry run resumes them first")
            return
        d = self._pending_dir()
        for tmp in d.glob(f".{module}.*.tmp"):
            tmp.unlink()
        for path in sorted(d.glob(f"{module}.*.parquet")):
            log.info("resuming an interrupted write batch %s", path.name)
            self.send_pending(module, path)
            if path.exists():  # rows Zoho still has not told us about: left to the next run, not re-sent now
                ids = pq.read_table(path, columns=["__source_id"]).column("__source_id").to_pylist()
                self.unsettled.setdefault(module, set()).update(str(i) for i in ids)

    def send_pending(self, module: str, path: Path) -> int:
        report, table, operation = self._send_pending(module, path)
        return self._finish_pending(module, path, report, table, operation)

    def _send_pending(self, module: str, path: Path, live: object | None = None
                      ) -> tuple[WriteReport, pa.Table, str]:
        """The write of a saved batch (files and Zoho only: a sender thread may run it)."""
        table = pq.read_table(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        report_path = path.with_suffix(".report.csv")
        try:
            report = self.write(module, table.drop_columns(["__source_id"]), meta["operation"], meta.get("key"),
                                report_path=report_path, resume_from=report_path if report_path.exists() else None,
                                live=live)
        except PermissionDenied:
            if not report_path.exists() or not WriteReport.read(report_path).table.num_rows:
                # Refused before anything was sent: no batch is left behind to resume.
                for p in (path, path.with_suffix(".json"), report_path):
                    p.unlink(missing_ok=True)
            raise
        return report, table, str(meta["operation"])

    def _finish_pending(self, module: str, path: Path, report: WriteReport, table: pa.Table, operation: str,
                        live: object | None = None) -> int:
        """Settle a saved batch's outcome (id map, report) on the run's thread, then let its files go."""
        written = self.settle(module, report, _source_ids(table), operation, live=live)
        self.tags.landed(module, table, report, _source_ids(table), operation, self.tags.column(module))
        report_path = path.with_suffix(".report.csv")
        if report.summary().get("unknown"):
            # Rows whose fate Zoho did not tell us stay pending: the next run looks them up first.
            return written
        # Rows first, journal last: with the rows gone nothing is resent; with the journal gone
        # but the rows still here, everything would be.
        path.unlink()
        path.with_suffix(".json").unlink(missing_ok=True)
        report_path.unlink(missing_ok=True)
        return written

    def settle(self, module: str, report: WriteReport, sids: list[str], operation: str,
               live: object | None = None) -> int:
        """Commit the id map for what landed; keep what did not for the report (one line per source row)."""
        pairs: dict[str, str] = {}
        failed: dict[str, tuple[str, str]] = {}
        bad: list[tuple[str, Entry]] = []
        entries = report.entries().values()
        for e in entries:
            sid = sids[e.row]
            if e.status in DONE and e.record_id:
                pairs[sid] = e.record_id
            else:
                if e.code == "DUPLICATE_DATA" and operation == "insert":
                    e = replace(e, message=f"{e.message or 'duplicate data'}; {DUPLICATE_HINT}")
                failed[sid] = (e.code or e.status, e.message or "Zoho answered without a record id")
                bad.append((sid, e))
        tally = self.tally(module)
        with self._progress_lock:  # from the chunk's live count to the settled count, at once
            tally.sent += len(sids)
            self._live.get(module, {}).pop(live, None)
        if self.dry_run:  # every row is reported (would_insert ..., or why it would fail); nothing is kept
            self.failures.add(module, operation, bad)
            return 0
        self.store.record(module, pairs, failed)
        if pairs and self.on_settled is not None:
            self.on_settled(module, pairs)
        self.failures.resolve(module, list(pairs))  # tried before in this run and landed now
        if bad:
            # "unknown" rows count as failed: the target is not known to hold them yet.
            self.failures.add(module, operation, bad)
            unknown = sum(1 for _, e in bad if e.status == "unknown")
            if unknown:
                tally.notes.append(f"{unknown} rows were sent but Zoho's answer was lost; the next run looks "
                                   "them up before sending anything again")
        return sum(1 for e in entries if e.status in ("inserted", "updated"))

    def delete(self, module: str, source_ids: list[str]) -> int:
        """Delete the records these source rows became; records deleted."""
        mapped = self.store.lookup(module, source_ids)
        if not mapped:
            return 0
        sids = list(mapped)
        if missing_writes(self.session.config, {module: ["delete"]}):
            # Deleting is the one write a sync may go without (a least-privilege target leaves it out on
            # purpose): the records stay, the run says so and how to let deletions through.
            self.tally(module).notes.append(
                f"{len(sids)} records deleted at the source stay in Zoho: the target connection does not allow "
                f"delete on {module} (add delete to AllowedOperations and {module} to AllowedModules to remove them)")
            return 0
        report = writers.write(self.session, module, [{"id": mapped[s]} for s in sids], "delete", api="rest")
        gone = []
        bad = []
        for e in report.entries().values():
            # INVALID_DATA: the record is not in the target any more (someone deleted it): nothing to do.
            if (e.status == "deleted" or e.code == "INVALID_DATA") and not self.dry_run:
                gone.append(sids[e.row])
            else:
                bad.append((sids[e.row], e))
        self.store.forget(module, gone)
        if bad:
            self.failures.add(module, "delete", bad)
        return sum(1 for e in report.entries().values() if e.status == "deleted")


def _source_ids(table: pa.Table) -> list[str]:
    return [str(x) for x in table.column("__source_id").to_pylist()]
