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
import pyarrow.parquet as pq

from connector import writers
from connector.api import metadata
from connector.errors import ConfigError, ConnectorError, StateError
from connector.localfs import private_dir, private_umask, write_private
from connector.session import ZohoSession
from connector.writers.report import DONE, WriteReport

from .idmap import SyncStateStore
from .lookups import LookupColumn, load_order, lookup_columns, parent_edges, raw_targets
from .paths import REPORT_DIR, STATE, usable_file, usable_folder
from .state import ModuleState
from .zoho_report import FailureLog
from .zoho_rows import RowPlanner, UserMap

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
        # Pending batches (full record data), their reports and the failure report: private whatever
        # the umask, for as long as the target is open (pyarrow writes the batches and takes no mode).
        self._private = ExitStack()
        self._private.enter_context(private_umask())
        # A given --state is opened now too: not a DuckDB file, or held by a running migration, is
        # said before any Zoho call (the default path needs the org's identity, so it waits for begin).
        self.store: SyncStateStore | None = None
        try:
            self.store = SyncStateStore(self.state_path) if self.state_path else None
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

    def begin(self, source: Any, names: list[str], progress: Any = None) -> None:
        self.progress = progress
        src = source.identity() if hasattr(source, "identity") else repr(source)
        tgt = self.identity()
        key = hashlib.sha256(f"{src}|{tgt}".encode()).hexdigest()[:16]
        path = self.state_path or default_state_path(self.session, key)
        if self.store is None:
            self.store = SyncStateStore(path)
        self.store.bind(src, tgt)
        self.failures = FailureLog(self.report_dir or reports_dir(self.store.path),
                                   f"{path.stem}.report" if self.report_dir else "report")
        try:
            me = (metadata.current_user(self.session.http) or {}).get("id")
            target_users = metadata.list_users(self.session.http)
        except ConnectorError as exc:  # no users scope: owners are left to Zoho (the connection's user)
            log.warning("cannot list the target's users (%s); record owners are left to Zoho", exc)
            me, target_users = None, []
        self.users = UserMap.build(source.users() if hasattr(source, "users") else [], target_users,
                                   str(me) if me else None)

    def _store(self) -> SyncStateStore:
        if self.store is None:
            raise StateError("the Zoho target has not been started", hint="run it through connector.sync.run")
        return self.store

    def load_state(self) -> dict[str, ModuleState]:
        return self._store().load_states()

    def ids(self, module: str) -> set[str]:
        return self._store().source_ids(module)

    def module_stats(self, module: str) -> dict[str, Any]:
        return self._stats.get(module, {})

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
        """Write batches of exactly ``batch_rows`` (the last shorter), whatever the source's batches are."""
        buf: list[pa.RecordBatch] = []
        rows = 0
        for b in batches:
            while b.num_rows:
                take = b.slice(0, self.batch_rows - rows)
                buf.append(take)
                rows += take.num_rows
                b = b.slice(take.num_rows)
                if rows >= self.batch_rows:
                    yield pa.Table.from_batches(buf)
                    buf, rows = [], 0
        if buf:
            yield pa.Table.from_batches(buf)

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
        sids = [str(s) for s in table.column("id").to_pylist()]
        prep = planner.prepare(table, store.lookup(module, sids), store.lookup)
        # Deferred lookups are kept before the write: if we die after it, the second pass still knows.
        store.defer(module, sids, prep.deferred)
        defaulted = self.users.fell_back
        written = 0
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
        d = self._pending_dir()
        for tmp in d.glob(f".{module}.*.tmp"):
            tmp.unlink()
        for path in sorted(d.glob(f"{module}.*.parquet")):
            log.info("resuming an interrupted write batch %s", path.name)
            self._send_pending(module, path)

    def _send_pending(self, module: str, path: Path) -> int:
        table = pq.read_table(path)
        sids = [str(s) for s in table.column("__source_id").to_pylist()]
        meta = json.loads(path.with_suffix(".json").read_text())
        report_path = path.with_suffix(".report.csv")
        report = writers.write(self.session, module, table.drop_columns(["__source_id"]), meta["operation"],
                               meta.get("key"), api=self._api(module), report_path=report_path,
                               resume_from=report_path if report_path.exists() else None,
                               progress=self._progress(module))
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
        """Commit the id map for what landed; keep what did not for the report."""
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
        self._store().record(module, pairs, failed)
        st = self._stat(module)
        st["written_so_far"] = st.get("written_so_far", 0) + len(sids)
        if bad and self.failures is not None:
            self.failures.add(module, operation, bad)
            st = self._stat(module)
            st["failed"] += len(bad)  # "unknown" too: the target is not known to hold those rows yet
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
        report = writers.write(self.session, module, [{"id": mapped[s]} for s in sids], "delete", api="rest")
        gone = []
        bad = []
        for e in report.entries().values():
            # INVALID_DATA: the record is not in the target any more (someone deleted it): nothing to do.
            if e.status == "deleted" or e.code == "INVALID_DATA":
                gone.append(sids[e.row])
            else:
                bad.append((sids[e.row], e))
        store.forget(module, gone)
        if bad and self.failures is not None:
            self.failures.add(module, "delete", bad)
            self._stat(module)["failed"] += len(bad)
        return sum(1 for e in report.entries().values() if e.status == "deleted")

    # -- second pass ----------------------------------------------------------------------------------

    def finish(self, progress: Any = None) -> list[str]:
        """Set the lookups that waited for their record; say how many still wait."""
        from .zoho_second_pass import resolve_deferred

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
