"""Writing file-upload and image-upload fields: entries that name files of the file store.

A record write sends ``[{"File_Id__s": "<id from POST /files>"}]``; Zoho fills in the
file's name and size and gives the entry an ``id``. On update the entries sent are
*added* to the ones the record has; ``{"id": "<entry id>", "_delete": null}`` removes one
(records.md section 4). An image entry may carry ``Description__s``. ``null`` clears the
field. A field holds at most :data:`MAX_ENTRIES` entries (unconfirmed numbers; Zoho lets the
admin set a field's maximum, ``LIMIT_EXCEEDED`` beyond it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import files
from .org.gen_files import UPLOADED_FIELD_FILE_SLOT
from .org.types import ORG_PREFIX, FieldDef
from .store import q
from .value_types import FieldError, invalid, mandatory

if TYPE_CHECKING:
    from .app import App

MAX_ENTRIES = {"fileupload": 5, "imageupload": 10}
IMAGE_KEYS = ("Preview_Id__s", "State__s", "Description__s", "Sequence_Number__s", "Attachment_Source__s")


def current_entries(app: App, module: str, f: FieldDef, record_id: int | None) -> list[dict[str, Any]]:
    if record_id is None:
        return []
    row = app.store.fetchone(f"SELECT {q(f.api_name)} FROM {q(module)} WHERE id = ?", [record_id])
    return list(json.loads(row[0])) if row and row[0] else []


def file_entries(app: App, module: str, f: FieldDef, raw: Any, path: str, record_id: int | None) -> str | None:
    """The field's new JSON value (None: no entries left); raises :class:`FieldError`."""
    if not isinstance(raw, list):
        raise invalid(f.api_name, path, expected_data_type="jsonarray")
    kept = current_entries(app, module, f, record_id)
    by_id = {str(e.get("id")): e for e in kept}
    added: list[tuple[str, dict[str, Any]]] = []
    for j, item in enumerate(raw):
        ipath = f"{path}[{j}]"
        if not isinstance(item, dict):
            raise invalid(f.api_name, ipath, expected_data_type="jsonobject")
        if "id" in item:
            entry = by_id.get(str(item["id"]))
            if entry is None:
                raise invalid(f.api_name, f"{ipath}.id", id=str(item["id"]))
            if "_delete" in item:
                kept = [e for e in kept if e is not entry]
            elif f.data_type == "imageupload" and "Description__s" in item:
                entry["Description__s"] = item["Description__s"]
            continue
        file_id = item.get("File_Id__s")
        if not isinstance(file_id, str) or not file_id:
            raise mandatory("File_Id__s", f"{ipath}.File_Id__s")
        added.append((file_id, item))
    found = files.lookup(app.store, [fid for fid, _ in added])
    for j, (fid, _) in enumerate(added):
        if fid not in found:
            raise invalid(f.api_name, f"{path}[{j}].File_Id__s", id=fid)
    limit = MAX_ENTRIES[f.data_type]
    if len(kept) + len(added) > limit:
        raise FieldError("LIMIT_EXCEEDED", "limit exceeded", {"api_name": f.api_name, "json_path": path,
                                                            "limit": limit})
    ids = app.store.next_values("field_files:uploaded", len(added), 1) if added else []
    base = ORG_PREFIX * 10**12 + UPLOADED_FIELD_FILE_SLOT * 10**10
    for n, (fid, item) in zip(ids, added, strict=True):
        stored = found[fid]
        new_entry: dict[str, Any] = {"File_Name__s": stored.name, "File_Id__s": fid, "Size__s": str(stored.size),
                                 "id": str(base + n)}
        if f.data_type == "imageupload":
            new_entry.update({"Preview_Id__s": fid[:32], "State__s": "active",
                          "Description__s": item.get("Description__s"), "Sequence_Number__s": len(kept) + 1,
                          "Attachment_Source__s": "Local"})
        kept.append(new_entry)
    return json.dumps(kept, ensure_ascii=False) if kept else None
