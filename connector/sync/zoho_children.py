"""What a Zoho target writes beside records: attachments, file-field files and related-list links.

:class:`~.target_zoho.ZohoTarget` hands these over through a few hooks, so its record writes stay
as they are:

* ``Attachments`` and the link tables (``_Campaign_Members``, ``_Contact_Roles``) go last in the
  run (their parents and members must exist), through :mod:`.zoho_files` and :mod:`.zoho_links`
  instead of the records API;
* a record module with file or image upload fields passes its rows through :meth:`wrap` (which
  keeps the fields' file lists) and, once its records are written, :meth:`after` uploads the files
  and names them in the records; its record photos (``Record_Image``) likewise, by the Photo API;
* the writes these make are part of the run's one permission check (:meth:`needs`): ``insert`` on
  Attachments (Zoho's attachments scope), ``update`` on the modules whose file fields are filled,
  on Campaigns (members) and Deals (contact roles). Removing an attachment or a link is a
  ``delete``, which a least-privilege target may leave out: the run then says what stayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from connector.schema.types import TableSchema
from connector.session import ZohoSession

from .contract import Source
from .idmap import SyncStateStore
from .record_files import photo_columns
from .state import ModuleState
from .zoho_files import ATTACHMENTS, FILE_TYPES, PHOTO_TYPE, ZohoFiles
from .zoho_ledger import FileReport, Ledger
from .zoho_links import LINK_TABLES, ZohoLinks
from .zoho_report import FailureLog


def file_fields(ts: TableSchema) -> list[str]:
    """The module's file-upload and image-upload columns."""
    return [c.name for c in ts.columns if c.field in ts.fields and ts.fields[c.field].data_type in FILE_TYPES]


def photo_field(ts: TableSchema, source_names: list[str]) -> str | None:
    """The module's photo field (``Record_Image``) when the source kept its file (``Record_Image_Path``)."""
    for c in ts.columns:
        if c.field in ts.fields and ts.fields[c.field].data_type == PHOTO_TYPE \
                and photo_columns(c.name)[0][0] in source_names:
            return c.name
    return None


def handled(module: str) -> bool:
    """Written here rather than by the records writers."""
    return module == ATTACHMENTS or module in LINK_TABLES


def children_last(names: list[str]) -> list[str]:
    """``names`` with attachments and links after every record module (their parents come first)."""
    return [n for n in names if not handled(n)] + [n for n in names if handled(n)]


def needs(session: ZohoSession, source: Source, names: list[str], writable: list[str]) -> dict[str, list[str]]:
    """The writes attachments, file fields and links of this run may make, per module."""
    out: dict[str, list[str]] = {}
    for n in names:
        if n == ATTACHMENTS:
            out.setdefault(ATTACHMENTS, []).append("insert")
        elif n in LINK_TABLES:
            out.setdefault(LINK_TABLES[n].parent, []).append("update")
        elif n in writable:
            ts, names = session.catalog.table(n), source.schema(n).names
            fields = file_fields(ts)
            if (fields and set(fields) & set(names)) or photo_field(ts, names):
                out.setdefault(n, []).append("update")
    return out


class ChildWrites:
    def __init__(self, session: ZohoSession, store: SyncStateStore, failures: FailureLog, source: Source,
                 report_folder: Path, staged: tuple[Path, Path] | None = None) -> None:
        self.session = session
        self.notes: dict[str, list[str]] = {}
        self.ledger = Ledger(store)
        self.report = FileReport(report_folder)
        self.files = ZohoFiles(session, store, self.ledger, self.report, failures, source, self._note, staged)
        self.links = ZohoLinks(session, store, self.ledger, self.report, failures, self._note)
        self._fields: dict[str, list[str]] = {}
        self._photos: dict[str, str] = {}

    def _note(self, module: str, text: str) -> None:
        kept = self.notes.setdefault(module, [])
        if text not in kept:
            kept.append(text)

    def module_notes(self, module: str) -> list[str]:
        found = self.report.note(module)
        return [*self.notes.get(module, []), *([found] if found else [])]

    # -- attachments and links -----------------------------------------------------------------

    def replace(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState) -> int:
        """A full load: every row written (or found unchanged), rows gone from the source removed."""
        seen: set[str] = set()
        written = self._write(module, batches, seen)
        gone = sorted(self.ledger.store.source_ids(module) - seen)
        self._remove(module, gone)
        state.rows = len(self.ledger.store.source_ids(module))
        return written

    def apply(self, module: str, batches: Iterator[pa.RecordBatch], deleted: list[str],
              state: ModuleState) -> tuple[int, int]:
        written = self._write(module, batches, set())
        removed = self._remove(module, deleted)
        state.rows = len(self.ledger.store.source_ids(module))
        return written, removed

    def _write(self, module: str, batches: Iterator[pa.RecordBatch], seen: set[str]) -> int:
        if module == ATTACHMENTS:
            return self.files.write_attachments(batches, seen)
        return self.links.write(LINK_TABLES[module], batches, seen)

    def _remove(self, module: str, ids: list[str]) -> int:
        if not ids:
            return 0
        if module == ATTACHMENTS:
            return self.files.delete_attachments(ids)
        return self.links.delete(LINK_TABLES[module], ids)

    # -- file fields of record modules ----------------------------------------------------------

    def wrap(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        ts = self.session.catalog.table(module)
        fields = [f for f in file_fields(ts) if f in schema.names]
        self._fields[module] = fields
        photo = photo_field(ts, schema.names)
        if photo is not None:
            self._photos[module] = photo
            batches = self.files.keep_photos(module, photo, batches)
        return self.files.keep_fields(module, fields, batches) if fields else batches

    def after(self, module: str) -> int:
        fields = self._fields.pop(module, [])
        photo = self._photos.pop(module, None)
        n = self.files.write_fields(module, fields) if fields else 0
        return n + (self.files.write_photos(module, photo) if photo is not None else 0)

    def close(self) -> None:
        self.report.close()
