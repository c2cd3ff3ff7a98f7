"""The org's file store (Zoho's "ZFS"): attachments and file/image upload field files.

Every file has an id of 64 hex digits (the "encrypted id" ``/files`` answers with),
a name, a size and a content type, kept in the ``files`` table. Bytes are kept only
for files uploaded through the API; a generated file's bytes are derived on demand
from the org's seed and the file id (a magic header for its type, then SHAKE-256
output), so a million-record org with tens of thousands of files holds none of them
in memory and serves the same bytes every time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import pyarrow as pa

if TYPE_CHECKING:
    from .store import Store

#: the largest file an upload takes (Files and Attachments APIs: "The maximum size of each
#: attachment is 20MB"; the v2 attachment page said 100 MB)
MAX_FILE_BYTES = 20 * 1024 * 1024
#: files per ``POST /files`` call (unconfirmed: the docs' samples send two)
MAX_FILES_PER_CALL = 10

_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "csv": "text/csv", "zip": "application/zip", "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MAGIC = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "gif": b"GIF89a", "zip": b"PK\x03\x04", "docx": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04", "csv": b"id,name,amount\r\n",
}


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    name: str
    size: int
    content_type: str
    data: bytes | None  # None: generated, derived from the seed


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def content_type(name: str) -> str:
    """The MIME type a download is sent with (types the SDK saves as files; others as octet-stream)."""
    return _TYPES.get(extension(name), "application/octet-stream")


def generated_id(seed: int, kind: str, key: int) -> str:
    """The id of a generated file: 64 hex digits, a pure function of the seed and the owning row."""
    return hashlib.sha256(f"{seed}:{kind}:{key}".encode()).hexdigest()


def generated_bytes(seed: int, file_id: str, name: str, size: int) -> bytes:
    """A generated file's content: its type's magic header, then SHAKE-256 of (seed, id)."""
    head = _MAGIC.get(extension(name), b"")[:size]
    rest = hashlib.shake_256(f"{seed}:{file_id}".encode()).digest(size - len(head)) if size > len(head) else b""
    return head + rest


def disposition(name: str) -> str:
    """``Content-Disposition`` for a download; RFC 5987 ``filename*`` when the name is not ASCII."""
    if name.isascii() and '"' not in name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def org_seed(store: Store) -> int:
    """The org's generation seed (0 before generation); a query the first time only."""
    if store.seed is None:
        row = store.fetchone("SELECT value FROM counters WHERE name = 'seed'")
        if row is None:
            return 0
        store.seed = int(row[0])
    return store.seed


def register(store: Store, table: pa.Table) -> None:
    """Add generated files (columns file_id, name, size, content_type, created_time, created_by)."""
    if table.num_rows == 0:
        return
    cur = store.con.cursor()  # its own cursor: the thread's may hold a half-read result
    try:
        cur.register("_gen_files", table)
        cur.execute("INSERT OR IGNORE INTO files (file_id, name, size, content_type, created_time, created_by) "
                    "SELECT file_id, name, size, content_type, created_time, created_by FROM _gen_files")
    finally:
        cur.close()


def upload(store: Store, name: str, data: bytes, user_id: int, now: object) -> str:
    """Keep an uploaded file; returns its new id."""
    with store.write_lock:
        n = store.next_values("files:uploaded", 1, 1)[0]
        file_id = generated_id(org_seed(store), "upload", n)
        store.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [file_id, name, len(data), content_type(name), data, now, user_id])
    return file_id


def lookup(store: Store, file_ids: list[str]) -> dict[str, StoredFile]:
    """The files of these ids (without their bytes: ``data`` says only whether they were uploaded)."""
    if not file_ids:
        return {}
    rows = store.fetchall("SELECT file_id, name, size, content_type, data IS NOT NULL FROM files "
                          "WHERE file_id IN (SELECT unnest(?))", [file_ids])
    return {r[0]: StoredFile(r[0], r[1], int(r[2]), r[3], b"" if r[4] else None) for r in rows}


def read(store: Store, file_id: str) -> StoredFile | None:
    """One file with its bytes (derived for generated files)."""
    row = store.fetchone("SELECT file_id, name, size, content_type, data FROM files WHERE file_id = ?", [file_id])
    if row is None:
        return None
    data = bytes(row[4]) if row[4] is not None else generated_bytes(org_seed(store), row[0], row[1], int(row[2]))
    return StoredFile(row[0], row[1], int(row[2]), row[3], data)


def sha256(store: Store, file_id: str) -> str | None:
    f = read(store, file_id)
    return hashlib.sha256(f.data or b"").hexdigest() if f is not None else None
