"""The bytes of attachments and file/image upload fields, written beside a migration's tables.

Layout under the target's files folder (``DIR/_files`` for ``parquet:``/``csv:``,
``PATH.files`` beside a ``duckdb:PATH`` file)::

    Attachments/<attachment id>/<file name>        one attachment (its row's id)
    <Module>/<record id>/<Field>/<file name>       each file of a record's file or image field
    <Module>/<record id>/Record_Image/photo.<ext>  a record's photo (its ``profileimage`` field)

Names are Zoho's, made safe for a file system (:func:`safe_name`); a second file of the same name
in one field gets ``<entry id>_`` in front. The table says where each file went and what it holds:
Attachments gain ``File_Path`` (relative to the target: ``_files/Attachments/...``),
``File_Size`` and ``File_SHA256``; each entry of a file field's JSON gains ``$path``, ``$size``
and ``$sha256``. A record's photo (``Record_Image``, whose value is Zoho's photo id; the bytes come
from the Photo API, ``GET /{module}/{id}/photo``) keeps its value and gains three columns beside it:
``Record_Image_Path``, ``Record_Image_Size`` and ``Record_Image_SHA256``; its file's extension comes
from the image's first bytes (``.png``, ``.jpg``, ``.gif``, ``.bmp``, ``.webp``; none when unknown).

Each download is streamed to a private temp file in its folder, hashed on the way, fsynced and
renamed into place, so no file set — not even one file — is held in memory, and a killed run
leaves no half file under a final name. Each folder keeps ``.zohocrm-files.json``: per Zoho file
id, the name, size and hash written. Zoho never changes the bytes behind a file id (a new upload
is a new id), so a file already there under its id is not fetched again: an incremental run (or a
full reload) downloads only new and changed files, and removes the files a record no longer has
and the folders of deleted records.

Files are downloaded concurrently (``workers``: the source's MaxConcurrency; the HTTP client's slots
keep the calls within Zoho's limits), file by file — two files of one record at once too, a folder's
manifest updated under that folder's lock. One pool serves the whole module, and the files of the
next batch start while the previous batch waits for its last ones, so no slot idles at a batch's
tail. Batches still leave in order, each once all of its files are in place; on Ctrl-C the workers
stop sending and nobody waits for a download in flight (its ``.part`` file never gets a final name).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from connector.errors import ConnectorError, FileAccessError
from connector.http.client import cancellable
from connector.interrupts import is_interrupt
from connector.localfs import open_private, private_dir, reporting_os_errors, write_private

log = logging.getLogger("connector.sync")

FOLDER_MANIFEST = ".zohocrm-files.json"
ATTACHMENT_COLUMNS = (("File_Path", pa.string()), ("File_Size", pa.int64()), ("File_SHA256", pa.string()))
#: the columns a photo field gains, after its own name
PHOTO_SUFFIXES = (("_Path", pa.string()), ("_Size", pa.int64()), ("_SHA256", pa.string()))
PHOTO_STEM = "photo"
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp"))
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_NAME_BYTES = 200


def photo_columns(field_name: str) -> list[tuple[str, pa.DataType]]:
    """The columns that say where a photo field's file went: ``<Field>_Path``, ``_Size``, ``_SHA256``."""
    return [(field_name + suffix, typ) for suffix, typ in PHOTO_SUFFIXES]


def image_extension(head: bytes) -> str:
    """A photo file's extension by its first bytes ("" when it is no image type known here)."""
    for magic, ext in _IMAGE_MAGIC:
        if head.startswith(magic):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return ""


def safe_name(name: str, fallback: str = "file") -> str:
    """``name`` as one path component: no separators, control characters, ``.``/``..``; at most 200 bytes."""
    out = _UNSAFE.sub("_", name).strip()
    if out in ("", ".", ".."):
        out = fallback
    if out.startswith("."):
        out = "_" + out[1:]  # no hidden files, and nothing that looks like our own manifest
    raw = out.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:
        stem, dot, ext = out.rpartition(".")
        keep = ext if dot and len(ext.encode()) <= 16 else ""
        budget = MAX_NAME_BYTES - len(keep.encode()) - (1 if keep else 0)
        head = (stem if keep else out).encode("utf-8")[:budget].decode("utf-8", "ignore")
        out = f"{head}.{keep}" if keep else head
    return out


@dataclass(frozen=True)
class FileRef:
    """One file of one row: where it goes (folder under the files root, name) and how to get it."""

    folder: tuple[str, ...]
    name: str
    file_id: str
    path: str  # the GET that answers its bytes
    params: dict[str, str] = field(default_factory=dict)
    #: ``name`` is a stem: the extension comes from the file's first bytes (photos: Zoho gives no name)
    sniff: bool = False


@dataclass(frozen=True)
class FilePlan:
    """Which columns of a module name files, as the source describes them.

    ``attachments``: the module is Zoho's Attachments (one file a row: ``File_Id``, its parent's
    module and id). ``fields``: the file/image upload columns (JSON text lists of entries).
    ``photo``: the record photo column (``Record_Image``: the photo id), if the module has one.
    """

    module: str
    attachments: bool = False
    fields: tuple[str, ...] = ()
    photo: str | None = None


#: one record's file field: its text, the parsed entries, the files, each entry with its file, the folder
_FieldPlan = tuple[str | None, list[Any], list["FileRef"], list[tuple[dict[str, Any], "FileRef"]], tuple[str, ...]]

#: a source's download: (GET path, params) -> the body in chunks
Fetch = Callable[[str, dict[str, str]], Iterator[bytes]]
#: what storing one file gave: (relative path, size, sha256), None when Zoho would not give it
Stored = tuple[str, int, str] | None
#: batches whose files may be on their way while the oldest waits for its last ones
BATCHES_AHEAD = 1


@dataclass
class FileCounts:
    downloaded: int = 0
    reused: int = 0
    bytes: int = 0
    failed: int = 0
    removed: int = 0

    def note(self) -> str:
        text = (f"files: {self.downloaded:,} downloaded ({self.bytes / 1e6:,.1f} MB), "
                f"{self.reused:,} unchanged")
        if self.removed:
            text += f", {self.removed:,} removed"
        if self.failed:
            text += f", {self.failed:,} could not be downloaded (their path and hash are empty; a full reload retries)"
        return text


class RecordFiles:
    """The files of one module in one run: adds their columns, downloads what is new, tidies up."""

    def __init__(self, plan: FilePlan, fetch: Fetch, root: Path, base: Path, *, workers: int = 1) -> None:
        self.plan, self.fetch = plan, fetch
        self.root = root  # the files folder
        self.base = base  # paths in the table are relative to this (the target's folder)
        self.counts = FileCounts()
        self.workers = max(1, workers)
        self._counts_lock = threading.Lock()
        self._folder_locks: dict[Path, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        #: a module's folder -> the record folders it held when first looked at (:meth:`_may_exist`)
        self._listed: dict[str, frozenset[str]] = {}
        #: the record folders this run stored a file in, as (module, record)
        self._made: set[tuple[str, str]] = set()
        #: a folder (its parts under the root) -> its manifest as this run last read or wrote it: the run is the
        #: only writer of its module's folders, so a record's clean-up need not read what its downloads just did
        self._manifests: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
        #: downloads started ahead of the rows' turn (:meth:`prefetch`), by file: taken by :meth:`_start`
        self._early: dict[tuple[tuple[str, ...], str, str, str], Future[Stored]] = {}
        self._early_pool: ThreadPoolExecutor | None = None

    @property
    def columns(self) -> list[str]:
        """The columns of a module's rows that name its files (what :meth:`prefetch` looks at)."""
        if self.plan.attachments:
            return ["id", "File_Id", "File_Name", "Parent_Id_Id", "Parent_Id_Module"]
        return ["id", *self.plan.fields, *([self.plan.photo] if self.plan.photo else [])]

    def schema(self, schema: pa.Schema) -> pa.Schema:
        added = list(ATTACHMENT_COLUMNS) if self.plan.attachments else []
        if self.plan.photo:
            added += photo_columns(self.plan.photo)
        for name, typ in added:
            if name not in schema.names:
                schema = schema.append(pa.field(name, typ))
        return schema

    # -- rows ----------------------------------------------------------------------------------

    def wrap(self, batches: Iterable[pa.RecordBatch], seen: set[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Each batch with its files written and described; ``seen`` collects the row ids."""
        try:
            with _Downloads(self.workers) as downloads:
                waiting: deque[tuple[frozenset[str], Callable[[], pa.RecordBatch]]] = deque()
                for b in batches:
                    ids = frozenset(i for i in b.column("id").to_pylist() if i is not None)
                    if seen is not None:
                        seen.update(ids)
                    # A record still in a batch waiting for its files ends with that batch first: its clean-up
                    # (the files the record no longer names) would take away what this batch's downloads put in
                    # the same folder. Readers give a record once; this keeps the files right if one did not.
                    while waiting and any(not ids.isdisjoint(w) for w, _ in waiting):
                        yield waiting.popleft()[1]()
                    waiting.append((ids, self._attachments(b, downloads) if self.plan.attachments
                                    else self._fields(b, downloads)))
                    while len(waiting) > BATCHES_AHEAD:
                        yield waiting.popleft()[1]()
                while waiting:
                    yield waiting.popleft()[1]()
        finally:
            self._end_prefetch()

    def prefetch(self, batches: Iterable[pa.RecordBatch],
                 keep: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None) -> Iterator[pa.RecordBatch]:
        """The batches as they come, the files of their rows (those ``keep`` leaves: the rows the module's
        turn will write) starting to download meanwhile: a module read ahead of its turn has its files in
        place, or on the wire, when the turn comes, instead of asking them only then.

        Only downloads, never a removal: what a record no longer has goes at the turn (:meth:`wrap`), which
        takes each file started here instead of asking it again (counted once). A file is written as at the
        turn (a part file renamed into place), so a run stopped before the turn leaves whole files that the
        next run finds by their ids; their rows were not committed, so the next run reads them again.
        """
        for b in batches:
            refs = self._refs(keep(b) if keep is not None else b)
            if refs:
                self._start_early(refs)
            yield b

    def downloading(self) -> bool:
        """Whether a download started ahead of the rows' turn (:meth:`prefetch`) is still under way."""
        with self._locks_lock:
            return any(not f.done() for f in self._early.values())

    def _start_early(self, refs: list[FileRef]) -> None:
        with self._locks_lock:
            if self._early_pool is None:
                self._early_pool = ThreadPoolExecutor(self.workers, thread_name_prefix="zoho-files-ahead")
            pool = self._early_pool
            todo: list[tuple[FileRef, Future[Stored]]] = []
            for ref in refs:
                key = _early_key(ref)
                if key not in self._early:  # claimed here, so neither the turn nor a later batch asks it again
                    claimed: Future[Stored] = Future()
                    self._early[key] = claimed
                    todo.append((ref, claimed))
        # Submitted outside ``_locks_lock``, which every download takes first (to find its folder's lock): the
        # pool starts a thread per task until it has its workers, and each start waits its turn at the GIL while
        # other threads run, so a batch's starts under it held back the downloads already started (tens of ms).
        for ref, claimed in todo:
            try:  # the caller's context: its stop and the module its credits count for
                task = pool.submit(copy_context().run, self._store_now, ref)
            except RuntimeError:  # the turn ended meanwhile (the pool shut down): nobody waits for this one
                claimed.cancel()
                continue
            task.add_done_callback(partial(_settle, claimed))

    def _end_prefetch(self) -> None:
        """The turn is over: downloads started ahead and not taken (none, when the turn wrote the rows it was
        expected to) are dropped; nobody waits for one in flight."""
        with self._locks_lock:
            pool, self._early_pool = self._early_pool, None
            self._early.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _refs(self, b: pa.RecordBatch) -> list[FileRef]:
        """Every file the batch's rows name (what :meth:`_attachments` and :meth:`_fields` store)."""
        if self.plan.attachments:
            return [ref for ref in self._attachment_refs(b) if ref is not None]
        ids = b.column("id").to_pylist()
        refs: list[FileRef] = []
        for name in self.plan.fields:
            if name in b.schema.names:
                for rid, v in zip(ids, b.column(name).to_pylist(), strict=True):
                    plan = self._field_plan(str(rid), name, v)
                    if plan is not None:
                        refs += plan[2]
        photo = self.plan.photo
        if photo and photo in b.schema.names:
            refs += [self._photo_ref(str(rid), pid) for rid, pid in zip(ids, b.column(photo).to_pylist(), strict=True)
                     if rid is not None and pid]
        return refs

    def _attachment_refs(self, b: pa.RecordBatch) -> list[FileRef | None]:
        rows = b.select([c for c in ("id", "File_Id", "File_Name", "Parent_Id_Id", "Parent_Id_Module")
                         if c in b.schema.names]).to_pylist()
        refs: list[FileRef | None] = []
        for r in rows:
            ref = None
            if r.get("File_Id") and r.get("Parent_Id_Id") and r.get("Parent_Id_Module"):  # links have no bytes
                folder = (self.plan.module, safe_name(str(r["id"])))
                ref = FileRef(folder, safe_name(str(r.get("File_Name") or ""), str(r["id"])), str(r["File_Id"]),
                              f"/{r['Parent_Id_Module']}/{r['Parent_Id_Id']}/Attachments/{r['id']}")
            refs.append(ref)
        return refs

    def _attachments(self, b: pa.RecordBatch, downloads: _Downloads) -> Callable[[], pa.RecordBatch]:
        refs = self._attachment_refs(b)
        started = self._start(downloads, [ref for ref in refs if ref is not None])

        def finish() -> pa.RecordBatch:
            stored = iter(started())
            got_all = [next(stored) if ref is not None else None for ref in refs]
            out = b
            for i, (name, typ) in enumerate(ATTACHMENT_COLUMNS):
                column = pa.array([got[i] if got else None for got in got_all], typ)
                if name in out.schema.names:
                    out = out.set_column(out.schema.get_field_index(name), name, column)
                else:
                    out = out.append_column(pa.field(name, typ), column)
            return out

        return finish

    def _fields(self, b: pa.RecordBatch, downloads: _Downloads) -> Callable[[], pa.RecordBatch]:
        """Every file field of the batch at once (one wait for the batch, not one per field)."""
        ids = b.column("id").to_pylist()
        fields: list[tuple[str, list[Any], list[_FieldPlan | None]]] = []
        for name in self.plan.fields:
            if name not in b.schema.names:
                continue
            values = b.column(name).to_pylist()
            fields.append((name, values, [self._field_plan(str(rid), name, v)
                                          for rid, v in zip(ids, values, strict=True)]))
        photo = self.plan.photo
        photo_ids = b.column(photo).to_pylist() if photo and photo in b.schema.names else [None] * len(ids)
        photo_refs = [self._photo_ref(str(rid), pid) if rid is not None and pid else None
                      for rid, pid in zip(ids, photo_ids, strict=True)]
        started = self._start(downloads, [ref for _, _, plans in fields for p in plans if p is not None
                                                for ref in p[2]] + [r for r in photo_refs if r is not None])

        def finish() -> pa.RecordBatch:
            stored = iter(started())
            out = b
            for name, values, plans in fields:
                column = [v if p is None else self._field_value(p, [next(stored) for _ in p[2]])
                          for v, p in zip(values, plans, strict=True)]
                out = out.set_column(out.schema.get_field_index(name), out.schema.field(name),
                                     pa.array(column, pa.string()))
            if photo:
                got_all = [next(stored) if ref is not None else None for ref in photo_refs]
                for rid, ref, got in zip(ids, photo_refs, got_all, strict=True):
                    if rid is not None:  # the photo kept, or the folder of one the record no longer has gone
                        folder = (self.plan.module, safe_name(str(rid)), safe_name(photo))
                        self._keep_only(folder, {ref.file_id: Path(got[0]).name} if ref and got else {})
                for i, (name, typ) in enumerate(photo_columns(photo)):
                    column = pa.array([got[i] if got else None for got in got_all], typ)
                    if name in out.schema.names:
                        out = out.set_column(out.schema.get_field_index(name), name, column)
                    else:
                        out = out.append_column(pa.field(name, typ), column)
            return out

        return finish

    def _photo_ref(self, rid: str, photo_id: str) -> FileRef:
        """A record's photo: ``<Module>/<record id>/<Field>/photo.<ext>``, by the Photo API."""
        assert self.plan.photo is not None
        return FileRef((self.plan.module, safe_name(rid), safe_name(self.plan.photo)), PHOTO_STEM, str(photo_id),
                       f"/{self.plan.module}/{rid}/photo", sniff=True)

    def _field_plan(self, rid: str, field_name: str, text: str | None) -> _FieldPlan | None:
        """The files one record's field names, each entry beside its file (None: not a list of entries)."""
        folder = (self.plan.module, safe_name(rid), safe_name(field_name))
        entries = json.loads(text) if text else []
        if not isinstance(entries, list):
            return None
        pairs: list[tuple[dict[str, Any], FileRef]] = []
        names: set[str] = set()
        for e in entries:
            if not isinstance(e, dict) or not e.get("File_Id__s"):
                continue
            name = safe_name(str(e.get("File_Name__s") or ""), str(e.get("id") or "file"))
            if name in names:
                name = safe_name(f"{e.get('id') or e['File_Id__s'][:12]}_{name}")
            names.add(name)
            pairs.append((e, FileRef(folder, name, str(e["File_Id__s"]), f"/{self.plan.module}/{rid}/actions/"
                                     "download_fields_attachment", {"fields_attachment_id": str(e.get("id") or "")})))
        return (text, entries, [ref for _, ref in pairs], pairs, folder)

    def _field_value(self, plan: _FieldPlan, stored: list[tuple[str, int, str] | None]) -> str | None:
        """The field's JSON with each entry's ``$path``, ``$size`` and ``$sha256`` (``stored``: what each of its
        files got, in order); the files it no longer has go."""
        text, entries, _, pairs, folder = plan
        wanted: dict[str, str] = {}  # file id -> name in the folder
        for (e, ref), got in zip(pairs, stored, strict=True):
            wanted[ref.file_id] = ref.name
            e["$path"], e["$size"], e["$sha256"] = got if got else (None, None, None)
        self._keep_only(folder, wanted)
        return json.dumps(entries, ensure_ascii=False, separators=(",", ":")) if text else text

    # -- files -----------------------------------------------------------------------------------

    def _lock(self, folder: Path) -> threading.Lock:
        with self._locks_lock:
            return self._folder_locks.setdefault(folder, threading.Lock())

    def _start(self, downloads: _Downloads, refs: list[FileRef]) -> Callable[[], list[Stored]]:
        """A batch's files started; the returned call waits for them and gives their results in order. A file
        a read ahead started (:meth:`prefetch`) is taken from it when the batch is awaited, and only the rest
        go to the turn's pool: each task given to that pool while it has fewer threads than workers starts
        one, and a thread's start waits its turn at the GIL (some 5 ms each while the reads' threads run, on
        the runner's thread: a module whose files were all downloaded ahead spent 0.1 s starting threads that
        only waited for them)."""
        with self._locks_lock:
            early = [self._early.pop(_early_key(ref), None) for ref in refs]
        rest = downloads.start(self._store_now, [ref for ref, claimed in zip(refs, early, strict=True)
                                                 if claimed is None])

        def results() -> list[Stored]:
            fresh = iter(rest())  # the first error (the disk, a stop) is raised here
            return [next(fresh) if claimed is None else self._taken(claimed, ref)
                    for ref, claimed in zip(refs, early, strict=True)]
        return results

    def _taken(self, claimed: Future[Stored], ref: FileRef) -> Stored:
        """A file a read ahead started: its result, or, dropped before it began, downloaded now."""
        try:
            return claimed.result()
        except CancelledError:
            return self._store_now(ref)

    def _store_now(self, ref: FileRef) -> Stored:
        folder = self.root.joinpath(*ref.folder)
        target = folder / ref.name
        rel = target.relative_to(self.base).as_posix()
        with self._lock(folder):  # the folder's manifest and names: one thread at a time
            known = self._manifest_of(ref.folder, folder).get(ref.file_id)
            if known and _is_file_of_size(folder / known["name"], known["size"]):
                if ref.sniff:  # a photo keeps the name its bytes gave it
                    rel = (folder / known["name"]).relative_to(self.base).as_posix()
                elif known["name"] != ref.name:  # a sibling of the same name went: this one takes its plain name
                    with reporting_os_errors(target, "attachment file"):
                        os.replace(folder / known["name"], target)
                    self._remember(ref.folder, folder, ref.file_id, ref.name, known["size"], known["sha256"])
                with self._counts_lock:
                    self.counts.reused += 1
                return rel, int(known["size"]), str(known["sha256"])
        private_dir(folder, "folder of downloaded files")
        with self._locks_lock:
            self._made.add((ref.folder[0], ref.folder[1]))  # (every file's folder is its record's, or under it)
        part = folder / f".{ref.name}.part"
        digest, size = hashlib.sha256(), 0
        name = ref.name
        try:
            with open_private(part, "wb", "downloaded file") as out:
                for chunk in self.fetch(ref.path, ref.params):
                    if ref.sniff and size == 0 and chunk:
                        name = safe_name(ref.name + image_extension(chunk), ref.name)
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if ref.sniff and size == 0:  # 204: the photo went between the row's read and this call
                raise ConnectorError(f"{ref.path} answered no photo")
            target = folder / name
            rel = target.relative_to(self.base).as_posix()
            with reporting_os_errors(target, "downloaded file"):
                os.replace(part, target)
        except FileAccessError:
            part.unlink(missing_ok=True)
            raise  # the target's disk: the run cannot go on
        except ConnectorError as exc:  # Zoho would not give this file: the row says so, the run goes on
            part.unlink(missing_ok=True)
            with self._counts_lock:
                self.counts.failed += 1
            log.warning("%s: cannot download %s (%s)", self.plan.module, rel, exc)
            return None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        with self._lock(folder):
            self._remember(ref.folder, folder, ref.file_id, name, size, digest.hexdigest())
        with self._counts_lock:
            self.counts.downloaded += 1
            self.counts.bytes += size
        return rel, size, digest.hexdigest()

    def _manifest_of(self, parts: tuple[str, ...], folder: Path) -> dict[str, dict[str, Any]]:
        """The folder's manifest as this run last read or wrote it (the caller holds the folder's lock)."""
        m = self._manifests.get(parts)
        if m is None:
            m = self._manifests[parts] = _manifest(folder)
        return m

    def _remember(self, parts: tuple[str, ...], folder: Path, file_id: str, name: str, size: int, sha: str) -> None:
        m = {k: v for k, v in self._manifest_of(parts, folder).items() if v.get("name") != name}
        m[file_id] = {"name": name, "size": size, "sha256": sha}
        self._write_manifest(parts, folder, m)

    def _write_manifest(self, parts: tuple[str, ...], folder: Path, m: dict[str, dict[str, Any]]) -> None:
        write_private(folder / FOLDER_MANIFEST, json.dumps(m, ensure_ascii=False, indent=1), "files manifest")
        self._manifests[parts] = m

    def _may_exist(self, parts: tuple[str, ...]) -> bool:
        """Whether a record's folder (``parts``: module, record, ...) may be there: the record's folder was in the
        module's folder when the run first looked (one listing a module), or the run stored a file in it. Most
        changed records have no files: their check is a set lookup, not a ``stat`` each (4,600 of them took 0.3 s
        of a 200k sync's writes)."""
        if len(parts) < 2:  # not a record's folder: looked at as it is
            return True
        module, record = parts[0], parts[1]
        with self._locks_lock:
            if (module, record) in self._made:
                return True
            listed = self._listed.get(module)
        if listed is None:
            try:
                listed = frozenset(os.listdir(self.root / module))
            except FileNotFoundError:
                listed = frozenset()
            with self._locks_lock:
                listed = self._listed.setdefault(module, listed)
        return record in listed

    def _keep_only(self, parts: tuple[str, ...], wanted: dict[str, str]) -> None:
        """Remove the files a record's field (its folder's ``parts``) no longer names (and the folder when none is
        left)."""
        if not self._may_exist(parts):
            return
        folder = self.root.joinpath(*parts)
        with self._lock(folder):
            m = self._manifests.get(parts)
            if m is None:
                if not folder.is_dir():
                    return
                m = self._manifest_of(parts, folder)
            gone = {k: v for k, v in m.items() if k not in wanted}
            if not gone:
                return
            removed = 0
            for v in gone.values():
                if v["name"] not in wanted.values():
                    (folder / v["name"]).unlink(missing_ok=True)
                    removed += 1
            with self._counts_lock:
                self.counts.removed += removed
            if not wanted:
                shutil.rmtree(folder, ignore_errors=True)
                self._manifests.pop(parts, None)
                return
            self._write_manifest(parts, folder, {k: v for k, v in m.items() if k in wanted})

    def doomed(self, ids: Iterable[str]) -> list[Path]:
        """The folders of deleted records that are there, counted as removed: :meth:`drop` removes them (once the
        rows that name their files are gone from the target)."""
        self._manifests.clear()  # (their rows are written: nothing reads a manifest of this run's any more)
        found = []
        for rid in ids:
            record = safe_name(rid)
            folder = self.root / self.plan.module / record
            if self._may_exist((self.plan.module, record)) and folder.is_dir():
                found.append(folder)
        with self._counts_lock:
            self.counts.removed += len(found)
        return found

    @staticmethod
    def drop(folders: Iterable[Path]) -> None:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def unseen(self, seen: set[str]) -> list[Path]:
        """After a full load: the folders of records the module no longer has, counted as removed (:meth:`drop`
        removes them, once the old table that names their files is replaced)."""
        top = self.root / self.plan.module
        if not top.is_dir():
            return []
        keep = {safe_name(i) for i in seen}
        return self.doomed(p.name for p in top.iterdir() if p.is_dir() and p.name not in keep)


def _settle(claimed: Future[Stored], task: Future[Stored]) -> None:
    """A download started ahead (``task``) told to the future its file was claimed by (:meth:`RecordFiles._start_early`)."""
    if task.cancelled():
        claimed.cancel()
    elif (exc := task.exception()) is not None:
        claimed.set_exception(exc)
    else:
        claimed.set_result(task.result())


def _early_key(ref: FileRef) -> tuple[tuple[str, ...], str, str, str]:
    return ref.folder, ref.file_id, ref.name, ref.path


def drop_module_files(root: Path, module: str) -> bool:
    """Remove every downloaded file of ``module`` under the files folder ``root`` (a load that left its
    files out: no row names them any more). True when there were some."""
    folder = root / module
    if not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


class _Downloads:
    """One module's download pool: files started batch by batch, each batch's results awaited in order.

    With one worker everything runs in the caller's thread when the batch is awaited. On an error
    or a stop, no new download starts (``cancel``), and a stop does not wait for those in flight.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cancel = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoho-files") if workers > 1 else None
        self.interrupted = False

    def __enter__(self) -> _Downloads:
        return self

    def start(self, store: Callable[[FileRef], Stored], refs: list[FileRef]) -> Callable[[], list[Stored]]:
        """Start these files; the returned call waits for them and gives their results in order."""
        pool = self.pool
        if pool is None:
            return lambda: [store(ref) for ref in refs]
        futures: list[Future[Stored]] = [pool.submit(copy_context().run, cancellable, self.cancel, store, ref)
                                         for ref in refs]
        return lambda: [f.result() for f in futures]  # the first error (the disk, a stop) is raised here

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self.interrupted = is_interrupt(exc)
            self.cancel.set()  # no new download starts; one in flight never gets its final name
        if self.pool is not None:
            self.pool.shutdown(wait=not self.interrupted, cancel_futures=True)


def open_stored(base: Path, path: str) -> BinaryIO:
    """A file a migration wrote under ``base``, by the relative path its table gives, opened for reading.

    The path comes from a table someone may have edited: absolute paths, ``..`` and links that
    lead out of ``base`` are refused (an OSError, like a missing file), so a source folder cannot
    make a migration upload what lies outside it.
    """
    rel = Path(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise OSError(errno.EACCES, "not a path inside the source folder", path)
    root = base.resolve()
    full = (root / rel).resolve()
    if not full.is_relative_to(root):
        raise OSError(errno.EACCES, "leads out of the source folder", path)
    return open(full, "rb")


def _is_file_of_size(path: Path, size: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _manifest(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / FOLDER_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: the files are fetched again
    return data if isinstance(data, dict) else {}
