"""Zoho CRM as a migration target, through the writers (REST or Bulk Write).

Rows whose source id the id map knows are *updated* (they are ours from an
earlier run); the others are inserted (``mode="insert"``) or upserted by
``key`` (``mode="upsert"``), with ``"trigger": []``: no workflow fires during a
migration. Lookups are rewritten through the id map (:mod:`.zoho_rows`); modules
load parents first; references to records not loaded yet are set by a second
pass at the end of the run. Line items (subforms) are written inside their parent's record
(:mod:`.zoho_subforms`, :mod:`.line_items`); tags travel with their record.

Nothing lost, nothing twice, after a kill at any point: insert batches are saved
before they are sent and resumed by the next run, which looks rows with no known
outcome up in Zoho (by ``key``, the module's unique or duplicate-check field,
``source_id_field`` when the target has such a field, else by matching the
written values among records created since the send) before sending again;
updates, upserts by key and deletes are safe to repeat (:mod:`.zoho_writes`).

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
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from connector.api import metadata
from connector.errors import ConfigError, ConnectorError, NotSupportedError, StateError
from connector.http.credits import CreditMeter
from connector.http.guard import require_writes
from connector.localfs import private_umask
from connector.schema.org_tables import org_table, read_only, read_only_reason
from connector.session import ZohoSession
from connector.writers.reconcile import server_clock
from connector.writers.report import Entry

from .contract import ModuleStats, ProgressFn, Source, Target
from .idmap import SyncStateStore
from .lookups import LookupColumn, load_order, lookup_columns, parent_edges, raw_targets
from .paths import REPORT_DIR, STATE, usable_file, usable_folder
from .prefetch import ask_at_once
from .state import ModuleState
from .zoho_children import ChildWrites, children_last, handled, needs
from .zoho_needs import store_facts, writes_needed
from .zoho_report import FailureLog
from .zoho_rows import RowPlanner, UserMap, fixed_chunks
from .zoho_second_pass import resolve_deferred
from .zoho_subforms import Subforms
from .zoho_writes import ZohoWrites

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


def staging_dir(state: Path) -> Path:
    """Where a Zoho source's files wait for their upload: ``<state>.files/`` (``s.duckdb`` -> ``s.files``)."""
    return state.with_name(state.stem + ".files")


class ZohoTarget(Target):
    scheme = "zoho"
    derives_values = True  # Zoho computes formulas and rollups and empties lookups to deleted records itself

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
        self.writes: ZohoWrites | None = None  # from begin() on
        self.users = UserMap({}, {}, None)
        self._lookups: dict[str, list[LookupColumn]] = {}
        self._layouts: dict[str, dict[str, str]] = {}
        self._target_people: tuple[str | None, list[dict[str, Any]]] | None = None
        self._users: list[dict[str, Any]] | None = None
        self._users_lock = threading.Lock()
        self.subforms = Subforms(session, self.lookups)  # line items, written inside their parents
        self._would_load: frozenset[str] = frozenset()
        self.children: ChildWrites | None = None  # attachments, file fields, links (zoho_children)

    @classmethod
    def from_url(cls, location: str, **options: Any) -> ZohoTarget:
        """``location``: a connection string; options as :class:`ZohoTarget` takes them."""
        session = ZohoSession(location)
        try:
            return cls(session, **options)
        except BaseException:  # a bad option or --state: the session (its log file, its pool) goes too
            session.close()
            raise

    def __repr__(self) -> str:
        return f"ZohoTarget({self.session.config.api_domain}, mode={self.mode})"

    def identity(self) -> str:
        return f"zoho:{self.session.config.api_domain}#{self.session.org().get('id')}"

    def credit_meter(self) -> CreditMeter:
        return self.session.http.meter

    @property
    def report_path(self) -> str | None:
        return str(self.failures.path) if self.failures and self.failures.count else None

    # -- run hooks (see runner.py) ---------------------------------------------------------------

    def lookups(self, module: str) -> list[LookupColumn]:
        if module not in self._lookups:
            ts = self.session.catalog.table(module)
            if read_only_reason(ts) is not None:  # not written here (see _planner): nothing to order by
                self._lookups[module] = []
                return []
            targets = raw_targets(self.session.catalog.fields(ts.module))
            self._lookups[module] = lookup_columns(ts, targets)
        return self._lookups[module]

    def order_modules(self, names: list[str]) -> list[str]:
        known = set(self.session.catalog.modules())
        ordered, deferred = load_order([n for n in names if n in known],
                                       {n: parent_edges(self.lookups(n)) + self.subforms.edges(n)
                                        for n in names if n in known})
        if deferred:
            log.info("lookup cycles; set in a second pass: %s", sorted(deferred))
        return children_last(self.subforms.order(ordered) + [n for n in names if n not in known])

    def state_file(self, source: Source) -> tuple[Path, str, str]:
        """The sync state file of this source/target pair, and the two identities it is bound to."""
        src, tgt = source.identity(), self.identity()
        key = hashlib.sha256(f"{src}|{tgt}".encode()).hexdigest()[:16]
        return self.state_path or default_state_path(self.session, key), src, tgt

    def begin(self, source: Source, names: list[str], progress: ProgressFn | None = None) -> None:
        path, src, tgt = self.state_file(source)
        # Opened only if it exists: a run refused below leaves no state file (nor any batch) behind.
        store = self.store or (SyncStateStore(path) if path.exists() else None)
        try:
            self._check_allowed(names, store, source)
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
        self.writes = ZohoWrites(self.session, self.store, self.failures, mode=self.mode,
                                 key=self.key or self.source_id_field, write_api=self.write_api, progress=progress)
        self.subforms.bind(source)
        self.writes.on_settled = self._landed
        # A dry run inserts nothing: records of its modules are taken as there when pointed at.
        self._would_load = frozenset(names) if self.dry_run else frozenset()
        if not self.dry_run:
            self.children = ChildWrites(self.session, self.store, self.failures, source,
                                        self.report_dir or reports_dir(path), (staging_dir(path), path.parent))
        me, target_users = self._people()
        self.users = UserMap.build(source.users(), target_users, me)

    def prepare(self, names: list[str]) -> None:
        """What a run asks of the target before its first write — each module's fields and layouts, the org,
        who the connection is (and Zoho's clock, from the same answer), the users — asked at once."""
        catalog, cfg = self.session.catalog, self.session.config
        if cfg.credit_budget or cfg.credit_budget_per_day:
            return  # a budget is spent in module order
        known = catalog.modules()

        modules = [n for n in names if n in known and org_table(n) is None]
        # A module's layouts go out beside its fields: whether it is written is known without them.
        ask_at_once([self.session.org, self._people, self._all_users, *(partial(catalog.table, n) for n in modules),
                     *(partial(self._layouts_of, n) for n in modules if self._written(n))], cfg.max_concurrency)

    def _people(self) -> tuple[str | None, list[dict[str, Any]]]:
        """The user this connection acts as and the target's users (once a run). The first answer also
        sets the connection's clock to Zoho's, which every write stamps its send times with."""
        if self._target_people is None:
            clock = server_clock(self.session.http)
            clock.prime(self.session.http)  # GET /users?type=CurrentUser
            try:
                if clock.user_id is None:
                    raise ConnectorError("Zoho did not say which user this connection is")
                self._target_people = (clock.user_id, self._all_users())
            except ConnectorError as exc:  # no users scope: owners are left to Zoho (the connection's user)
                log.warning("cannot list the target's users (%s); record owners are left to Zoho", exc)
                self._target_people = (None, [])
        return self._target_people

    def _all_users(self) -> list[dict[str, Any]]:
        """The target's users, asked once (a run's start-up asks them beside who the connection is)."""
        with self._users_lock:
            if self._users is None:
                self._users = metadata.list_users(self.session.http)
            return self._users

    def _written(self, module: str) -> bool:
        """Whether this target writes ``module`` itself: not a read-only table (known from its name), not a
        subform (known from the module list; line items go inside their parent)."""
        return not read_only(module) and not Subforms.is_subform(self.session, module)

    def _check_allowed(self, names: list[str], store: SyncStateStore | None, source: Source) -> None:
        """Every write this run may make, allowed or refused in one PermissionDenied (before any write)."""
        catalog = self.session.catalog
        writable = [n for n in names if n in catalog.modules() and self._written(n)]
        wanted = writes_needed(self.mode, writable, self.lookups, *store_facts(store))
        for parent in writable:  # the target's lines of a parent are listed (COQL) to map and replace them
            for sub in self.subforms.of(parent):
                wanted.setdefault(sub.module, []).append("query")
        for module, ops in needs(self.session, source, names, writable).items():
            wanted[module] = sorted({*wanted.get(module, []), *ops}, key=("insert", "upsert", "update").index)
        require_writes(self.session.config, wanted, whose="the target connection")

    def _started(self) -> ZohoWrites:
        if self.writes is None:
            raise StateError("the Zoho target has not been started", hint="run it through connector.sync.run")
        return self.writes

    def files_folder(self) -> tuple[Path, Path] | None:
        """A Zoho source's attachments and file-field files are downloaded beside the sync state
        (``<state>.files/``, private) and uploaded from there: Zoho to Zoho carries the bytes too. They
        stay as a cache: a later run downloads only new and changed files (:mod:`.record_files`)."""
        if self.dry_run or self.store is None or str(self.store.path) == ":memory:":
            return None
        state = Path(self.store.path)
        return staging_dir(state), state.parent

    def load_state(self) -> dict[str, ModuleState]:
        return self._started().store.load_states()

    def save_state(self, state: ModuleState) -> None:
        """The module's state alone; a dry run keeps none."""
        if not self.dry_run:
            self._started().store.save_state(state)

    def ids(self, module: str) -> set[str]:
        return self._started().store.source_ids(module)

    def pending_batches(self, module: str | None = None) -> int:
        """Insert batches saved before they were sent and not finished yet (a killed run's)."""
        return self._started().pending_batches(module)

    def module_stats(self, module: str) -> ModuleStats:
        """``failed``: source rows whose last outcome this run is not a success (each row once)."""
        if self.writes is None or self.failures is None:
            return ModuleStats()
        tally = self.writes.tally(module)
        would = ({k[len("would_"):]: v for k, v in self.failures.tally(module).items() if k.startswith("would_")}
                 if self.dry_run else {})
        notes = [*tally.notes, *(self.children.module_notes(module) if self.children else [])]
        return ModuleStats(failed=self.failures.failed(module), notes=notes, would=would, sent=tally.sent)

    # -- data --------------------------------------------------------------------------------------

    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        writes = self._started()
        if Subforms.is_subform(self.session, module):
            return self._line_table(module, batches, state, full=True)
        if handled(module):  # attachments, links: not through the records API
            return self._children(module, batches, None, state)[0]
        writes.recover(module)
        planner = self._planner(module, schema)
        seen: set[str] = set()
        written = 0
        if self.children is not None:
            batches = self.children.wrap(module, schema, batches)
        try:
            for table in fixed_chunks(batches, self.batch_rows):
                seen.update(table.column("id").to_pylist())
                written += self._write_chunk(writes, module, planner, table)
            written += writes.drain()  # chunks still on the wire land before the module's files and deletes
        except BaseException:
            writes.abandon()  # their chunks stay pending: the next run resumes them
            raise
        self.subforms.mend(module, writes.store)
        if self.children is not None:
            self.children.after(module)  # the file fields' files, now that the records exist
        # A full load is the whole source: records we put there whose source row is gone go too.
        writes.delete(module, sorted(writes.store.source_ids(module) - seen))
        state.rows = len(writes.store.source_ids(module))
        self.save_state(state)
        return written

    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        writes = self._started()
        if Subforms.is_subform(self.session, module):
            writes.store.forget(module, deleted_ids)  # lines gone with their parent's rewrite
            return self._line_table(module, batches, state, full=False), 0
        if handled(module):
            return self._children(module, batches, deleted_ids, state)
        writes.recover(module)
        planner = self._planner(module, schema)
        written, rows = 0, 0
        seen: set[str] = set()
        if self.children is not None:
            batches = self.children.wrap(module, schema, batches)
        try:
            for table in fixed_chunks(batches, self.batch_rows):
                rows += table.num_rows
                seen.update(str(i) for i in table.column("id").to_pylist())
                written += self._write_chunk(writes, module, planner, table)
            written += writes.drain()
        except BaseException:
            writes.abandon()
            raise
        refreshed = self._refresh_lines(writes, module, seen)
        written += refreshed
        self.subforms.mend(module, writes.store)
        if self.children is not None:
            self.children.after(module)
        removed = writes.delete(module, deleted_ids)
        if not rows and not removed and not refreshed:
            return 0, 0  # nothing changed: the state stays as it was (as every target keeps it)
        state.rows = len(writes.store.source_ids(module))
        self.save_state(state)
        return written, removed

    def _children(self, module: str, batches: Iterator[pa.RecordBatch], deleted_ids: list[str] | None,
                  state: ModuleState) -> tuple[int, int]:
        """Attachments and links (zoho_children): a full load when ``deleted_ids`` is None."""
        if self.children is None:  # a dry run: nothing is uploaded or linked, nothing removed
            n = sum(b.num_rows for b in batches)
            self._started().tally(module).notes.append(f"dry run: {n:,} rows would be uploaded or linked")
            return 0, 0
        if deleted_ids is None:
            written, removed = self.children.replace(module, batches, state), 0
        else:
            written, removed = self.children.apply(module, batches, deleted_ids, state)
        self.save_state(state)
        return written, removed

    def _write_chunk(self, writes: ZohoWrites, module: str, planner: RowPlanner, table: pa.Table) -> int:
        defaulted = self.users.fell_back
        written = writes.write_chunk(module, planner, table)
        writes.tally(module).owners_defaulted += self.users.fell_back - defaulted
        return written

    def _planner(self, module: str, schema: pa.Schema) -> RowPlanner:
        ts = self.session.catalog.table(module)
        refused = read_only_reason(ts)
        if refused is not None:  # Attachments, campaign members, _X tables: not records the records API writes
            raise NotSupportedError(f"{ts.module} is not written into Zoho: it is a read-only table ({refused[0]})",
                                    hint=refused[1])
        planner = RowPlanner(ts, self.lookups(module), schema.names, users=self.users,
                             layouts=self._layouts_of(ts.module), source_id_field=self.source_id_field,
                             lines=self.subforms.for_planner(module), would_load=self._would_load)
        if planner.skipped:
            self._started().tally(module).notes.append(f"not in the target, not written: {', '.join(planner.skipped)}")
        return planner

    def _line_table(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState, *, full: bool) -> int:
        """A line-item table's run: its rows go with their parents (:mod:`.zoho_subforms`), none on their own."""
        rows, note = self.subforms.take(module, batches, full)
        self._started().tally(module).notes.append(note)
        if rows or full:
            self.save_state(state)
        return 0

    def _landed(self, module: str, pairs: dict[str, str]) -> None:
        if self.subforms.of(module):
            self.subforms.map_lines(module, pairs, self._started().store)

    def _refresh_lines(self, writes: ZohoWrites, module: str, sent: set[str]) -> int:
        """Parents whose lines changed in this delta but which the delta did not bring: their lines alone."""
        waiting = self.subforms.touched.pop(module, set()) - sent
        mapped = writes.store.lookup(module, waiting)
        if not mapped:
            return 0
        rows, sids, failed = self.subforms.refresh(module, mapped, writes.store.lookup)
        if failed:
            writes.failures.add(module, "update (lines)", [(sid, Entry(0, "failed", code=c, message=m))
                                                           for sid, c, m in failed])
        if not rows:
            return 0
        return writes.settle(module, writes.write(module, rows, "update"), sids, "update")

    def _layouts_of(self, module: str) -> dict[str, str]:
        if module not in self._layouts:
            try:
                r = self.session.http.get("/settings/layouts", params={"module": module}, kind="metadata")
                found = [] if r.empty else r.body.get("layouts", [])
            except ConnectorError:
                found = []  # layouts left to the target's default
            self._layouts[module] = {str(x.get("name", "")).lower(): str(x["id"]) for x in found if x.get("id")}
        return self._layouts[module]

    # -- second pass ----------------------------------------------------------------------------------

    def finish(self, progress: ProgressFn | None = None) -> list[str]:
        """Set the lookups that waited for their record; say how many still wait."""
        writes = self._started()
        if self.dry_run:
            n = writes.dry_deferred
            return [f"dry run: {n} lookups would be set by the second pass, once their records exist"] if n else []
        notes = resolve_deferred(writes, self.lookups)
        for module, tally in writes.tallies.items():
            if tally.participants_dropped:
                notes.append(f"{module}: {tally.participants_dropped} participants point at contacts or leads not in "
                             "the target and were left out of their meetings (migrate those records, then run again "
                             "without --incremental)")
            if tally.owners_defaulted:
                notes.append(f"{module}: {tally.owners_defaulted} user lookups (owners, members) matched no active "
                             "user of the target and were set to the connection's user")
        return notes

    def close(self) -> None:
        try:
            if self.writes is not None:
                self.writes.inflight.close()  # its sender threads (every chunk was settled or abandoned)
            if self.children is not None:
                self.children.close()
            if self.failures is not None:
                self.failures.close()
            if self.store is not None:
                self.store.close()
                self.store = None
            self.session.close()
        finally:
            self._private.close()
