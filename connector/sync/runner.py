"""Migrate and incremental sync runners.

Per module, in dependency order (deltas into files or DuckDB: the module whose read
is in first, :mod:`.turns`): a full load the first time (or without
``incremental``), then deltas on the Modified_Time watermark plus deletes (from
``/deleted`` for Zoho; by comparing ids for file and DuckDB sources, which keep
no deletion log). Each module's data and state commit together (see the
targets), so a failed or killed run is resumed by running it again.

The runner speaks to both ends through the contracts of :mod:`.contract` only:
every hook exists on every backend (a no-op where it means nothing), so what a
backend can do is said by the backend, not guessed here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import ConfigError, ConnectorError, CreditBudgetReached, PermissionDenied
from connector.http.credits import charging
from connector.http.retry import cancellable
from connector.interrupts import as_interrupt, is_interrupt, module_scope
from connector.interrupts import pending as interrupts_pending
from connector.warm import arrow_in_background

from .contract import LookupRef, ProgressFn, Source, Target
from .delta import DeltaStart, start_delta, warm_delta
from .prefetch import ReadAhead
from .record_files import RecordFiles, drop_module_files
from .state import ModifiedTimeWatermark, ModuleState
from .turns import WriteTurns, take_delta

log = logging.getLogger("connector.sync")

__all__ = ["MigrationResult", "ModuleResult", "ProgressFn", "SECOND_PASS", "interrupted_result", "run",
           "sync_module"]
#: ``MigrationResult.interrupted_in`` when the stop came after every module, in a Zoho target's second pass
SECOND_PASS = "second pass"


@dataclass
class ModuleResult:
    module: str
    mode: str  # "full" or "incremental"
    rows_read: int = 0
    rows_written: int = 0
    rows_deleted: int = 0
    rows_failed: int = 0
    rows_deferred: int = 0  # read, but changed at or after the run's start: the next run takes them
    formulas_refreshed: int = 0
    lookups_cleared: int = 0  # rows whose lookup pointed at a record deleted in the source
    seconds: float = 0.0
    credits: int = 0  # source + target, while this module ran
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    #: a dry run's rows per operation it would have made (``{"insert": 120, "update": 3}``)
    would: dict[str, int] = field(default_factory=dict)


@dataclass
class MigrationResult:
    modules: list[ModuleResult] = field(default_factory=list)
    started_at: datetime | None = None  # the signpost: nothing changed at or after it was taken
    credits: int = 0  # source + target, as metered by the connector
    report_path: str | None = None  # per-row outcomes of rows a Zoho target did not take
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False  # the target validated and reported; nothing was written, no state moved
    #: set when Ctrl-C / SIGTERM stopped the run: the module it stopped in (its data was not committed
    #: for file and DuckDB targets; a Zoho target keeps the batches it wrote). ``modules`` has the others.
    interrupted_in: str | None = None
    planned: list[str] = field(default_factory=list)  # every module the run was to sync, in its order

    @property
    def ok(self) -> bool:
        return all(m.error is None and m.rows_failed == 0 for m in self.modules)

    @property
    def rows_written(self) -> int:
        return sum(m.rows_written for m in self.modules)

    @property
    def rows_failed(self) -> int:
        return sum(m.rows_failed for m in self.modules)

    def as_rows(self) -> list[dict[str, Any]]:
        return [m.__dict__.copy() for m in self.modules]


class _Counter:
    """Counts rows flowing through a batch iterator and reports progress."""

    def __init__(self, module: str, phase: str, progress: ProgressFn | None) -> None:
        self.module, self.phase, self.progress = module, phase, progress
        self.rows = 0

    def wrap(self, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in it:
            self.rows += b.num_rows
            if self.progress:
                self.progress(self.module, self.phase, self.rows)
            yield b


def _filtered(it: Iterator[pa.RecordBatch], wm: ModifiedTimeWatermark, signpost: datetime,
              seen: list[pa.RecordBatch], res: ModuleResult) -> Iterator[pa.RecordBatch]:
    for b in it:
        kept = wm.window_filter(b, signpost)
        res.rows_deferred += _at_or_after(b, signpost)
        seen.append(kept.select(["id", "Modified_Time"]))
        yield kept


def _at_or_after(batch: pa.RecordBatch, signpost: datetime) -> int:
    """Rows changed at or after the signpost: left for the next run, which sees their whole story."""
    mt = batch.column("Modified_Time")
    return int(pc.sum(pc.greater_equal(mt, pa.scalar(signpost, pa.timestamp("s", tz="UTC")))).as_py() or 0)


def _record_files(source: Source, target: Target, module: str, take: bool = True) -> tuple[bool, RecordFiles | None]:
    """Whether the module has files the target would keep (the source has some, the target a folder for
    them, not in a dry run), and its :class:`RecordFiles` when this run takes them (``take``)."""
    if target.dry_run:
        return False, None
    folder = target.files_folder()
    found = source.files(module) if folder is not None else None
    if folder is None or found is None:
        return False, None
    if not take:
        return True, None
    plan, fetch = found
    return True, RecordFiles(plan, fetch, folder[0], folder[1], workers=source.concurrency())


class ModuleFiles:
    """Each module's :class:`RecordFiles` for one run, made once: the read ahead of a module's turn starts its
    downloads (:meth:`prefetch`) and the turn writes its rows with the same object (:meth:`of`)."""

    def __init__(self, source: Source, target: Target, take: bool) -> None:
        self.source, self.target, self.take = source, target, take
        self._made: dict[str, tuple[bool, RecordFiles | None]] = {}
        self._lock = threading.Lock()

    def of(self, module: str) -> tuple[bool, RecordFiles | None]:
        """Whether the module has files the target keeps, and its :class:`RecordFiles` when the run takes them."""
        with self._lock:
            made = self._made.get(module)
        if made is None:
            made = _record_files(self.source, self.target, module, self.take)
            with self._lock:
                made = self._made.setdefault(module, made)
        return made

    def downloading(self, module: str) -> bool:
        """Whether files of the module's rows read ahead are still downloading."""
        with self._lock:
            made = self._made.get(module)
        return made is not None and made[1] is not None and made[1].downloading()

    def prefetch(self, module: str, rows: Iterator[pa.RecordBatch], head: DeltaStart | None,
                 signpost: datetime) -> Iterator[pa.RecordBatch]:
        """``rows`` of a module read ahead, its files downloading as they pass: every row of a full load; of a
        delta, the rows its turn keeps (changed before the signpost: :func:`_filtered`)."""
        _, files = self.of(module)
        if files is None:
            return rows
        keep = None
        watermarked = "Modified_Time" in self.source.schema(module).names
        if head is not None and watermarked:
            wm = head.watermark

            def keep(b: pa.RecordBatch) -> pa.RecordBatch:
                return wm.window_filter(b, signpost)

        # A delta's rows in hand before its read gives them (a first page asked ahead, taken by the read once
        # its count is in): their files start now, a round trip sooner; the read's own rows find them claimed.
        first = self.source.first_rows(module, files.columns + ["Modified_Time"] * watermarked) \
            if head is not None else None
        if first is not None and (keep is None or "Modified_Time" in first.schema.names):
            for _ in files.prefetch([first], keep):
                pass
        return files.prefetch(rows, keep)


def _files_switched(has_files: bool, state: ModuleState | None, take: bool) -> bool:
    """The module's files were taken at its last load and this run leaves them out, or the other way round:
    its table's file columns (paths, sizes, hashes) would be right for some rows only, so it loads whole."""
    return has_files and state is not None and state.loaded and state.files != take


def _reference_clearer(source: Source, target: Target, names: list[str]) -> Callable[[str, list[str]], int] | None:
    """Do what Zoho does when records are deleted: lookups pointing at them read empty.

    Zoho clears those lookups without moving the referring records' Modified_Time, so no delta
    would ever bring the change; the deletions themselves say exactly which values to clear.
    (A Zoho target clears them itself; file and DuckDB sources know no lookup targets.)
    """
    if target.derives_values:
        return None
    graph: dict[str, list[LookupRef]] = {}

    def clear(parent: str, ids: list[str]) -> int:
        n = 0
        for module in names:
            if module not in graph:
                graph[module] = source.lookup_targets(module)
                target.lookups_of(module, [c for id_col, _, module_col, _ in graph[module]
                                           for c in (id_col, module_col) if c])
            for id_col, name_col, module_col, parents in graph[module]:
                if parent in parents:
                    n += target.clear_references(module, id_col, name_col, module_col, parent, ids)
        return n

    return clear


def _formulas_due(refresh: bool | timedelta, state: ModuleState | None, signpost: datetime) -> bool:
    if isinstance(refresh, timedelta):
        last = state.formulas_refreshed_at if state else None
        return last is None or signpost - last >= refresh
    return bool(refresh)


def sync_module(source: Source, target: Target, module: str, state: ModuleState | None, *, incremental: bool,
                signpost: datetime, progress: ProgressFn | None = None,
                refresh_formulas: bool | timedelta = False,
                clear_refs: Callable[[str, list[str]], int] | None = None,
                read: Callable[[str], Iterator[pa.RecordBatch]] | None = None,
                delta: Callable[[str], tuple[DeltaStart, Iterator[pa.RecordBatch]]] | None = None,
                take_files: bool = True, module_files: ModuleFiles | None = None) -> ModuleResult:
    """One module: a full load, or the changes since its state.

    Where the rows come from unless the runner reads them ahead (:mod:`.prefetch`): ``read``, a full
    load's (else ``source.read``); ``delta``, an incremental module's deletions and changed rows (else
    :func:`.delta.start_delta`, now). ``take_files``: download the module's files (attachments, photos,
    file fields) with its rows; when a run says otherwise than the module's last load, it loads whole.
    ``module_files``: where the module's :class:`RecordFiles` come from (a read ahead may have started
    their downloads with them: :meth:`RecordFiles.prefetch`).
    """
    started = time.monotonic()
    schema = source.schema(module)
    has_mt = "Modified_Time" in schema.names
    has_files, files = (module_files or ModuleFiles(source, target, take_files)).of(module)
    switched = _files_switched(has_files, state, take_files)
    seen: set[str] = set()
    if files is not None:
        schema = files.schema(schema)  # Attachments: File_Path, File_Size, File_SHA256
    if not incremental or state is None or not state.loaded or switched:
        res = ModuleResult(module, "full")
        counter = _Counter(module, "full", progress)
        below: list[pa.RecordBatch] = []
        new_state = ModuleState(module, loaded=True, deleted_since=signpost, formulas_refreshed_at=signpost,
                                files=take_files or not has_files,  # False: this module had files, left out
                                has_files=has_files, read_apis=source.read_apis(module),
                                list_fields=source.list_fields(module))

        def full_batches() -> Iterator[pa.RecordBatch]:
            for b in counter.wrap((read or source.read)(module)):
                # Every row read goes to the target; the watermark counts only rows older than the
                # signpost, so rows changed while we read are read again (and upserted) next run.
                if has_mt:
                    below.append(ModifiedTimeWatermark().window_filter(b, signpost).select(["id", "Modified_Time"]))
                yield b
            # Targets stage every batch before committing data and state together, so the
            # watermark is known by the time the state is written.
            new_state.watermark = (ModifiedTimeWatermark().advanced(below, signpost=signpost) if has_mt
                                   else ModifiedTimeWatermark())

        rows = target.replace_module(module, schema, files.wrap(full_batches(), seen) if files else full_batches(),
                                     new_state)
        res.rows_read, res.rows_written = counter.rows, rows
        if files is not None:  # the files of records gone since the last full load, once the new table is in
            target.after_commit(module, partial(files.drop, files.unseen(seen)))
    else:
        res = ModuleResult(module, "incremental")
        counter = _Counter(module, "delta", progress)
        # Deleted records no longer sit at the boundary second: a count there must not expect them.
        head, raw = delta(module) if delta is not None else start_delta(source, target, module, state, has_mt)
        head = head.settle(target, module)  # read ahead: rows gone unlisted are found now, in this thread
        deleted, wm, check = head.deleted, head.watermark, head.check
        taken: list[pa.RecordBatch] = []
        changed = _filtered(counter.wrap(raw), wm, signpost, taken, res) if has_mt else counter.wrap(raw)
        if clear_refs is not None and deleted:
            # Before the deletions commit with the state: a crash in between redoes both.
            res.lookups_cleared = clear_refs(module, deleted)
        new_state = ModuleState(module, loaded=True, watermark=wm, deleted_since=signpost,
                                formulas_refreshed_at=state.formulas_refreshed_at, files=state.files,
                                has_files=has_files, read_apis=source.read_apis(module),
                                list_fields=source.list_fields(module))

        def delta_batches() -> Iterator[pa.RecordBatch]:
            for b in changed:
                if b.num_rows:
                    yield b
            new_state.watermark = wm.advanced(taken, check, signpost) if has_mt else wm

        changes = files.wrap(delta_batches()) if files is not None else delta_batches()
        written, removed = target.apply_changes(module, schema, changes, deleted, new_state)
        res.rows_read, res.rows_written, res.rows_deleted = counter.rows, written, removed
        if files is not None:  # deleted records' files go once their rows have (a write behind the run: its commit)
            target.after_commit(module, partial(files.drop, files.doomed(deleted)))
        if not written and not removed and new_state.watermark.settled() and not state.watermark.settled():
            # Nothing changed, so the target kept its old state; but the boundary second is now known
            # complete for good, which spares every later quiet run a count: keep that (once).
            # /deleted keeps being read from where the other modules read it (one call serves all).
            new_state.rows, new_state.deleted_since = state.rows, state.deleted_since
            target.save_state(new_state)
        elif not written and not removed and (state.read_apis, state.list_fields) != (new_state.read_apis,
                                                                                     new_state.list_fields):
            # Nothing changed, but the state did not know the module's read APIs or first list fields (written
            # before they were kept) or they changed: the old state with them, once, so the next run asks its
            # first calls early.
            target.save_state(replace(state, read_apis=new_state.read_apis, list_fields=new_state.list_fields))
        cols = [] if target.derives_values else source.formula_columns(module)
        if cols and _formulas_due(refresh_formulas, state, signpost) and not interrupts_pending():
            # (a stop held back by the commit skips it: still due, the next run refreshes them)
            new_state.formulas_refreshed_at = signpost
            fresh = _Counter(module, "formulas", progress)
            res.formulas_refreshed = target.update_columns(module, fresh.wrap(source.read(module, ["id", *cols])),
                                                           new_state)
    folder = target.files_folder() if has_files and files is None else None
    if folder is not None:  # files left out: no row names those of an earlier load (also after a kill right here)
        target.after_commit(module, partial(drop_module_files, folder[0], module))
    stats = target.module_stats(module)
    res.rows_failed = stats.failed
    res.notes = list(stats.notes)
    if switched and incremental:
        res.notes.insert(0, "loaded whole: its files were " + ("left out" if take_files else "taken")
                         + " at its last load and " + ("are taken" if take_files else "are left out") + " now")
    if files is not None and (files.counts.downloaded or files.counts.reused or files.counts.failed):
        res.notes.append(files.counts.note())
        res.rows_failed += files.counts.failed  # rows whose file is missing from the target
    res.would = dict(stats.would)
    res.seconds = time.monotonic() - started
    return res


def _one_module(result: MigrationResult, source: Source, target: Target, module: str,
                states: dict[str, ModuleState], signpost: datetime, incremental: bool, progress: ProgressFn | None,
                refresh_formulas: bool | timedelta, clear_refs: Callable[[str, list[str]], int] | None,
                ahead: ReadAhead[DeltaStart | None], take_files: bool = True, spent_before: int = 0,
                module_files: ModuleFiles | None = None, turns: WriteTurns | None = None) -> bool:
    """Sync one module into ``result``; False when it failed (its error is in its result).

    Its credits are those of the calls made for it, wherever they ran (:func:`charging`): a read ahead
    of its turn counts for it, not for the module written meanwhile; ``spent_before``: its credits before
    this run (a source or target that ran before).
    """
    with module_scope():  # a signal after the module's commit is raised once its result is recorded
        done = _one_module_now(result, source, target, module, states, signpost, incremental, progress,
                               refresh_formulas, clear_refs, ahead, take_files, spent_before, module_files, turns)
        result.interrupted_in = None
    return done


def _one_module_now(result: MigrationResult, source: Source, target: Target, module: str,
                    states: dict[str, ModuleState], signpost: datetime, incremental: bool, progress: ProgressFn | None,
                    refresh_formulas: bool | timedelta, clear_refs: Callable[[str, list[str]], int] | None,
                    ahead: ReadAhead[DeltaStart | None], take_files: bool, spent_before: int,
                    module_files: ModuleFiles | None, turns: WriteTurns | None) -> bool:
    result.interrupted_in = module
    try:
        if progress is not None:  # a scheduler's log shows the module is under way before its first rows
            progress(module, "start", 0)
        # File and DuckDB sources are complete per module up to their own upstream signpost.
        cap = source.signpost(module) or signpost
        clear = clear_refs
        if turns is not None and clear_refs is not None:  # a delta settled ahead has cleared its lookups then

            def clear(parent: str, ids: list[str]) -> int:
                done = turns.cleared(parent)
                return clear_refs(parent, ids) if done is None else done

        with charging(module):
            result.modules.append(sync_module(source, target, module, states.get(module),
                                              incremental=incremental, signpost=cap, progress=progress,
                                              refresh_formulas=refresh_formulas, clear_refs=clear,
                                              read=ahead.read, delta=partial(_delta_of, ahead, turns),
                                              take_files=take_files, module_files=module_files))
    except (PermissionDenied, CreditBudgetReached):
        raise  # the connection's settings, not this module: every later call would be refused too
    except ConnectorError as exc:
        log.error("module %s failed: %s", module, exc)
        result.modules.append(ModuleResult(module, "incremental" if incremental else "full", error=str(exc)))
        return False
    finally:
        if result.modules and result.modules[-1].module == module:
            result.modules[-1].credits = spent_credits(source, target, module) - spent_before
    return True


def _failed_behind(result: MigrationResult, failed: dict[str, Exception], raising: bool = True) -> bool:
    """Modules whose write behind the run failed (:meth:`.contract.Target.writes_failed`) get the failure as
    their result, as a write that failed in its turn would have (their data and state are as before the run).
    True when there was none. What is no :class:`ConnectorError` is raised (``raising``), as in its turn."""
    for module, exc in failed.items():
        if raising and not isinstance(exc, ConnectorError):
            raise exc
        log.error("module %s failed: %s", module, exc)
        for i, m in enumerate(result.modules):
            if m.module == module:
                result.modules[i] = ModuleResult(module, m.mode, seconds=m.seconds, credits=m.credits, error=str(exc))
    return not failed


def _delta_of(ahead: ReadAhead[DeltaStart | None], turns: WriteTurns | None, module: str
              ) -> tuple[DeltaStart, Iterator[pa.RecordBatch]]:
    settled = turns.delta(module) if turns is not None else None
    return settled if settled is not None else take_delta(ahead, module)


def _shared_meter(source: Source, target: Target) -> bool:
    meter = source.credit_meter()
    return meter is not None and meter is target.credit_meter()


def spent_credits(source: Source, target: Target, module: str | None = None) -> int:
    """Credits the source and the target have spent (for ``module``): a meter they share (one Zoho session
    given to both) is counted once."""
    return source.credits(module) + (0 if _shared_meter(source, target) else target.credits(module))


def _spent_by_module(source: Source, target: Target) -> dict[str, int]:
    spent = source.credits_by_module()
    if not _shared_meter(source, target):
        for tag, n in target.credits_by_module().items():
            spent[tag] = spent.get(tag, 0) + n
    return spent


def refuse_files_left_out_of_zoho(target_url: str) -> None:
    """Raise :func:`files_left_out_of_zoho` when ``target_url`` (a URL or connection string) is no file or
    DuckDB target: said before anything is opened."""
    if not target_url.strip().lower().startswith(("duckdb:", "parquet:", "csv:")):
        raise files_left_out_of_zoho()


def files_left_out_of_zoho() -> ConfigError:
    return ConfigError("a Zoho target cannot leave files out (--no-files): its attachments, record photos and "
                       "file fields are uploaded from their bytes",
                       hint="drop --no-files: into Zoho, files always come with their records (leave "
                            "Attachments out of --modules to copy no attachments)")


def run(source: Source, target: Target, *, modules: list[str] | None = None, incremental: bool = False,
        progress: ProgressFn | None = None, stop_on_error: bool = False,
        refresh_formulas: bool | timedelta = False, files: bool = True) -> MigrationResult:
    """Sync ``modules`` (all the source has when None) from ``source`` to ``target``.

    ``files=False`` leaves out the bytes of attachments, record photos and file fields (no download
    calls; the rows keep Zoho's file ids and names): records only, into a ``duckdb:``, ``parquet:`` or
    ``csv:`` target. A module loaded one way and synced the other is loaded whole.

    Ctrl-C / SIGTERM (or DuckDB's "Query interrupted", raised as the interrupt it stands for)
    propagate as a :class:`KeyboardInterrupt` that carries what was done so far: see
    :func:`interrupted_result`.
    """
    if not files and target.scheme == "zoho":
        raise files_left_out_of_zoho()
    result = MigrationResult(dry_run=target.dry_run)
    credits_before = spent_credits(source, target)
    # a source or target that ran before (one connection, two runs): this run counts its modules' from here
    spent = _spent_by_module(source, target)
    try:
        return _run(result, source, target, modules, incremental, progress, stop_on_error, refresh_formulas,
                    credits_before, files, spent)
    except BaseException as exc:
        if isinstance(exc, CreditBudgetReached):  # a clean stop too: say what was kept, like an interrupt
            result.credits = spent_credits(source, target) - credits_before
            result.report_path = target.report_path
            exc.migration_result = result  # type: ignore[attr-defined]
            raise
        if not is_interrupt(exc):
            raise
        result.credits = spent_credits(source, target) - credits_before
        result.report_path = target.report_path
        stop = as_interrupt(exc)
        stop.migration_result = result  # type: ignore[attr-defined]
        if stop is exc:
            raise
        raise stop from None


def interrupted_result(exc: BaseException) -> MigrationResult | None:
    """What an interrupted :func:`run` had done: modules finished, and ``interrupted_in``."""
    found = getattr(exc, "migration_result", None)
    return found if isinstance(found, MigrationResult) else None


def _delta_states(source: Source, target: Target, modules: list[str] | None, files: bool) -> list[ModuleState]:
    """The states of the modules an incremental run will read by delta, known before it begins: only from a
    target whose state can be read then (:meth:`.contract.Target.state_before_begin`), only modules it holds
    and will read by delta (loaded, files taken as before or none to take:
    :meth:`.state.ModuleState.loads_incrementally`; of ``modules`` when given), and only where calls may run
    together. Empty when there are none, or the state cannot be read (the run reports that where it loads it)."""
    slots = source.read_ahead(deltas_only=True)
    try:
        states = target.state_before_begin() if slots > 1 else None
    except ConnectorError:
        return []  # a corrupt state: the run reports it where it loads the state
    if not states:
        return []
    wanted = None if modules is None else {m.lower() for m in modules}
    return [st for m, st in states.items() if st.loads_incrementally(files) and (wanted is None or m.lower() in wanted)]


def _ask_deltas_early(source: Source, target: Target, modules: list[str] | None, files: bool,
                      stop: threading.Event | None = None, todo: list[ModuleState] | None = None
                      ) -> list[Future[None]]:
    """An incremental run's first calls of each module's delta — its record count and deletion log, which
    need only the module list, not its fields nor any other module's read — asked now, beside the modules'
    metadata (:meth:`.contract.Source.modules_for_run`, :meth:`~.contract.Source.prepare`), not a round trip
    after it. For the modules :func:`_delta_states` gives (``todo``: given already). The source keeps the
    answers for the reads (asked once: a read that starts meanwhile waits for them); a call that fails here
    (a module gone from the org) is asked again by the read if there is one, which reports it. Returns the
    asks (the run does not wait for them: its reads do, through the source); ``stop`` set: the asks not
    answered yet are dropped (the run ended or failed first)."""
    todo = _delta_states(source, target, modules, files) if todo is None else todo
    if not todo:
        return []
    slots = source.read_ahead(deltas_only=True)

    def ask(state: ModuleState) -> None:
        try:
            # The module's read APIs, kept by its state, say what may be asked without the module list; an
            # older state's module waits for the list the run asks first.
            module = state.module if state.read_apis is not None else source.resolve_module(state.module)
            with charging(module):
                warm_delta(source, module, state, state.watermark.modified_time is not None)
        except ConnectorError as exc:
            log.debug("%s: not asked early (%s)", state.module, exc)

    pool = ThreadPoolExecutor(min(slots, len(todo)), thread_name_prefix="zoho-early")
    asked = [pool.submit(copy_context().run, cancellable, stop or threading.Event(), ask, state) for state in todo]
    pool.shutdown(wait=False)  # the answers are the source's now
    return asked


def _run(result: MigrationResult, source: Source, target: Target, modules: list[str] | None, incremental: bool,
         progress: ProgressFn | None, stop_on_error: bool, refresh_formulas: bool | timedelta,
         credits_before: int, files: bool = True, spent: dict[str, int] | None = None) -> MigrationResult:
    arrow_in_background()
    clock = ThreadPoolExecutor(1, thread_name_prefix="zoho-clock")
    early = threading.Event()  # set: the deltas' early asks still unanswered are dropped
    try:
        # Zoho's clock is asked while the modules and their metadata are (it waits for neither); before any
        # read, so the run's signpost is never later than what the run reads.
        now = clock.submit(copy_context().run, source.now)
        held = _delta_states(source, target, modules, files) if incremental else []
        # The modules whose reads take longest after their first calls (files to download, more rows) ask
        # those first, as many as fit beside the metadata every read waits for; the others once it is in.
        held.sort(key=lambda st: (not st.has_files, -st.rows))
        first = source.opening_share([st.module for st in held]) if held else 0
        if held:
            _ask_deltas_early(source, target, modules, files, early, held[:first])
        if modules:
            source.preload(modules)  # the module list and the named modules' metadata in one round trip
        elif held:  # the modules the target holds: their fields with the module list, before any is read
            source.preload([st.module for st in held], every=True)
        if held[first:]:
            _ask_deltas_early(source, target, modules, files, early, held[first:])
        # a full load reads every module whole: what sizes each read may go out with the metadata
        names = [source.resolve_module(m) for m in modules] if modules else source.modules_for_run(not incremental)
        source.prepare(names, not incremental)
        target.prepare(names)
        names = target.order_modules(names)
        result.planned = list(names)
        target.begin(source, names, progress=progress)
        states = target.load_state()
        signpost = now.result()
    except BaseException:
        early.set()
        raise
    finally:  # an interrupt does not wait for the clock's answer
        clock.shutdown(wait=False)
    result.started_at = signpost
    clear_refs = _reference_clearer(source, target, names)
    full = {m for m in names if not incremental or not ((st := states.get(m)) and st.loaded)
            or _files_switched(_record_files(source, target, m, take=False)[0], st, files)}

    def watermarked(module: str) -> bool:
        return "Modified_Time" in source.schema(module).names

    module_files = ModuleFiles(source, target, files)

    def start(module: str, in_thread: bool) -> tuple[DeltaStart | None, Iterator[pa.RecordBatch]]:
        if module in full:
            head, rows = None, source.read(module)
        else:  # read ahead of parents still being read: its cascade check waits for them, its rows do not
            wait = partial(ahead.wait_settle, module) if in_thread and ahead.settles_later(module) else None
            head, rows = start_delta(source, None if in_thread else target, module, states[module],
                                     watermarked(module), wait)
        if in_thread:  # read ahead of its turn: its files download as its rows arrive, not at the turn
            rows = module_files.prefetch(module, rows, head, source.signpost(module) or signpost)
        return head, rows

    # While a module is written, the next ones are read already (the target still writes one at a time): full
    # loads, and the deltas the source can read without the target (settled against it at their turn, or
    # before it by the turns below).
    def warm(module: str) -> None:
        if module not in full:
            warm_delta(source, module, states[module], watermarked(module))

    ahead = ReadAhead(start, names, source.read_ahead(deltas_only=not full),
                      [m for m in names if m in full or source.delta_ahead(m)],
                      after=lambda m: {} if m in full else source.delta_after(m), warm=warm)
    # Deltas into a target that takes any order: the next module written is the first whose read is in.
    turns = WriteTurns(names, ahead, lambda head, m: head.settle(target, m), clear_refs, module_files.downloading,
                       target.preread) \
        if incremental and not full and target.writes_in_any_order else None
    # A file target writes a changed module's file behind the run while the next module is taken: whatever
    # happens, each write handed over ends (and a failed one is the module's result) before the run does.
    target.write_behind()
    try:
        for module in turns if turns is not None else names:
            done = _one_module(result, source, target, module, states, signpost, incremental, progress,
                               refresh_formulas, clear_refs, ahead, files, (spent or {}).get(module, 0),
                               module_files, turns)
            if not _failed_behind(result, target.writes_failed()) or not done:
                if stop_on_error:
                    break
        _failed_behind(result, target.writes_failed(wait=True))
    except BaseException:
        _failed_behind(result, target.writes_failed(wait=True), raising=False)
        raise
    finally:
        ahead.close()
        early.set()
    if turns is not None:  # the summary lists the modules in the run's order, whichever was written first
        result.modules.sort(key=lambda m: names.index(m.module) if m.module in names else len(names))
    result.interrupted_in = SECOND_PASS
    result.notes += target.finish(progress)
    for m in result.modules:  # the second pass may have failed rows too
        stats = target.module_stats(m.module)
        m.rows_failed = stats.failed
        m.would = dict(stats.would)
    result.interrupted_in = None
    result.report_path = target.report_path
    result.credits = spent_credits(source, target) - credits_before
    return result
