"""Parquet and CSV directories as migration targets and sources.

Layout of ``parquet:DIR`` (``csv:DIR`` is the same with ``.csv`` files)::

    DIR/Leads.parquet            one file per module, always whole
    DIR/_schema.json             every module's Arrow schema (CSV needs it to read types back)
    DIR/_zohocrm_state.json      the manifest: per module its sync state, rows, schema; the users
    DIR/.zohocrm-tmp/            work area; anything left here by a killed run is swept on open
    DIR/_files/                  attachments' and file fields' files (connector.sync.record_files)

Commit order, per module: the new data file is written whole into the work
area and fsynced, then renamed over ``DIR/<Module>.<ext>`` (one atomic rename:
a reader opening the path gets the old file or the new one, never a part);
then the schema sidecar, then the manifest (temp + fsync + rename). Data first,
manifest last: a crash between the two leaves new data under the old state,
and the re-run re-applies the same delta, which is idempotent (upsert by id,
delete by id). Incremental runs rewrite the module's file with the delta
applied — a new generation swapped in the same way — so readers never see a
half state. A lock file keeps two runs from writing one directory at once.

Lookups that point at records deleted at the source are emptied (Zoho empties
them without moving the referring records' Modified_Time, so no delta brings
it). Each parent's deletions would otherwise rewrite every module that looks it
up, before the parent commits: instead the manifest keeps them as *pending
clears* of the referring module (``pending_clears``: the lookup's columns, the
parent and the deleted ids), written with the parent's own commit (one manifest
write: its deletions and the clears they cause land together; a run stopped
before it redoes both). Every read of a module's file through this package (and
the target's own reads, before that commit) applies its pending clears
(:meth:`FileDir.tables`); the module's next file generation (its own turn in the
run, whose rewrite reads through them) drops them, and what is still pending
when a run ends is written out then, one generation per module
(:meth:`FileTarget.finish`). So a module is rewritten at most once a run for
its deleted lookups, however many parents lost records, and files read by other
tools hold no dangling lookup once a run has finished.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
from filelock import FileLock, Timeout

from connector.errors import ConfigError, StateError
from connector.interrupts import held
from connector.localfs import private_dir, private_umask

from .contract import ProgressFn, Source, Target
from .file_formats import BATCH_ROWS, FileFormat, RowWriter, fsync_dir, write_json_atomic
from .paths import TARGET, usable_folder
from .preread import Preread
from .record_files import open_stored
from .schema_io import merged, schema_from_json, schema_to_json
from .state import BoundaryCheck, ModuleState, since_watermark
from .write_behind import WriteBehind

log = logging.getLogger("connector.sync")
MANIFEST = "_zohocrm_state.json"
SCHEMA_SIDECAR = "_schema.json"
WORK_DIR = ".zohocrm-tmp"
FILES_DIR = "_files"
FORMAT_TAG = "zohocrm-sync-files"
#: module rewrites a run may have under way behind it at once (:meth:`FileTarget.write_behind`), at most
REWRITES_AT_ONCE = 4


def _ids_of(tables: Iterator[pa.Table]) -> set[str]:
    out: set[str] = set()
    for t in tables:
        out.update(v for v in t.column("id").to_pylist() if v is not None)
    return out


class FileDir:
    """What target and source share: the directory, its format, manifest and schema sidecar."""

    def __init__(self, path: str | Path, kind: str) -> None:
        self.root = Path(path).expanduser()
        self.fmt = FileFormat(kind)
        self.kind = kind

    def data_path(self, module: str) -> Path:
        return self.root / f"{module}{self.fmt.ext}"

    #: the manifest as last read, kept by a target (which holds the directory's lock: nobody else writes it)
    _cached: dict[str, Any] | None = None
    _caches = False

    def _view(self) -> dict[str, Any]:
        """The manifest for reading only (a target reads it again only after writing it)."""
        if not self._caches:
            return self.manifest()
        if self._cached is None:
            self._cached = self.manifest()
        return self._cached

    def _save_manifest(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.root / MANIFEST, data)
        self._cached = None

    def _pending(self, module: str) -> list[Clear]:
        """The module's lookups still to be emptied when its file is read (see the module's doc)."""
        return pending_clears(self._view(), module)

    def manifest(self) -> dict[str, Any]:
        """The manifest, read now (the caller may change it and save it)."""
        path = self.root / MANIFEST
        if not path.exists():
            return {"format": FORMAT_TAG, "version": 1, "kind": self.kind, "modules": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise StateError(f"{path} is not valid JSON: {exc}",
                             hint="it is written atomically, so it was edited; delete it to reload everything") from None
        if data.get("format") != FORMAT_TAG or not isinstance(data.get("modules"), dict):
            raise StateError(f"{path} is not a zohocrm sync manifest")
        if data.get("kind") not in (None, self.kind):
            raise StateError(f"{self.root} holds {data.get('kind')} files, not {self.kind}",
                             hint=f"use {data.get('kind')}:{self.root}")
        return dict(data)

    def sidecar(self) -> dict[str, Any]:
        path = self.root / SCHEMA_SIDECAR
        if not path.exists():
            return {}
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def stored_schema(self, module: str) -> pa.Schema | None:
        entry = self._view()["modules"].get(module) or {}
        raw = entry.get("schema") or self.sidecar().get(module)
        if raw:
            return schema_from_json(raw)
        path = self.data_path(module)
        return self.fmt.file_schema(path) if path.exists() else None

    def tables(self, module: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The module's rows in chunks (``columns``: only those), its pending clears applied."""
        path = self.data_path(module)
        if not path.exists():
            return iter(())
        schema = self.stored_schema(module)
        clears, need = self._clears_on(module, columns)
        if not clears:
            return self._read(module, path, schema, columns)
        return self._cleared(module, path, schema, columns, need, clears)

    def _read(self, module: str, path: Path, schema: pa.Schema | None, columns: list[str] | None
              ) -> Iterator[pa.Table]:
        """The module's file as it holds it (no pending clear applied), in chunks."""
        return self.fmt.read(path, schema, columns)

    def _clears_on(self, module: str, columns: list[str] | None) -> tuple[list[Clear], list[str] | None]:
        """The module's pending clears that touch ``columns`` (None: every column), and the columns a read of
        ``columns`` needs to apply them (a clear is decided on the lookup's id, and module, column)."""
        clears = [c for c in self._pending(module) if columns is None or any(x in columns for x in c.columns)]
        if columns is None:
            return clears, None
        extra = [x for c in clears for x in (c.id_col, c.module_col) if x and x not in columns]
        return clears, [*columns, *dict.fromkeys(extra)]

    def _cleared(self, module: str, path: Path, schema: pa.Schema | None, columns: list[str] | None,
                 need: list[str] | None, clears: list[Clear]) -> Iterator[pa.Table]:
        for t in self._read(module, path, schema, need):
            for c in clears:
                t = c.apply(t)
            yield t if columns is None or need == columns else t.select(columns)


class FileTarget(FileDir, Target):
    writes_in_any_order = True  # one file and one manifest entry per module; clears wait in the manifest

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(path, kind)
        self.scheme = kind
        #: pending clears found since the manifest was last written, per referring module: they are written
        #: with the next manifest, which is normally the commit of the parent whose deletions they follow
        self._staged: dict[str, list[Clear]] = {}
        #: per module, the lookup columns its clears are counted on, with the stamp of the file they were read
        #: from (:meth:`_lookup_columns`)
        self._lookups: dict[str, tuple[tuple[int, int, int], dict[str, pa.ChunkedArray]]] = {}
        #: module -> its lookup columns the run's clears may look at (:meth:`lookups_of`): read together
        self._lookup_columns_of: dict[str, list[str]] = {}
        #: modules' files read into memory ahead of their rewrite (:meth:`preread`)
        self._ahead = Preread(kind)
        #: the rewrites of changed modules, once the run lets them go on behind it (:meth:`write_behind`)
        self._behind: WriteBehind | None = None
        #: the manifest, its cached view, the schema sidecar and the staged clears: one writer at a time
        self._manifest_lock = threading.RLock()
        # Data files (written by pyarrow, which takes no mode), the manifest, the lock and the work
        # area hold record data: private for as long as the target is open, whatever the umask.
        self._private = ExitStack()
        self._private.callback(self._ahead.close)
        self._private.enter_context(private_umask())
        try:
            self.root = usable_folder(self.root, f"{kind} target folder", TARGET)
            self._lock = FileLock(str(self.root / ".zohocrm.lock"), mode=0o600)
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                raise StateError(f"another migration is writing {self.root}",
                                 hint="wait for it to finish; runs into one directory take turns") from None
            self._private.callback(self._lock.release)
            self._caches = True  # the lock is ours: the manifest changes only through this object
            # Whatever a killed run left half-written is not referenced by the manifest: sweep it.
            shutil.rmtree(self.root / WORK_DIR, ignore_errors=True)
            self.manifest()  # fail early on a foreign or corrupt manifest
        except BaseException:
            self._private.close()
            raise

    @classmethod
    def from_url(cls, location: str, **options: Any) -> FileTarget:
        return cls(location, str(options.get("kind", "parquet")))

    def files_folder(self) -> tuple[Path, Path]:
        """Attachments and file fields go to ``DIR/_files`` (see :mod:`.record_files`)."""
        return self.root / FILES_DIR, self.root

    def __repr__(self) -> str:
        return f"FileTarget({self.kind}:{self.root})"

    def identity(self) -> str:
        return f"{self.kind}:{self.root.resolve()}"

    # -- state ---------------------------------------------------------------------------------

    def state_before_begin(self) -> dict[str, ModuleState]:
        return self.load_state()  # its own file: nothing to open first

    def load_state(self) -> dict[str, ModuleState]:
        self._wait(None)
        out = {}
        for module, entry in self._view()["modules"].items():
            if entry.get("state"):
                try:
                    out[module] = ModuleState.from_json(entry["state"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise StateError(f"the state of {module} in {self.root / MANIFEST} is corrupt: {exc}",
                                     hint="remove the module's entry to reload it") from None
        return out

    def ids(self, module: str, expected: int | None = None) -> set[str]:
        return _ids_of(self.tables(module, ["id"]))

    # -- rewrites behind the run -------------------------------------------------------------------

    def write_behind(self) -> bool:
        """Changed modules' files are written again behind the run (:mod:`.write_behind`): a few at once,
        each committed (its file renamed, then the manifest) as it ends."""
        if self._behind is None:
            self._behind = WriteBehind(min(REWRITES_AT_ONCE, os.cpu_count() or 1))
        return True

    def writes_failed(self, wait: bool = False) -> dict[str, Exception]:
        return self._behind.failed(wait) if self._behind is not None else {}

    def after_commit(self, module: str, then: Callable[[], object]) -> None:
        if self._behind is None:
            then()
        else:
            self._behind.after(module, then)

    def _wait(self, module: str | None, raising: bool = False) -> None:
        """The module's rewrite under way behind the run, if any, ended (``raising``: see :meth:`WriteBehind.wait`);
        None: every module's."""
        if self._behind is None:
            return
        if module is None:
            self._behind.wait_all()
        else:
            self._behind.wait(module, raising)

    def _end_behind(self) -> None:
        if self._behind is not None:
            self._behind.close()

    def tables(self, module: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
        self._wait(module)
        return super().tables(module, columns)

    def stored_schema(self, module: str) -> pa.Schema | None:
        self._wait(module)
        return super().stored_schema(module)

    def _view(self) -> dict[str, Any]:
        with self._manifest_lock:
            return super()._view()

    def preread(self, module: str) -> None:
        """``module`` changes this run: its file, which its turn reads whole to rewrite it, is read into memory
        now, in the background, within a budget (:mod:`.preread`)."""
        path = self.data_path(module)
        try:
            schema = self.stored_schema(module)
        except (OSError, ValueError, StateError) as exc:  # its turn reads the file and says what is wrong
            log.debug("%s: not read ahead (%s)", module, exc)
            return
        self._ahead.start(module, path, schema, partial(self.fmt.read, path, schema, None))

    def _read(self, module: str, path: Path, schema: pa.Schema | None, columns: list[str] | None
              ) -> Iterator[pa.Table]:
        """From the rows read ahead when they are of this file: waited for by a whole read (it would read the
        same), taken only when in already by a read of some columns (which reads less itself)."""
        table = self._ahead.rows(module, path, schema, wait=columns is None)
        if table is None:
            return self.fmt.read(path, schema, columns)
        if columns is not None:
            table = table.select([c for c in columns if c in table.column_names])
        return (table.slice(at, BATCH_ROWS) for at in range(0, table.num_rows, BATCH_ROWS))

    def save_users(self, users: list[dict[str, Any]]) -> None:
        """Source users (id, name, email): a later run from this directory maps owners by email with them."""
        with self._manifest_lock:
            data = self.manifest()
            if data.get("users") == users:
                return
            data["users"] = users
            self._save_manifest(data)

    def save_state(self, state: ModuleState) -> None:
        """The module's state alone (a run that changed no row but learned something about its watermark)."""
        self._wait(state.module)
        with self._manifest_lock:
            data = self.manifest()
            entry = data["modules"].get(state.module)
            if entry is None:
                return
            entry["state"] = state.to_json()
            self._save_manifest(data)

    def _commit(self, module: str, new_file: Path | None, schema: pa.Schema, state: ModuleState) -> None:
        """``new_file`` (written from the module's reads, its pending clears applied, or from the source
        whole) becomes the module's file; then the manifest, without the module's pending clears. A stopping
        signal waits for both (:func:`connector.interrupts.held`): the file is never the manifest's elder."""
        with held():
            self._commit_now(module, new_file, schema, state)

    def _save_manifest(self, data: dict[str, Any]) -> None:
        with self._manifest_lock:
            self._merge_staged(data)
            super()._save_manifest(data)

    def _merge_staged(self, data: dict[str, Any]) -> None:
        """The clears staged by :meth:`clear_references` into ``data``'s pending ones (one per lookup and
        parent: the ids of a second deletion of the same parent join the first's)."""
        for module, clears in self._staged.items():
            kept = data.setdefault(PENDING, {}).setdefault(module, [])
            for clear in clears:
                same = next((c for c in kept if Clear.from_json(c).key == clear.key), None)
                if same is None:
                    kept.append(clear.to_json())
                else:
                    same["ids"] = sorted(set(same["ids"]) | set(clear.ids))
        self._staged = {}

    def _pending(self, module: str) -> list[Clear]:
        with self._manifest_lock:
            return [*super()._pending(module), *self._staged.get(module, ())]

    def _commit_now(self, module: str, new_file: Path | None, schema: pa.Schema, state: ModuleState) -> None:
        if new_file is not None:
            self._lookups.pop(module, None)
            self._ahead.drop(module)
            os.replace(new_file, self.data_path(module))
            fsync_dir(self.root)
        with self._manifest_lock:  # (a rewrite behind the run commits beside the runner's own writes)
            if self.kind == "csv":
                side = self.sidecar()
                side[module] = schema_to_json(schema)
                write_json_atomic(self.root / SCHEMA_SIDECAR, side)
            data = self.manifest()
            self._merge_staged(data)  # the parent's clears land with its commit; this module's own were read through
            data["modules"][module] = {"file": self.data_path(module).name, "rows": state.rows,
                                       "schema": schema_to_json(schema), "state": state.to_json(),
                                       "committed_at": datetime.now(UTC).isoformat(timespec="seconds")}
            if new_file is not None and module in (data.get(PENDING) or {}):
                del data[PENDING][module]
            self._save_manifest(data)

    @contextmanager
    def _work(self) -> Iterator[Path]:
        """A scratch directory of this run inside the target (same filesystem, so the commit is a rename)."""
        d = private_dir(self.root / WORK_DIR / uuid.uuid4().hex, "work folder of the target", setting=TARGET)
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)

    @contextmanager
    def _generation(self, work: Path, module: str, schema: pa.Schema) -> Iterator[tuple[Path, RowWriter]]:
        """The module's next data file in ``work`` and its writer, closed on the way out; then ``_commit`` it."""
        out = work / self.data_path(module).name
        writer = self.fmt.writer(out, schema)
        try:
            yield out, writer
        finally:
            writer.close()

    # -- writes ----------------------------------------------------------------------------------

    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        """The module's new file is written from ``batches`` here; its last rows encoded, the file closed and
        committed with ``state`` here too, or behind the run once it said so (:meth:`write_behind`): the next
        module's rows are taken meanwhile."""
        self._wait(module)
        with ExitStack() as work_folder:
            work = work_folder.enter_context(self._work())
            out = work / self.data_path(module).name
            writer = self.fmt.writer(out, schema)
            rows = 0
            try:
                for b in batches:
                    writer.write(pa.Table.from_batches([b]))
                    rows += b.num_rows
            except BaseException:
                writer.close()
                raise
            state.rows = rows
            finish = partial(self._close_and_commit, work_folder.pop_all(), writer, out, module, schema,
                             replace(state))
        self._hand_over(module, finish)
        return rows

    def _close_and_commit(self, work_folder: ExitStack, writer: RowWriter, out: Path, module: str,
                          schema: pa.Schema, state: ModuleState) -> None:
        with work_folder:
            writer.close()
            self._commit(module, out, schema, state)

    def _hand_over(self, module: str, write: Callable[[], None]) -> None:
        """``write`` (the end of a module's new file, and its commit) now, or behind the run."""
        if self._behind is None:
            write()
        else:
            with held():  # handed over, it commits whatever comes: a stop waits for the module's result
                self._behind.run(module, write)

    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        """The delta is taken here; the module's file is written again with it, and committed with ``state``,
        here too, or behind the run once it said so (:meth:`write_behind`)."""
        self._wait(module, raising=True)  # (a failed rewrite of it behind the run: nothing builds on it)
        with ExitStack() as work_folder:
            work = work_folder.enter_context(self._work())
            delta = _Delta(work / "delta.parquet", schema)
            for b in batches:
                if b.num_rows:
                    delta.add(b)
            delta.done()
            gone = self._held(module, deleted_ids) if deleted_ids else 0
            if not delta.ids and not gone:
                self._ahead.drop(module)
                return 0, 0  # nothing changed: the files and the manifest stay untouched
            full = merged(schema, self.stored_schema(module))
            drop = pa.array(sorted(delta.ids | set(deleted_ids)), pa.string())
            # the state as handed over is what commits: the caller may go on to change its own (a formula
            # refresh's time, set before the refresh it stands for is written)
            rewrite = partial(self._rewrite, work_folder.pop_all(), work, module, full, delta, drop, state,
                              replace(state))
        self._hand_over(module, rewrite)
        return len(delta.ids), gone

    def _held(self, module: str, ids: list[str]) -> int:
        """How many of ``ids`` the module's file holds (read from its id column, or its rows read ahead)."""
        wanted = pa.array(sorted(set(ids)), pa.string())
        return sum(int(pc.sum(pc.is_in(t.column("id"), value_set=wanted)).as_py() or 0)
                   for t in self.tables(module, ["id"]))

    def _rewrite(self, work_folder: ExitStack, work: Path, module: str, full: pa.Schema, delta: _Delta,
                 drop: pa.Array, state: ModuleState, committed: ModuleState) -> None:
        """The module's next file: its rows without those ``drop`` names (changed or deleted), then the delta;
        committed with ``committed`` (the state as handed over), its rows told to ``state`` too. The work folder
        goes at the end, whatever happens."""
        with work_folder:
            rows = 0
            with self._generation(work, module, full) as (out, writer):
                for t in self.tables(module):
                    kept = t.filter(pc.invert(pc.is_in(t.column("id"), value_set=drop)))
                    writer.write(kept)
                    rows += kept.num_rows
                for t in delta.tables():
                    writer.write(t)
                    rows += t.num_rows
            state.rows = committed.rows = rows
            self._commit(module, out, full, committed)

    def clear_references(self, module: str, id_col: str, name_col: str, module_col: str | None, parent: str,
                         ids: list[str]) -> int:
        """Empty a lookup wherever it points at one of ``ids``: kept in the manifest as a pending clear of
        the module (see the module's doc), rewritten into its file at its next generation or at the run's
        end. The lookups it empties, counted on the lookup's own columns.

        The clear is staged, not written at once: it reaches the manifest with the next write, the commit of
        the parent whose deletions it follows (so the deletions and the clears they cause land in one
        rename; a run stopped before that commit redoes both), and every read of the module's file through
        this target applies it meanwhile."""
        full = self.stored_schema(module)
        if full is None or id_col not in full.names:
            return 0
        clear = Clear(id_col, name_col if name_col in full.names else "",
                      module_col if module_col and module_col in full.names else "", parent, tuple(ids))
        looked = [c for c in (id_col, clear.module_col) if c]
        # counted as a read through the module's pending clears would count, on its lookup columns read once
        # a file generation (every parent with deletions asks the modules that look it up again)
        earlier, need = self._clears_on(module, looked)
        t = self._lookup_columns(module, need if need is not None else looked, full)
        if t is None:
            return 0
        for c in earlier:
            t = c.apply(t)
        total = pc.sum(clear.hits(t)).as_py() or 0
        if not total:
            return 0
        with self._manifest_lock:
            self._staged.setdefault(module, []).append(clear)
        return int(total)

    def lookups_of(self, module: str, columns: list[str]) -> None:
        self._lookup_columns_of[module] = list(dict.fromkeys(columns))

    def _lookup_columns(self, module: str, columns: list[str], schema: pa.Schema) -> pa.Table | None:
        """``columns`` of the module's file as it holds them (no pending clear applied), kept for as long as
        the file is the same generation (the target holds the directory's lock: only it replaces files). The
        first read of a generation takes every lookup column the run may ask (:meth:`lookups_of`) with them:
        each parent's deletions ask again, and one read of the file costs about what one column's does."""
        path = self.data_path(module)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        kept = self._lookups.get(module)
        if kept is None or kept[0] != stamp:
            kept = self._lookups[module] = (stamp, {})
        cols = kept[1]
        missing = [c for c in dict.fromkeys(columns) if c not in cols]
        if missing:
            missing += [c for c in self._lookup_columns_of.get(module, ())
                        if c not in cols and c not in missing and c in schema.names]
            parts = list(self._read(module, path, schema, missing))
            read = pa.concat_tables(parts) if parts else \
                pa.schema([schema.field(c) for c in missing if c in schema.names]).empty_table()
            for c in missing:
                if c in read.column_names:
                    cols[c] = read.column(c)
        names = [c for c in dict.fromkeys(columns) if c in cols]
        return pa.table({c: cols[c] for c in names})

    def finish(self, progress: ProgressFn | None = None) -> list[str]:
        """Write out the lookups still pending a clear: one new generation per module that has some."""
        self._wait(None)
        if self._staged:  # staged after the last commit (a parent whose deletions were in no file of its own)
            self._save_manifest(self.manifest())
        for module in list(self.manifest().get(PENDING) or {}):
            full = self.stored_schema(module)
            if full is None or not self.data_path(module).exists():
                data = self.manifest()
                data[PENDING].pop(module, None)
                self._save_manifest(data)
                continue
            state = self.load_state().get(module) or ModuleState(module, loaded=True)
            with self._work() as work:
                with self._generation(work, module, full) as (out, writer):
                    for t in self.tables(module):
                        writer.write(t)
                self._commit(module, out, full, state)
        return []

    def update_columns(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState) -> int:
        """Overwrite some columns by id (formula refresh): one new generation of the module's file."""
        parts = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        if not parts:
            return 0
        upd = pa.concat_tables(parts)
        cols = [c for c in upd.column_names if c != "id"]
        self._wait(module, raising=True)  # (its delta's rewrite behind the run: refreshed on top of it)
        full = self.stored_schema(module)
        if full is None:
            return 0
        with self._work() as work:
            changed = 0
            with self._generation(work, module, full) as (out, writer):
                for t in self.tables(module):
                    idx = pc.index_in(t.column("id"), value_set=upd.column("id"))
                    hit = pc.is_valid(idx)
                    changed += pc.sum(hit).as_py() or 0
                    arrays = []
                    for f in full:
                        col = t.column(f.name)
                        if f.name in cols:
                            fresh = upd.column(f.name).take(pc.fill_null(idx, 0)).cast(f.type)
                            col = pc.if_else(hit, fresh, col)
                        arrays.append(col)
                    writer.write(pa.Table.from_arrays(arrays, schema=full))
            state.rows = state.rows or changed
            self._commit(module, out, full, state)
            return int(changed)

    def close(self) -> None:
        self._end_behind()  # the rewrites under way end (each one's commit whole) while the lock is held
        self._private.close()  # the lock, then the umask


class FileSource(FileDir, Source):
    """Read a directory written by :class:`FileTarget` (or plain Parquet/CSV files named after modules)."""

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(path, kind)
        if not self.root.is_dir():
            raise ConfigError(f"{self.root} is not a directory", hint=f"give {kind}:DIR of a migration target")
        self.scheme = kind

    @classmethod
    def from_url(cls, location: str, **options: Any) -> FileSource:
        return cls(location, str(options.get("kind", "parquet")))

    def __repr__(self) -> str:
        return f"FileSource({self.kind}:{self.root})"

    def identity(self) -> str:
        return f"{self.kind}:{self.root.resolve()}"

    def modules(self) -> list[str]:
        listed = list(self.manifest()["modules"])
        found = sorted(p.stem for p in self.root.glob(f"*{self.fmt.ext}") if not p.name.startswith(("_", ".")))
        return listed + [m for m in found if m not in listed]

    def schema(self, module: str) -> pa.Schema:
        s = self.stored_schema(module)
        if s is not None:
            return s
        if not self.data_path(module).exists():
            raise StateError(f"{self.root} has no {module}{self.fmt.ext}", hint=f"modules here: {self.modules()}")
        # A CSV nobody described: every column is text (the Zoho writer still converts numbers and dates).
        first = next(iter(self.fmt.read(self.data_path(module), None)), None)
        return first.schema if first is not None else pa.schema([("id", pa.string())])

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def signpost(self, module: str) -> datetime | None:
        """The time up to which this module's file is known complete: its upstream run's signpost.

        A file written by a sync holds rows changed during that sync too; capping a run from
        here at the upstream signpost leaves those for the next run, when their whole story has
        arrived. Per module, because an upstream run with nothing new for a module leaves its
        file and state untouched (and its signpost where it was).
        """
        state = _states(self.manifest()).get(module)
        return state.deleted_since if state else None

    def read(self, module: str, columns: list[str] | None = None, *, modified_since: datetime | None = None,
             exclude_ids: set[str] | None = None, boundary: BoundaryCheck | None = None
             ) -> Iterator[pa.RecordBatch]:
        if not self.data_path(module).exists():  # a module it lacks is an error, not an empty read
            raise StateError(f"{self.root} has no {module}{self.fmt.ext}", hint=f"modules here: {self.modules()}")
        if columns is not None and "id" not in columns:
            columns = ["id", *columns]
        # The window is cut on Modified_Time, so it is read even when the caller did not ask for it.
        wanted = columns
        if columns is not None and modified_since is not None and "Modified_Time" not in columns:
            columns = [*columns, "Modified_Time"]
        for t in self.tables(module, columns):
            if modified_since is not None and "Modified_Time" in t.column_names:
                t = since_watermark(t, modified_since, exclude_ids)
            if wanted is not None and wanted != columns:
                t = t.select([c for c in wanted if c in t.column_names])
            yield from t.to_batches()

    def ids(self, module: str, expected: int | None = None) -> set[str]:
        return _ids_of(self.tables(module, ["id"]))

    def users(self) -> list[dict[str, Any]]:
        return list(self.manifest().get("users") or [])

    def open_file(self, path: str) -> BinaryIO:
        """A file under ``DIR/_files`` by the path the table gives (relative to ``DIR``)."""
        return open_stored(self.root, path)

    def close(self) -> None:
        pass  # nothing held open: every read opens and closes its file


#: bytes of a module's changed rows an incremental run holds in memory before they go to its work folder
DELTA_IN_MEMORY = 64 << 20


class _Delta:
    """A module's changed rows, held until its file is written again: in memory, or past
    :data:`DELTA_IN_MEMORY` in a Parquet file of the work folder (a mass update need not fit in memory)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.ids: set[str] = set()
        self._held: list[pa.Table] = []
        self._bytes = 0
        self._writer: RowWriter | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        t = pa.Table.from_batches([batch])
        self.ids.update(t.column("id").to_pylist())
        if self._writer is None:
            self._held.append(t)
            self._bytes += t.nbytes
            if self._bytes <= DELTA_IN_MEMORY:
                return
            self._writer = FileFormat("parquet").writer(self.path, self.schema)
            held, self._held = self._held, []
            for h in held:
                self._writer.write(h)
            return
        self._writer.write(t)

    def done(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def tables(self) -> Iterator[pa.Table]:
        if self._writer is None:
            return iter(self._held)
        return FileFormat("parquet").read(self.path, self.schema)


#: the manifest's key for lookups still to be emptied, per referring module (see the module's doc)
PENDING = "pending_clears"


@dataclass(frozen=True)
class Clear:
    """Lookups of a module to empty: where ``id_col`` holds one of ``ids`` (and, for a lookup that can
    point at several modules, ``module_col`` names ``parent``), the lookup's columns read null."""

    id_col: str
    name_col: str  # "" when the module's file has none
    module_col: str  # ""  when the lookup points at one module only
    parent: str
    ids: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.id_col, self.name_col, self.module_col) if c)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.id_col, self.name_col, self.module_col, self.parent

    @cached_property
    def _value_set(self) -> pa.Array:
        return pa.array(self.ids, pa.string())

    def hits(self, t: pa.Table) -> pa.ChunkedArray | pa.Array:
        mask = pc.fill_null(pc.is_in(t.column(self.id_col), value_set=self._value_set), False)
        if self.module_col and self.module_col in t.column_names:
            mask = pc.and_(mask, pc.fill_null(pc.equal(t.column(self.module_col), self.parent), False))
        return mask

    def apply(self, t: pa.Table) -> pa.Table:
        if self.id_col not in t.column_names or not self.ids:
            return t
        mask = self.hits(t)
        if not pc.any(mask).as_py():
            return t
        for name in self.columns:
            if name in t.column_names:
                i = t.schema.get_field_index(name)
                col = t.column(i)
                t = t.set_column(i, t.field(i), pc.if_else(mask, pa.nulls(t.num_rows, col.type), col))
        return t

    def to_json(self) -> dict[str, Any]:
        return {"id_col": self.id_col, "name_col": self.name_col, "module_col": self.module_col,
                "parent": self.parent, "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Clear:
        missing = [k for k in ("id_col", "parent", "ids") if not isinstance(raw, dict) or k not in raw]
        if missing:
            raise ValueError(f"an entry has no {', '.join(missing)}")
        if not isinstance(raw["ids"], list):
            raise ValueError(f"ids must be a list of record ids, not {type(raw['ids']).__name__}")
        return cls(str(raw["id_col"]), str(raw.get("name_col") or ""), str(raw.get("module_col") or ""),
                   str(raw["parent"]), tuple(str(i) for i in raw["ids"]))


def pending_clears(manifest: dict[str, Any], module: str) -> list[Clear]:
    """The module's pending clears as the manifest keeps them (a malformed entry is a StateError)."""
    raw = (manifest.get(PENDING) or {}).get(module) or []
    try:
        return [Clear.from_json(c) for c in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"the pending lookup clears of {module} in {MANIFEST} are corrupt: {exc}",
                         hint="remove the module's entry under pending_clears and reload the module") from None


def _states(manifest: dict[str, Any]) -> dict[str, ModuleState]:
    return {m: ModuleState.from_json(e["state"]) for m, e in manifest["modules"].items() if e.get("state")}
