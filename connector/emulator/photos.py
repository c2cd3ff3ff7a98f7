"""Record photos: the ``Record_Image`` (``profileimage``) field and the Photo API behind it.

A record's ``Record_Image`` holds the id of its photo (null: none). Generated orgs give a
share of Leads and Accounts one (``ph_<row>`` ids, see ``org/classic.py``); their bytes are
never stored but derived on demand: a small valid PNG whose size and colours are a pure
function of the org's seed, the module and the photo id, so every download of one photo
gives the same bytes. Photos uploaded through ``POST /{module}/{id}/photo`` are kept whole in
the ``photos`` table under a new id (64 hex digits), and the record's ``Record_Image`` names it.

Formats (unconfirmed: Zoho's help lists the image types the UI takes; the v8 spec only says
"invalid file type" with HTTP 415): PNG, JPEG, GIF and BMP, recognised by their first bytes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import TYPE_CHECKING

from .files import generated_id, org_seed
from .store import PHOTOS_COLUMNS

if TYPE_CHECKING:
    from .store import Store

#: the field that holds a record's photo id, and its data type
FIELD = "Record_Image"
DATA_TYPE = "profileimage"
#: the largest photo an upload takes: the v8 spec's 413 FILE_SIZE_EXCEEDS example says
#: ``{"size": 10485760}`` (10 MB; taken as the limit, unconfirmed)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
GENERATED_PREFIX = "ph_"

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))


def image_type(data: bytes) -> str | None:
    """The MIME type of an image by its first bytes; None when it is none of the types taken."""
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def generated_png(seed: int, module: str, photo_id: str) -> bytes:
    """A generated photo: a valid RGB PNG of 8 to 23 pixels a side, its pixels drawn from SHAKE-256."""
    key = f"{seed}:photo:{module}:{photo_id}".encode()
    side = 8 + hashlib.sha256(key).digest()[0] % 16
    pixels = hashlib.shake_256(key).digest(side * side * 3)
    raw = b"".join(b"\x00" + pixels[y * side * 3:(y + 1) * side * 3] for y in range(side))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def ensure_table(store: Store) -> None:
    store.execute(f"CREATE TABLE IF NOT EXISTS photos ({PHOTOS_COLUMNS})")


def read(store: Store, module: str, photo_id: str) -> tuple[bytes, str] | None:
    """A photo's bytes and content type by its id (None: no such photo)."""
    if photo_id.startswith(GENERATED_PREFIX):
        return generated_png(org_seed(store), module, photo_id), "image/png"
    ensure_table(store)
    row = store.fetchone("SELECT data, content_type FROM photos WHERE photo_id = ?", [photo_id])
    return (bytes(row[0]), str(row[1])) if row else None


def keep(store: Store, data: bytes, content_type: str) -> str:
    """Keep an uploaded photo; returns its new id. The caller holds the store's write lock."""
    ensure_table(store)
    n = store.next_values("photos:uploaded", 1, 1)[0]
    photo_id = generated_id(org_seed(store), "photo", n)
    store.execute("INSERT INTO photos VALUES (?, ?, ?)", [photo_id, content_type, data])
    return photo_id


def forget(store: Store, photo_id: str | None) -> None:
    """Drop an uploaded photo's bytes (generated ones have none). The caller holds the write lock."""
    if photo_id and not photo_id.startswith(GENERATED_PREFIX):
        ensure_table(store)
        store.execute("DELETE FROM photos WHERE photo_id = ?", [photo_id])
