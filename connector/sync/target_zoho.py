"""Zoho CRM as a migration target, through the writers (REST or Bulk Write).

Rows whose source id the id map knows are *updated* (they are ours from an
earlier run); the others are inserted (``mode="insert"``) or upserted by
``key`` (``mode="upsert"``), with ``"trigger": []``: no workflow fires during a
migration. Lookups are rewritten through the id map (:mod:`.zoho_rows`); modules
load parents first; references to records not loaded yet are set by a second
pass at the end of the run.

Nothing lost, nothing twice, after a kill at any point:

* before an insert batch is sent, its rows (lookups already rewritten) are saved
  under ``<state>.pending/`` and the writer journals every row ``unknown`` before
  its call; the id map is committed after the batch, then the pending files go.
  A re-run finds them and *resumes* the writer, which looks rows with no known
  outcome up in Zoho (by ``key``, the module's unique or duplicate-check field,
  ``source_id_field`` when the target has such a field, else by matching the
  written values among records created since the send) before sending again;
* updates, upserts by key and deletes are safe to repeat.

Before any of that, every write the run may make (:mod:`.zoho_needs`) is put to
AllowedOperations/AllowedModules at once: a refused run has written nothing,
saved no batch, and its one error gives the text that allows it all. With
``DryRun=true`` on the target the writers validate and report what they would
write; nothing is sent, and neither the id map nor the sync state moves.

Limits, honestly: a row without any natural key, in a module with no
``source_id_field``, is recognised only by its values among records created
since its batch was sent — two identical such rows are told apart by order, and
a record someone else created with the same values in that window could be
taken for ours. Upserted rows whose key is empty behave as inserts without a key.
System fields (ids, created/modified times and users, autonumbers, formulas,
rollups, conversion flags) are the target's own and cannot be carried over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connector import writers
from connector.api import metadata
from connector.errors import ConfigError, ConnectorError, PermissionDenied, StateError
from connector.http.guard import require_writes
from connector.localfs import private_dir, private_umask, write_private
from connector.session import ZohoSession
from connector.writers.report import DONE, WriteReport

from .idmap import SyncStateStore
from .lookups import LookupColumn, load_order, lookup_columns, parent_edges, raw_targets
from .paths import REPORT_DIR, STATE, usable_file, usable_folder
from .state import ModuleState
from .zoho_needs import store_facts, writes_needed
from .zoho_report import FailureLog
from .zoho_rows import RowPlanner, UserMap, fixed_chunks

log = logging.getLogger("connector.sync")
MODES = ("insert", "upsert")
WRITE_APIS = ("auto", "rest", "bulk")
#: rows per write batch (and id-map commit): one Bulk Write file when Bulk may be chosen, else 2,000
DEFAULT_BATCH = {"auto": 25_000, "bulk": 25_000, "rest": 2_000}


def default_state_path(session: ZohoSession, key: str) -> Path:
    """Next to the sealed token store when there is one, else under ``~/.zohocrm/sync/``."""
    base = session.config.oauth_settings_location
    folder = Path(base).expanduser().parent if base else Path.home() / ".zohocrm" / "sync"
    return folder / f"zohocrm-sync-{key}.duckdb"


def reports_dir(state: Path) -> Path:
    """Where per-row reports go by default: ``<state>.reports/`` beside the state (``s.duckdb`` -> ``s.reports``)."""
    return state.with_name(state.stem + ".reports")


class ZohoTarget:
    scheme = "zoho"

    def __init__(self, session: ZohoSession, *, mode: str = "insert", key: str | None = None,
                 state_path: str | Path | None = None, write_api: str = "auto", source_id_field: str | None = None,
                 batch_rows: int | None = None, report_dir: str | Path | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be insert or upsert, not {mode!r}")
        if write_api not in WRITE_APIS:
            raise ConfigError(f"write_api must be one of {', '.join(WRITE_APIS)}, not {write_api!r}")
        self.session, self.mode, self.key, self.write_api = session, mode, key, write_api
        self.source_id_field = source_id_field
        self.batch_rows = batch_rows or DEFAULT_BATCH[write_api]
        # Checked now, before any Zoho call: a bad --state or --report-dir must not surface hours in.
        self.state_path = usable_file(state_path, "sync state", STATE) if state_path else None
        if self.state_path is None:
            usable_folder(default_state_path(session, "probe").parent, "folder of the sync state", STATE)
        self.report_dir = usable_folder(report_dir, "report folder", REPORT_DIR) if report_dir else None
        self.dry_run = bool(session.config.dry_run)  # validate and report; write nothing, keep no state
        #: module -> source ids of resumed batches still unconfirmed: not written again in this run
        self._unsettled: dict[str, set[str]] = {}
        self._dry_deferred = 0  # lookups a dry run would have left to the second pass
        # Pending batches (full record data), their reports and the failure report: private whatever
        # the umask, for as long as the target is open (pyarrow writes the batches and takes no mode).
        self._private = ExitStack()
        self._private.enter_context(private_umask())
        # A given --state that exists is opened now too: not a DuckDB file, or held by a running
        # migration, is said before any Zoho call. One that does not exist yet is created only once
        # the run is allowed to write (a refused run leaves no state file behind).
        self.store: SyncStateStore | None = None
        try:
            self.store = SyncStateStore(self.state_path) if self.state_path and self.state_path.exists() else None
        except BaseException:
            self._private.close()
            raise
        self.failures: FailureLog | None = None
        self.users = UserMap({}, {}, None)
        self.progress: Any = None
        self._lookups: dict[str, list[LookupColumn]] = {}
        self._layouts: dict[str, dict[str, str]] = {}
        self._stats: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"ZohoTarget({self.session.config.api_domain}, mode={self.mode})"

    def identity(self) -> str:
        return f"zoho:{self.session.config.api_domain}#{self.session.org().get('id')}"

    def credits(self) -> int:
        return int(self.session.http.meter.total)

    @property
    def report_path(self) -> str | None:
        return str(self.failures.path) if self.failures and self.failures.count else None

    # -- run hooks (see runner.py) ---------------------------------------------------------------

    def lookups(self, module: str) -> list[LookupColumn]:
        if module not in self._lookups:
            ts = self.session.catalog.table(module)
            targets = raw_targets(metadata.list_fields(self.session.http, ts.module))
            self._lookups[module] = lookup_columns(ts, targets)
        return self._lookups[module]

    def order_modules(self, names: list[str]) -> list[str]:
        known = set(self.session.catalog.modules())
        ordered, deferred = load_order([n for n in names if n in known],
                                       {n: parent_edges(self.lookups(n)) for n in names if n in known})
        if deferred:
            log.info("lookup cycles; set in a second pass: %s", sorted(deferred))
        return ordered + [n for n in names if n not in known]

    def state_file(self, source: Any) -> tuple[Path, str, str]:
        """The sync state file of this source/target pair, and the two identities it is bound to."""
        src = source.identity() if hasattr(source, "identity") else repr(source)
        tgt = self.identity()
        key = hashlib.sha256(f"{src}|{tgt}".encode()).hexdigest()[:16]
        return self.state_path or default_state_path(self.session, key), src, tgt

    def begin(self, source: Any, names: list[str], progress: Any = None) -> None:
        self.progress = progress
        path, src, tgt = self.state_file(source)
        # Opened only if it exists: a run refused below leaves no state file (nor any batch) behind.
        store = self.store or (SyncStateStore(path) if path.exists() else None)
        try:
            self._check_allowed(names, store)
        except BaseException:
            if store is not None:
                store.close()
                self.store = None
            raise
        # A dry run with no state yet keeps its (unchanged) state in memory only.
        self.store = store or SyncStateStore(":memory:" if self.dry_run else path)
        self.store.bind(src, tgt)
        self.failures = FailureLog(self.report_dir or reports_dir(path),
                                   f"{path.stem}.report" if self.report_dir else "report")
        try:
            me = (metadata.current_user(self.session.http) or {}).get("id")
            target_users = metadata.list_users(self.session.http)
        except ConnectorError as exc:  # no users scope: owners are left to Zoho (the connection's user)
            log.warning("cannot list the target's users (%s); record owners are left to Zoho", exc)
            me, target_users = None, []
        self.users = UserMap.build(source.users() if hasattr(source, "users") else [], target_users,
                                   str(me) if me else None)

    def _check_allowed(self, names: list[str], store: SyncStateStore | None) -> None:
        """Every write this run may make, allowed or refused in one PermissionDenied (before any write)."""
        needs = writes_needed(self.mode, [n for n in names if n in self.session.catalog.modules()], self.lookups,
                              *store_facts(store))
        require_writes(self.session.config, needs, whose="the target connection")

    def _store(self) -> SyncStateStore:
        if self.store is None:
            raise StateError("the Zoho target has not been started", hint="run it through connector.sync.run")
        return self.store

    def load_state(self) -> dict[str, ModuleState]:
        return self._store().load_states()

    def ids(self, module: str) -> set[str]:
        return self._store().source_ids(module)

    def module_stats(self, module: str) -> dict[str, Any]:
        """``failed``: source rows whose last outcome this run is not a success (each row once)."""
        out = dict(self._stats.get(module, {}))
        if self.failures is not None:
            out["failed"] = self.failures.failed(module)
            if self.dry_run:
                out["would"] = {k[len("would_"):]: v for k, v in self.failures.tally(module).items()
                                if k.startswith("would_")}
        return out

    def _stat(self, module: str) -> dict[str, Any]:
        return self._stats.setdefault(module, {"failed": 0, "notes": []})

    # -- data --------------------------------------------------------------------------------------

    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        store = self._store()
        self._recover(module)
        planner = self._planner(module, schema)
        seen: set[str] = set()
        written = 0
        for table in self._chunks(batches):
            seen.update(table.column("id").to_pylist())
            written += self._write_chunk(module, planner, table)
        # A full load is the whole source: records we put there whose source row is gone go too.
        self._delete(module, sorted(store.source_ids(module) - seen))
        state.rows = len(store.source_ids(module))
        if not self.dry_run:
            store.save_state(state)
        return written

    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        store = self._store()
        self._recover(module)
        planner = self._planner(module, schema)
        written = sum(self._write_chunk(module, planner, t) for t in self._chunks(batches))
        removed = self._delete(module, deleted_ids)
        state.rows = len(store.source_ids(module))
        if not self.dry_run:
            store.save_state(state)
        return written, removed

    def _planner(self, module: str, schema: pa.Schema) -> RowPlanner:
        ts = self.session.catalog.table(module)
        planner = RowPlanner(ts, self.lookups(module), schema.names, users=self.users,
                             layouts=self._layouts_of(ts.module), source_id_field=self.source_id_field)
        if planner.skipped:
            self._stat(module)["notes"].append(f"not in the target, not written: {', '.join(planner.skipped)}")
        return planner

    def _layouts_of(self, module: str) -> dict[str, str]:
        if module not in self._layouts:
            try:
                r = self.session.http.get("/settings/layouts", params={"module": module}, kind="metadata")
                found = [] if r.empty else r.body.get("layouts", [])
            except ConnectorError:
                found = []  # layouts left to the target's default
            self._layouts[module] = {str(x.get("name", "")).lower(): str(x["id"]) for x in found if x.get("id")}
        return self._layouts[module]

    def _chunks(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
        return fixed_chunks(batches, self.batch_rows)

    def _api(self, module: str) -> str:
        """Bulk Write takes subform and linking rows only inside their parent's file (bulk-write.md
        section 5), which a module-by-module migration does not build: those go through REST."""
        info = self.session.catalog.modules().get(module)
        if info is not None and info.generated_type in ("subform", "linking"):
            return "rest"
        return self.write_api

    def _key(self) -> str | None:
        return self.key or (self.source_id_field if self.source_id_field else None)

    def _progress(self, module: str) -> Any:
        """The writer's per-write counts, as rows written in this module so far."""
        if self.progress is None:
            return None
        base = self._stat(module).get("written_so_far", 0)
        return lambda info: self.progress(module, "write", base + info.done)

    def _write_chunk(self, module: str, planner: RowPlanner, table: pa.Table) -> int:
        store = self._store()
        unsettled = self._unsettled.get(module)
        if unsettled:  # sent by a killed run, outcome still unknown: sending them again could double them
            ids = pc.cast(table.column("id"), pa.string())
            table = table.filter(pc.invert(pc.is_in(ids, value_set=pa.array(sorted(unsettled), pa.string()))))
        sids = [str(s) for s in table.column("id").to_pylist()]
        prep = planner.prepare(table, store.lookup(module, sids), store.lookup)
        defaulted = self.users.fell_back
        written = 0
        if self.dry_run:
            if prep.inserts is not None:
                report = writers.write(self.session, module, prep.inserts.drop_columns(["__source_id"]),
                                       "upsert" if self.mode == "upsert" else "insert", self._key(),
                                       api=self._api(module), progress=self._progress(module))
                self._settle(module, report, [str(x) for x in prep.inserts.column("__source_id").to_pylist()],
                             "upsert" if self.mode == "upsert" else "insert")
            prep.inserts = None
            self._dry_deferred += len(prep.deferred)
        else:
            # Deferred lookups are kept before the write: if we die after it, the second pass still knows.
            store.defer(module, sids, prep.deferred)
        if prep.inserts is not None:
            written += self._send_pending(module, self._save_pending(module, prep.inserts))
        for t in prep.updates:
            report = writers.write(self.session, module, t.drop_columns(["__source_id"]), "update",
                                   api=self._api(module), progress=self._progress(module))
            written += self._settle(module, report, [str(x) for x in t.column("__source_id").to_pylist()],
                                    "update")
        if self.users.fell_back > defaulted:
            st = self._stat(module)
            st["owners_defaulted"] = st.get("owners_defaulted", 0) + self.users.fell_back - defaulted
        return written

    # -- pending insert batches (the crash-safe part) ---------------------------------------------

    def _pending_dir(self) -> Path:
        store = self._store()
        return private_dir(store.path.with_name(store.path.stem + ".pending"), "pending write batches", setting=STATE)

    def _save_pending(self, module: str, table: pa.Table) -> Path:
        d = self._pending_dir()
        n = 1 + max((int(p.name.split(".")[-2]) for p in d.glob(f"{module}.*.parquet")), default=0)
        path = d / f"{module}.{n:06d}.parquet"
        meta = {"operation": "upsert" if self.mode == "upsert" else "insert", "key": self._key()}
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)  # 0600: under the target's private umask
        write_private(path.with_suffix(".json"), json.dumps(meta), "pending write batch", setting=STATE)
        os.replace(tmp, path)  # the batch exists for a re-run only once it is whole
        return path

    def _recover(self, module: str) -> None:
        """Finish insert batches a killed run left behind, before anything new is written."""
        if self.dry_run:
            waiting = self.pending_batches(module)
            if waiting:
                self._stat(module)["notes"].append(f"{waiting} insert batches of an interrupted run wait to be "
                                                   "resumed; a run that is not a dry run resumes them first")
            return
        d = self._pending_dir()
        for tmp in d.glob(f".{module}.*.tmp"):
            tmp.unlink()
        for path in sorted(d.glob(f"{module}.*.parquet")):
            log.info("resuming an interrupted write batch %s", path.name)
            self._send_pending(module, path)
            if path.exists():  # rows Zoho still has not told us about: left to the next run, not re-sent now
                ids = pq.read_table(path, columns=["__source_id"]).column("__source_id").to_pylist()
                self._unsettled.setdefault(module, set()).update(str(i) for i in ids)

    def pending_batches(self, module: str | None = None) -> int:
        """Insert batches saved before they were sent and not finished yet (a killed run's)."""
        store = self._store()
        d = store.path.with_name(store.path.stem + ".pending")
        return len(list(d.glob(f"{module or '*'}.*.parquet"))) if d.is_dir() else 0

    def _send_pending(self, module: str, path: Path) -> int:
        table = pq.read_table(path)
        sids = [str(s) for s in table.column("__source_id").to_pylist()]
        meta = json.loads(path.with_suffix(".json").read_text())
        report_path = path.with_suffix(".report.csv")
        try:
            report = writers.write(self.session, module, table.drop_columns(["__source_id"]), meta["operation"],
                                   meta.get("key"), api=self._api(module), report_path=report_path,
                                   resume_from=report_path if report_path.exists() else None,
                                   progress=self._progress(module))
        except PermissionDenied:
            if not report_path.exists() or not WriteReport.read(report_path).table.num_rows:
                # Refused before anything was sent: no batch is left behind to resume.
                for p in (path, path.with_suffix(".json"), report_path):
                    p.unlink(missing_ok=True)
            raise
        written = self._settle(module, report, sids, meta["operation"])
        if report.summary().get("unknown"):
            # Rows whose fate Zoho did not tell us stay pending: the next run looks them up first.
            return written
        # Rows first, journal last: with the rows gone nothing is resent; with the journal gone
        # but the rows still here, everything would be.
        path.unlink()
        path.with_suffix(".json").unlink(missing_ok=True)
        report_path.unlink(missing_ok=True)
        return written

    def _settle(self, module: str, report: WriteReport, sids: list[str], operation: str) -> int:
        """Commit the id map for what landed; keep what did not for the report (one line per source row)."""
        pairs: dict[str, str] = {}
        failed: dict[str, tuple[str, str]] = {}
        bad = []
        for e in report.entries().values():
            sid = sids[e.row]
            if e.status in DONE and e.record_id:
                pairs[sid] = e.record_id
            else:
                failed[sid] = (e.code or e.status, e.message or "Zoho answered without a record id")
                bad.append((sid, e))
        st = self._stat(module)
        st["written_so_far"] = st.get("written_so_far", 0) + len(sids)
        if self.dry_run:  # every row is reported (would_insert ..., or why it would fail); nothing is kept
            if self.failures is not None:
                self.failures.add(module, operation, bad)
            return 0
        self._store().record(module, pairs, failed)
        if self.failures is not None:
            self.failures.resolve(module, list(pairs))  # tried before in this run and landed now
        if bad and self.failures is not None:
            # "unknown" rows count as failed: the target is not known to hold them yet.
            self.failures.add(module, operation, bad)
            unknown = sum(1 for _, e in bad if e.status == "unknown")
            if unknown:
                st["notes"].append(f"{unknown} rows were sent but Zoho's answer was lost; the next run looks "
                                   "them up before sending anything again")
        return sum(1 for e in report.entries().values() if e.status in ("inserted", "updated"))

    def _delete(self, module: str, source_ids: list[str]) -> int:
        store = self._store()
        mapped = store.lookup(module, source_ids)
        if not mapped:
            return 0
        sids = list(mapped)
        if not self.session.config.is_write_allowed("delete", module):
            # Deleting is the one write a sync may go without (a least-privilege target leaves it out on
            # purpose): the records stay, the run says so and how to let deletions through.
            self._stat(module)["notes"].append(
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
        store.forget(module, gone)
        if bad and self.failures is not None:
            self.failures.add(module, "delete", bad)
        return sum(1 for e in report.entries().values() if e.status == "deleted")

    # -- second pass ----------------------------------------------------------------------------------

    def finish(self, progress: Any = None) -> list[str]:
        """Set the lookups that waited for their record; say how many still wait."""
        from .zoho_second_pass import resolve_deferred

        if self.dry_run:
            n = self._dry_deferred
            return [f"dry run: {n} lookups would be set by the second pass, once their records exist"] if n else []
        notes = resolve_deferred(self)
        for module, st in self._stats.items():
            if st.get("owners_defaulted"):
                notes.append(f"{module}: {st['owners_defaulted']} user lookups (owners, members) matched no active "
                             "user of the target and were set to the connection's user")
        return notes

    def close(self) -> None:
        try:
            if self.failures is not None:
                self.failures.close()
            if self.store is not None:
                self.store.close()
                self.store = None
            self.session.close()
        finally:
            self._private.close()
