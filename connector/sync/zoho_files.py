"""Files into Zoho: attachments re-uploaded to their new parents, file and image fields re-filled.

The source keeps the bytes beside its tables (a ``parquet:``/``csv:``/``duckdb:`` folder that a
migration out of Zoho wrote, :mod:`.record_files`), and opens them for us by the path its
table gives (:meth:`Source.open_file`). Each file is:

1. checked: its size and SHA-256 read from disk must be the table's (``File_Size``/``File_SHA256``,
   a field entry's ``$size``/``$sha256``), else the row fails and nothing is sent;
2. written down in the sync state as ``sending`` (:mod:`.zoho_ledger`), then streamed up
   (:mod:`.upload_body`: never the whole file in memory), hashed again on the way;
3. settled: an attachment is ``done`` with its new id (and in the id map); a field file is
   ``uploaded`` with its file-store id once ``POST /files`` answers, and ``done`` once the record
   names it (``PUT /{module}`` with ``[{"File_Id__s": id}]``, Zoho's documented way for both
   file-upload and image-upload fields; an image keeps its ``Description__s``).

After a kill, a ``sending`` attachment is looked for among its parent's attachments (same name
and size, or the same link, and no other row's) before it is sent again, and an ``uploaded``
field file among the record's entries before the record is updated: nothing is uploaded twice
where anyone can see it (a field file that reached the file store but no record before the kill
is sent again; the first copy is named by nothing). A changed file (a new source id, or a field
entry gone) removes the old one: ``DELETE .../Attachments/{id}``, or ``{"id": entry, "_delete":
null}`` in the field. Every file gets a line in the per-file report (:class:`FileReport`).

A record's photo (``Record_Image``, which the records API cannot set) is re-uploaded to the new
record by the Photo API, ``POST /{module}/{id}/photo`` (multipart ``file``; Zoho answers a plain
``SUCCESS``, no id), from the file the export wrote (``Record_Image_Path``, checked against
``Record_Image_Size``/``Record_Image_SHA256``). Its ledger line (slot ``Record_Image``) is
``sending`` before the call and ``done`` after it; a run killed in between downloads the target
record's photo and compares its SHA-256 before sending it again. A photo the source no longer
has is removed (``DELETE /{module}/{id}/photo``); an unchanged one (same SHA-256) is not sent.

Files go up to the connection's MaxConcurrency at a time (:func:`each_at_once`): a photo is one job,
a record's file fields are one job (field after field), a parent's attachments are one job (in row
order: the search for a stopped run's upload by name and size must not find a sibling still on its
way); the ledger and the reports take one writer at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from connector.errors import ApiError, ConnectorError, NotSupportedError, RetriableError
from connector.http.guard import missing_writes
from connector.http.policy import acting_as
from connector.readers.concurrent import at_once
from connector.session import ZohoSession
from connector.writers.report import Entry

from .contract import Source
from .idmap import SyncStateStore
from .record_files import PHOTO_SUFFIXES, open_stored
from .upload_body import FilePart, file_digest
from .zoho_ledger import DONE, SENDING, UPLOADED, FileReport, Ledger, Line
from .zoho_report import FailureLog

log = logging.getLogger("connector.sync")
ATTACHMENTS = "Attachments"
FILE_TYPES = ("fileupload", "imageupload")
PHOTO_TYPE = "profileimage"
_ATTACHMENT_COLUMNS = ("id", "File_Name", "Parent_Id_Id", "Parent_Id_Module", "File_Id", "Link_URL", "File_Path",
                       "File_Size", "File_SHA256")


#: how long a stopping run waits for the files already on their way to settle their ledger lines
STOP_WAIT_S = 10.0


def each_at_once(jobs: Sequence[Callable[[], int]], slots: int, name: str) -> int:
    """Run each job — one file's (or record's) whole write: check, send, settle its ledger line and report
    line — up to ``slots`` at a time (:func:`~connector.readers.concurrent.at_once`); the sum of their
    results. The first job to fail, or a stop (Ctrl-C), stops the jobs not yet started (their files are not
    sent) and waits up to :data:`STOP_WAIT_S` for those on their way, so each settles what it sent."""
    return sum(at_once(jobs, slots, name, settle_s=STOP_WAIT_S))


def _in_turn(jobs: list[Callable[[], int]]) -> int:
    return sum(job() for job in jobs)


class RowFailed(Exception):
    """One file or link could not be written; the run goes on (``code``, ``message`` for the report)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Wanted:
    """One file the source row has: where its bytes are and what they must be."""

    key: str  # the source's file id: the slot in the ledger
    name: str
    path: str | None
    size: int | None
    sha256: str | None
    description: str | None = None


class ZohoFiles:
    def __init__(self, session: ZohoSession, store: SyncStateStore, ledger: Ledger, report: FileReport,
                 failures: FailureLog, source: Source, note: Callable[[str, str], None],
                 staged: tuple[Path, Path] | None = None) -> None:
        self.session, self.store, self.ledger, self.report = session, store, ledger, report
        self.failures, self.source, self.note = failures, source, note
        #: (folder, base) where the run put a Zoho source's files on their way (``ZohoTarget.files_folder``)
        self.staged = staged
        self.http = session.http
        self.pending: dict[str, list[tuple[str, dict[str, str]]]] = {}  # module -> (source id, field -> JSON)
        self.photos: dict[str, list[tuple[str, Wanted | None]]] = {}  # module -> (source id, its photo or None)
        #: files sent at once (each_at_once): the connection's MaxConcurrency
        self.slots = max(1, int(session.config.max_concurrency))

    # -- shared ------------------------------------------------------------------------------------

    def _fail(self, line: Line, exc: RowFailed | ConnectorError, field: str = "") -> None:
        code = exc.code if isinstance(exc, RowFailed | ApiError) else type(exc).__name__
        message = exc.message if isinstance(exc, RowFailed) else str(exc)
        self.report.add(line, "failed", code or "", message, field)
        self.failures.add(line.module, "upload", [(line.source_id, Entry(0, "failed", record_id=line.target_id,
                                                                         code=code, message=message))])

    def _checked(self, want: Wanted) -> Callable[[], BinaryIO]:
        """The file's opener, once its size and SHA-256 on disk are the table's."""
        if not want.path:
            raise RowFailed("NO_FILE", "the source keeps no bytes for this file (its path is empty: the export "
                                       "could not download it); export it again, then migrate")
        path = want.path

        def opener() -> BinaryIO:
            return self._open(path)

        try:
            size, sha = file_digest(opener)
        except NotSupportedError as exc:
            raise RowFailed("NO_FILE", f"{exc} (migrate to parquet: first, then from that folder)") from None
        except OSError as exc:
            raise RowFailed("FILE_MISSING", f"cannot read {path} in the source: {exc.strerror or exc}") from None
        if (want.size is not None and size != want.size) or (want.sha256 and sha != want.sha256):
            raise RowFailed("FILE_CHANGED", f"{path} is not the file the table describes (size {size:,}, "
                                            f"SHA-256 {sha[:12]}..., the table says {want.size} and "
                                            f"{(want.sha256 or '')[:12]}...); export it again")
        want.size, want.sha256 = size, sha
        return opener

    def _open(self, path: str) -> BinaryIO:
        """A file this run staged from a Zoho source (paths under the staging folder), else the source's own."""
        if self.staged is not None:
            folder, base = self.staged
            inside = folder.resolve().relative_to(base.resolve()).parts
            if Path(path).parts[:len(inside)] == inside:
                return open_stored(base, path)
        return self.source.open_file(path)

    def _send(self, path: str, opener: Callable[[], BinaryIO], want: Wanted, what: str) -> tuple[str, FilePart]:
        """POST one file as the multipart part ``file``; (the answer's id, the part as sent)."""
        ctype = mimetypes.guess_type(want.name)[0] or "application/octet-stream"
        part = FilePart(opener, int(want.size or 0), want.name, content_type=ctype)
        r = self.http.request("POST", path, data=part, headers={"Content-Type": part.content_type},
                              kind="file_upload", what=what)
        item = (r.body or {}).get("data", [{}])[0] if isinstance(r.body, dict) else {}
        details = item.get("details") or {}
        new_id = details.get("id")
        if item.get("status") != "success" or not new_id:
            raise RowFailed(str(item.get("code") or "UPLOAD_FAILED"), str(item.get("message") or "no id in the answer"))
        if part.sent_sha256 != want.sha256 or part.sent_size != want.size:
            raise RowFailed("FILE_CHANGED", f"{want.path} changed while it was sent; export it again")
        return str(new_id), part

    # -- attachments -------------------------------------------------------------------------------

    def write_attachments(self, batches: Iterator[pa.RecordBatch], seen: set[str]) -> int:
        """Upload (or link) each attachment row to its parent's new record; rows written."""
        written = 0
        with acting_as("insert", ATTACHMENTS):
            for b in batches:
                names = [c for c in _ATTACHMENT_COLUMNS if c in b.schema.names]
                rows = b.select(names).to_pylist()
                sids = [str(r["id"]) for r in rows]
                seen.update(sids)
                lines = self.ledger.lines(ATTACHMENTS, sids)
                parents: dict[str, dict[str, str]] = {}
                for pm in {str(r.get("Parent_Id_Module") or "") for r in rows}:
                    parents[pm] = self.store.lookup(pm, [str(r.get("Parent_Id_Id") or "") for r in rows
                                                         if r.get("Parent_Id_Module") == pm]) if pm else {}
                # One job per parent record, its attachments in row order: a stopped run's upload (or a
                # changed file's half-sent copy) is looked for among the parent's attachments by name and
                # size, which must not find a sibling still on its way. Parents go at once.
                per_parent: dict[tuple[str, str], list[Callable[[], int]]] = {}
                for r in rows:
                    pm, pid = str(r.get("Parent_Id_Module") or ""), str(r.get("Parent_Id_Id") or "")
                    per_parent.setdefault((pm, pid), []).append(
                        partial(self._attachment, r, lines.get((str(r["id"]), "")), pm, parents[pm].get(pid)))
                written += each_at_once([partial(_in_turn, jobs) for jobs in per_parent.values()], self.slots,
                                        "zoho-attachments")
        return written

    def _attachment(self, r: dict[str, Any], line: Line | None, pm: str, parent: str | None) -> int:
        sid, link = str(r["id"]), r.get("Link_URL")
        want = Wanted(str(r.get("File_Id") or ""), str(r.get("File_Name") or sid), r.get("File_Path"),
                      r.get("File_Size"), r.get("File_SHA256"))
        new = Line(ATTACHMENTS, sid, "", pm, parent or "", want.name, want.size, want.sha256, link)
        try:
            if parent is None:
                raise RowFailed("PARENT_NOT_MIGRATED", f"its parent, {pm or '?'} {r.get('Parent_Id_Id')}, is not in "
                                                       "the target (its write failed, or it was not migrated)")
            if line is not None and line.status == DONE:
                if (line.parent_id, line.sha256, line.value) == (parent, want.sha256, link):
                    return 0  # uploaded by an earlier run: attachments never change under one id
                self._remove_attachment(line)  # re-pointed or changed: the old copy goes first
            elif line is not None:  # sent by a run that was stopped before the answer came
                found = self._find_sent(line)
                if found is not None:
                    self.ledger.done(line, found)
                    self.report.add(line, "found after a stop")
                    return 1
            if link:
                self.ledger.put(new)
                new_id = self._post_link(new, str(link), pm, parent)
            else:
                opener = self._checked(want)
                new.size, new.sha256 = want.size, want.sha256
                self.ledger.put(new)
                new_id = self._post_file(new, opener, want, pm, parent)
            if new_id is None:
                return 0
            self.ledger.done(new, new_id)
            self.report.add(new, "linked" if link else "uploaded")
            return 1
        except RowFailed as exc:
            self._fail(new, exc)
        except RetriableError as exc:
            if not exc.ambiguous:
                raise  # Zoho is not answering: the run stops; the line says sending, the next run looks first
            self._fail(new, exc)  # the line stays "sending": the next run looks for it before sending
        except ApiError as exc:
            self.ledger.drop(ATTACHMENTS, sid, "")  # refused: nothing arrived
            self._fail(new, exc)
        return 0

    def _post_file(self, line: Line, opener: Callable[[], BinaryIO], want: Wanted, pm: str, parent: str) -> str | None:
        try:
            new_id, _ = self._send(f"/{pm}/{parent}/Attachments", opener, want, f"upload of attachment {line.source_id}")
        except RowFailed as exc:
            if exc.code == "FILE_CHANGED":
                self._delete_found(line, pm, parent)
            self.ledger.drop(ATTACHMENTS, line.source_id, "")
            raise
        return new_id

    def _post_link(self, line: Line, url: str, pm: str, parent: str) -> str | None:
        params = {"attachmentUrl": url}
        if line.name and line.name != url:
            params["title"] = line.name
        r = self.http.request("POST", f"/{pm}/{parent}/Attachments", params=params, kind="file_upload",
                              what=f"link attachment {line.source_id}")
        item = (r.body or {}).get("data", [{}])[0] if isinstance(r.body, dict) else {}
        new_id = (item.get("details") or {}).get("id")
        if not new_id:
            self.ledger.drop(ATTACHMENTS, line.source_id, "")
            raise RowFailed(str(item.get("code") or "LINK_FAILED"), str(item.get("message") or "no id in the answer"))
        return str(new_id)

    def _listed(self, pm: str, parent: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            r = self.http.get(f"/{pm}/{parent}/Attachments", params={"fields": "File_Name,Size", "per_page": 200,
                                                                      "page": page}, kind="file_list")
            body = r.body if isinstance(r.body, dict) else {}
            out += body.get("data") or []
            if not (body.get("info") or {}).get("more_records"):
                return out
            page += 1

    def _find_sent(self, line: Line) -> str | None:
        """The attachment a stopped run sent for ``line``, when it arrived: same name and size (or link),
        and no other row's."""
        taken = self.ledger.target_ids(ATTACHMENTS)
        for a in self._listed(line.parent_module, line.parent_id):
            if str(a.get("id")) in taken or a.get("File_Name") != line.name:
                continue
            if (line.value and a.get("$link_url") == line.value) or \
                    (not line.value and int(a.get("Size") or 0) == (line.size or 0)):
                return str(a["id"])
        return None

    def _delete_found(self, line: Line, pm: str, parent: str) -> None:
        found = self._find_sent(Line(**{**line.__dict__, "parent_module": pm, "parent_id": parent}))
        if found is not None:
            self.http.request("DELETE", f"/{pm}/{parent}/Attachments/{found}", kind="file_delete")

    def _remove_attachment(self, line: Line) -> bool:
        """Delete the attachment a line made; False when the connection may not delete."""
        if missing_writes(self.session.config, {ATTACHMENTS: ["delete"]}):
            self.note(ATTACHMENTS, "attachments deleted or replaced at the source stay in Zoho: the target "
                                   "connection does not allow delete on Attachments")
            return False
        try:
            with acting_as("delete", ATTACHMENTS):
                self.http.request("DELETE", f"/{line.parent_module}/{line.parent_id}/Attachments/{line.target_id}",
                                  kind="file_delete", what=f"delete of attachment {line.source_id}")
        except ApiError as exc:
            if exc.code != "INVALID_DATA":  # INVALID_DATA: gone already (someone deleted it)
                raise
        self.ledger.drop(ATTACHMENTS, line.source_id)
        self.report.add(line, "deleted")
        return True

    def delete_attachments(self, source_ids: list[str]) -> int:
        """Remove the attachments these (deleted) source rows became; attachments removed."""
        n = 0
        for line in self.ledger.lines(ATTACHMENTS, source_ids).values():
            if line.status == DONE and line.target_id:
                n += self._remove_attachment(line)
            else:
                self.ledger.drop(ATTACHMENTS, line.source_id)
        return n

    # -- file and image upload fields ---------------------------------------------------------------

    def keep_fields(self, module: str, fields: list[str], batches: Iterator[pa.RecordBatch]
                    ) -> Iterator[pa.RecordBatch]:
        """Pass ``batches`` on, keeping each row's file fields to fill once the records are written."""
        keep = self.pending.setdefault(module, [])
        for b in batches:
            cols = [f for f in fields if f in b.schema.names]
            if cols:
                rows = b.select(["id", *cols]).to_pylist()
                # a row with no files now but some uploaded before: they are taken off its record
                had = {sid for sid, _ in self.ledger.lines(module, [str(r["id"]) for r in rows])}
                for r in rows:
                    values = {f: r[f] for f in cols if r[f] not in (None, "", "[]")}
                    if values or str(r["id"]) in had:
                        keep.append((str(r["id"]), values))
            yield b

    def write_fields(self, module: str, fields: list[str]) -> int:
        """Upload the kept rows' files and name them in their records; files uploaded."""
        rows = self.pending.pop(module, [])
        if not rows:
            return 0
        mapped = self.store.lookup(module, [sid for sid, _ in rows])
        n = 0
        with acting_as("update", module):
            jobs = [partial(self._record_fields, module, sid, target, fields, values) for sid, values in rows
                    if (target := mapped.get(sid)) is not None]  # else its own write failed: in the report already
            n += each_at_once(jobs, self.slots, "zoho-field-files")
        return n

    def _record_fields(self, module: str, sid: str, target: str, fields: list[str], values: dict[str, str]) -> int:
        """One record's file fields, one field after another (each names its files in one update)."""
        lines = {slot: ln for (_, slot), ln in self.ledger.lines(module, [sid]).items()}
        return sum(self._field(module, sid, target, f, values.get(f),
                               {s: ln for s, ln in lines.items() if s.startswith(f + "/")}) for f in fields)

    def _field(self, module: str, sid: str, target: str, field: str, text: str | None,
               lines: dict[str, Line]) -> int:
        wanted = _entries(text)
        by_slot = {f"{field}/{w.key}": w for w in wanted}
        current: list[dict[str, Any]] | None = None  # the record's entries, read when needed
        add: list[tuple[Line, Wanted]] = []
        drop: list[Line] = []
        for slot, line in lines.items():
            if slot not in by_slot:
                if line.status != SENDING:
                    drop.append(line)
                else:
                    self.ledger.drop(module, sid, slot)
            elif line.status == UPLOADED:  # uploaded by a stopped run: does the record name it already?
                if current is None:
                    current = self._entries_of(module, target, field)
                if any(e.get("File_Id__s") == line.target_id for e in current):
                    self.ledger.done(line, str(line.target_id))
                    self.report.add(line, "found after a stop", field=field)
                else:
                    add.append((line, by_slot[slot]))
        uploaded = 0
        for slot, want in by_slot.items():
            had = lines.get(slot)
            if had is not None and had.status in (DONE, UPLOADED) and had.parent_id == target:
                continue
            new = Line(module, sid, slot, module, target, want.name, want.size, want.sha256)
            try:
                opener = self._checked(want)
                new.size, new.sha256 = want.size, want.sha256
                self.ledger.put(new)
                file_id, _ = self._send("/files", opener, want, f"upload of {module} {sid} {field} file")
            except (RowFailed, ApiError) as exc:
                if isinstance(exc, RetriableError) and not exc.ambiguous:
                    raise
                self.ledger.drop(module, sid, slot)  # nothing names a file-store copy: sent again next run
                self._fail(new, exc, field)
                continue
            new.status, new.target_id = UPLOADED, file_id
            self.ledger.put(new)
            add.append((new, want))
            uploaded += 1
        if add or drop:
            self._name_in_record(module, sid, target, field, add, drop, current)
        return uploaded

    def _entries_of(self, module: str, target: str, field: str) -> list[dict[str, Any]]:
        r = self.http.get(f"/{module}/{target}", params={"fields": field}, kind="file_list")
        data = (r.body or {}).get("data") if isinstance(r.body, dict) else None
        value = data[0].get(field) if data else None
        return list(value) if isinstance(value, list) else []

    def _name_in_record(self, module: str, sid: str, target: str, field: str, add: list[tuple[Line, Wanted]],
                        drop: list[Line], current: list[dict[str, Any]] | None) -> None:
        entries: list[dict[str, Any]] = []
        for line, want in add:
            entry: dict[str, Any] = {"File_Id__s": line.target_id}
            if want.description:
                entry["Description__s"] = want.description
            entries.append(entry)
        if drop:
            have = current if current is not None else self._entries_of(module, target, field)
            gone = {ln.target_id for ln in drop}
            entries += [{"id": e["id"], "_delete": None} for e in have if e.get("File_Id__s") in gone and e.get("id")]
        try:
            r = self.http.request("PUT", f"/{module}", json={"data": [{"id": target, field: entries}],
                                                            "trigger": []}, kind="file_field", batch=True,
                                  what=f"{module} {sid} {field} files")
            item = (r.body or {}).get("data", [{}])[0] if isinstance(r.body, dict) else {}
            if item.get("status") != "success":
                raise RowFailed(str(item.get("code") or "UPDATE_FAILED"), str(item.get("message") or item))
        except (RowFailed, ApiError) as exc:
            if isinstance(exc, RetriableError) and not exc.ambiguous:
                raise
            for line, _ in add:  # still "uploaded": the next run looks at the record, then names them
                self._fail(line, exc, field)
            return
        for line, _ in add:
            self.ledger.done(line, str(line.target_id))
            self.report.add(line, "uploaded", field=field)
        for line in drop:
            self.ledger.drop(module, sid, line.slot)
            self.report.add(line, "removed", field=field)

    # -- record photos --------------------------------------------------------------------------------

    def keep_photos(self, module: str, field: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Pass ``batches`` on, keeping each row's photo (where the export put it) to send once the records are
        written; a row without one whose record got one from an earlier run is kept too (the photo goes)."""
        keep = self.photos.setdefault(module, [])
        path, size, sha = (field + suffix for suffix, _ in PHOTO_SUFFIXES)
        for b in batches:
            names = [c for c in ("id", field, path, size, sha) if c in b.schema.names]
            if path not in names:
                yield b
                continue
            rows = b.select(names).to_pylist()
            had = {sid for sid, slot in self.ledger.lines(module, [str(r["id"]) for r in rows]) if slot == field}
            for r in rows:
                sid = str(r["id"])
                if r.get(field) or r.get(path):
                    name = Path(str(r.get(path) or "photo")).name
                    keep.append((sid, Wanted(str(r.get(field) or ""), name, r.get(path), r.get(size), r.get(sha))))
                elif sid in had:
                    keep.append((sid, None))
            yield b

    def write_photos(self, module: str, field: str) -> int:
        """Upload the kept rows' photos to their new records (or remove the ones gone); photos uploaded."""
        rows = self.photos.pop(module, [])
        n = 0
        with acting_as("update", module):
            for start in range(0, len(rows), 1000):
                chunk = rows[start:start + 1000]
                sids = [sid for sid, _ in chunk]
                mapped = self.store.lookup(module, sids)
                lines = self.ledger.lines(module, sids)
                # a record without a target: its own write failed, it is in the report already
                n += each_at_once([partial(self._photo, module, sid, target, field, want, lines.get((sid, field)))
                                   for sid, want in chunk if (target := mapped.get(sid)) is not None],
                                  self.slots, "zoho-photos")
        return n

    def _photo(self, module: str, sid: str, target: str, field: str, want: Wanted | None,
               line: Line | None) -> int:
        path = f"/{module}/{target}/photo"
        if want is None:
            if line is not None and line.status == DONE and line.parent_id == target:
                self._remove_photo(line, path, field)
            elif line is not None:
                self.ledger.drop(module, sid, field)
            return 0
        new = Line(module, sid, field, module, target, want.name, want.size, want.sha256, want.key)
        sent = False
        try:
            if line is not None and line.parent_id == target:
                if line.status == DONE and line.sha256 == want.sha256 and want.sha256:
                    return 0  # sent by an earlier run, unchanged since
                if line.status == SENDING and line.sha256 and line.sha256 == want.sha256 \
                        and self._photo_sha256(path) == line.sha256:
                    self.ledger.done(line, target)  # it arrived before the stop
                    self.report.add(line, "found after a stop", field=field)
                    return 1
            opener = self._checked(want)
            new.size, new.sha256 = want.size, want.sha256
            self.ledger.put(new)
            sent = True
            self._send_photo(path, opener, want, f"upload of {module} {sid} photo")
            self.ledger.done(new, target)
            self.report.add(new, "uploaded", field=field)
            return 1
        except RowFailed as exc:
            if sent:
                self.ledger.drop(module, sid, field)
            self._fail(new, exc, field)
        except RetriableError as exc:
            if not exc.ambiguous:
                raise  # Zoho is not answering: the run stops; the line says sending, the next run looks first
            self._fail(new, exc, field)  # the line stays "sending": the next run compares before sending
        except ApiError as exc:
            if sent:
                self.ledger.drop(module, sid, field)  # refused (too big, not an image...): nothing arrived
            self._fail(new, exc, field)
        return 0

    def _send_photo(self, path: str, opener: Callable[[], BinaryIO], want: Wanted, what: str) -> None:
        ctype = mimetypes.guess_type(want.name)[0] or "application/octet-stream"
        part = FilePart(opener, int(want.size or 0), want.name, content_type=ctype)
        r = self.http.request("POST", path, data=part, headers={"Content-Type": part.content_type},
                              kind="file_upload", what=what)
        body = r.body if isinstance(r.body, dict) else {}
        if body.get("status") != "success":
            raise RowFailed(str(body.get("code") or "UPLOAD_FAILED"), str(body.get("message") or body))
        if part.sent_sha256 != want.sha256 or part.sent_size != want.size:
            raise RowFailed("FILE_CHANGED", f"{want.path} changed while it was sent; export it again")

    def _photo_sha256(self, path: str) -> str | None:
        """The SHA-256 of the photo a target record has now (None: it has none)."""
        r = self.http.request("GET", path, stream=True, kind="file_download", what=f"photo at {path}")
        iter_content = getattr(r, "iter_content", None)
        if r.status != 200:
            return None
        digest = hashlib.sha256()
        for chunk in iter_content(1 << 20) if iter_content is not None else [r.content]:
            digest.update(chunk)
        return digest.hexdigest()

    def _remove_photo(self, line: Line, path: str, field: str) -> None:
        """Take off the photo an earlier run sent (the source record has none now)."""
        try:
            self.http.request("DELETE", path, kind="file_delete", what=f"delete of {line.module} {line.source_id} "
                                                                       "photo")
        except ApiError as exc:
            if isinstance(exc, RetriableError) and not exc.ambiguous:
                raise
            self._fail(line, exc, field)
            return
        self.ledger.drop(line.module, line.source_id, field)
        self.report.add(line, "removed", field=field)


def _entries(text: str | None) -> list[Wanted]:
    """The files of a field's JSON text as the export wrote it (entries with ``$path``, ``$size``, ``$sha256``)."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return []
    out = []
    for e in items if isinstance(items, list) else []:
        if isinstance(e, dict) and e.get("File_Id__s"):
            out.append(Wanted(str(e["File_Id__s"]), str(e.get("File_Name__s") or "file"), e.get("$path"),
                              e.get("$size"), e.get("$sha256"), e.get("Description__s")))
    return out

