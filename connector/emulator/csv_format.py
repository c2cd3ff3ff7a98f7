"""Bulk CSV both ways: Bulk Read cells formatted in SQL with a fast zipped writer, Bulk Write cells parsed.

bulk-read.md section 4 and the "Bulk read CSV" column of metadata-and-types.md
section 5 fix what each cell holds: ids and bigints as digits, lookups and
owners as the related id only, datetimes ISO 8601 with the user's offset, dates
``yyyy-MM-dd``, booleans ``true``/``false``, plain numbers (no exponent, no
grouping), multi-select values joined with ``;``, empty cells for nulls.

Speed matters (the acceptance bar is 2x ``pyarrow.csv.write_csv`` of the same
rows for a 200,000-row page), so nothing here loops over rows in Python: every
column is formatted by DuckDB inside the page query, Arrow writes the CSV, and
the deflate work is split into chunks compressed on a thread pool (zlib drops
the GIL) while Arrow renders the next chunk -- pigz's trick, written as a
plain single-entry zip archive.

Bulk Write goes the other way (bulk-write.md section 2): a CSV cell becomes the
Records-API JSON value of its field -- dates through Java-style patterns
(default ``MM/dd/yyyy`` and ``MM/dd/yyyy HH:mm:ss``), ``;``-separated
multi-select values, lookups by id or by a unique field of the target.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from . import schema
from .clock import VirtualClock
from .query import Selection
from .schema import FieldDef

#: rows per CSV chunk handed to the compressor threads (about 10-20 MB of text for wide modules)
CHUNK_ROWS = 16_384
#: deflate level of the result zip: 1 is zlib's fastest that still compresses (about 4x on CRM text)
DEFAULT_ZIP_LEVEL = 1
_ZIP64_LIMIT = 0xFFFF_FFFF


def cell_sql(expr: str, f: FieldDef | None, kind: str, clock: VirtualClock) -> str:
    """Wrap a column's SQL value so Arrow's CSV writer prints exactly Zoho's cell text.

    ``expr``/``f``/``kind`` come from :meth:`Selection.path_expr`; lookups already resolve to the
    related id there, which is what Bulk Read exports for them.
    """
    if kind != "field" or f is None:
        return expr  # record ids and users-table columns print as they are stored
    vt = f.value_type
    if vt == "datetime":
        # The user's offset (Zoho renders datetimes in the calling user's time zone), seconds, no millis.
        off = clock.utc_offset_minutes
        return f"strftime({expr} + INTERVAL ({off}) MINUTE, '%Y-%m-%dT%H:%M:%S{clock.offset_text}')"
    if vt == "multiselectpicklist":
        return f"array_to_string({expr}, ';')"  # separator unconfirmed (bulk-read.md section 4); ';' per docs
    if vt in ("double", "percent"):
        # Arrow prints doubles >= 1e15 with an exponent and DuckDB's VARCHAR cast loses digits, so go
        # through DECIMAL(38,9) (Zoho keeps at most 9 decimals) and trim the trailing zeros.
        return (f"CASE WHEN {expr} IS NULL THEN NULL ELSE rtrim(rtrim(CAST(CAST({expr} AS DECIMAL(38,9)) "
                f"AS VARCHAR), '0'), '.') END")
    if vt in ("currency", "rollup_summary"):
        # Currency keeps its decimals as stored (125000.50, never 1.2500005e5).
        return f"CAST({expr} AS DECIMAL(38,{f.decimal_place or 2}))"
    return expr  # text, picklist, date, integer, bigint, boolean, JSON-document types


def select_list(sel: Selection, paths: list[tuple[str, list[str]]], clock: VirtualClock) -> list[str]:
    """``SELECT`` items for (header, field path) pairs; aliases are the header names."""
    out = []
    for header, path in paths:
        expr, f, kind = sel.path_expr(path)
        alias = '"' + header.replace('"', '""') + '"'
        out.append(f"{cell_sql(expr, f, kind, clock)} AS {alias}")
    return out


# -- the zip ---------------------------------------------------------------------------------


def _dos_time(ts: float) -> tuple[int, int]:
    t = time.gmtime(max(ts, 315_532_800))  # the zip epoch is 1980
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), \
        ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


def _csv_chunks(table: pa.Table, chunk_rows: int) -> list[pa.Table]:
    if table.num_rows == 0:
        return [table]
    return [table.slice(i, chunk_rows) for i in range(0, table.num_rows, chunk_rows)]


def _render(chunk: pa.Table, header: bool) -> bytes:
    buf = io.BytesIO()
    # quoting_style "needed" quotes every string cell: RFC 4180 allows it, and it is how values with
    # commas, quotes or newlines survive; inner quotes are doubled by Arrow.
    pacsv.write_csv(chunk, buf, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return buf.getvalue()


def _render_chunk(chunk: pa.Table, header: bool, level: int, final: bool) -> tuple[bytes, bytes | None]:
    """CSV text of one chunk and, when compressing, its deflate bytes (runs on a worker thread)."""
    raw = _render(chunk, header)
    return raw, (_deflate(raw, level, final) if level > 0 else None)


def _deflate(data: bytes, level: int, final: bool) -> bytes:
    # Raw deflate (wbits -15) as a zip entry wants it. A non-final chunk ends with a sync flush, which
    # byte-aligns it without setting BFINAL, so the chunks concatenate into one valid stream.
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def write_zipped_csv(table: pa.Table, path: Path, arcname: str, *, level: int = DEFAULT_ZIP_LEVEL,
                     workers: int = 2, chunk_rows: int = CHUNK_ROWS, mtime: float | None = None) -> int:
    """Write ``table`` as one CSV entry ``arcname`` of a zip at ``path``; returns the CSV size in bytes.

    ``level`` 0 stores the CSV uncompressed. Chunks stream straight into the file and the local
    header is patched at the end (sizes and CRC are known only then). Past 4 GiB the archive is
    rewritten with :mod:`zipfile` (zip64).
    """
    chunks = _csv_chunks(table, chunk_rows)
    name = arcname.encode("utf-8")
    method = zipfile.ZIP_DEFLATED if level > 0 else zipfile.ZIP_STORED
    dtime, ddate = _dos_time(time.time() if mtime is None else mtime)
    flags = 0x800  # names are UTF-8

    def header(crc: int, csize: int, size: int) -> bytes:
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dtime, ddate, crc, csize, size,
                           len(name), 0) + name

    crc = size = csize = 0
    last = len(chunks) - 1
    with open(path, "wb") as fh:
        fh.write(header(0, 0, 0))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: deque[Future[tuple[bytes, bytes | None]]] = deque()

            def drain(keep: int) -> None:
                nonlocal crc, size, csize
                while len(pending) > keep:
                    raw, packed = pending.popleft().result()
                    crc = zlib.crc32(raw, crc)  # in order; zlib drops the GIL, so workers keep running
                    size += len(raw)
                    part = raw if packed is None else packed
                    fh.write(part)
                    csize += len(part)

            for i, chunk in enumerate(chunks):
                pending.append(pool.submit(_render_chunk, chunk, i == 0, level, i == last))
                drain(workers)  # at most workers + 1 chunks in flight: bounded memory
            drain(0)
        if size >= _ZIP64_LIMIT or csize >= _ZIP64_LIMIT:
            fh.close()
            return _write_with_zipfile(b"".join(_render(c, i == 0) for i, c in enumerate(chunks)), path,
                                       arcname, level)
        local = header(crc, csize, size)
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, flags, method, dtime, ddate,
                              crc, csize, size, len(name), 0, 0, 0, 0, 0o644 << 16, 0) + name
        fh.write(central)
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + csize, 0))
        fh.seek(0)
        fh.write(local)
    return size


def _write_with_zipfile(data: bytes, path: Path, arcname: str, level: int) -> int:
    method = zipfile.ZIP_DEFLATED if level > 0 else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method, compresslevel=level or None, allowZip64=True) as zf:
        zf.writestr(arcname, data)
    return len(data)


# -- Bulk Write: CSV cells -> Records-API JSON values ---------------------------------------------

#: default patterns when a mapping gives no ``format`` (bulk-write.md section 2: a common pitfall)
DEFAULT_DATE_FORMAT = "MM/dd/yyyy"
DEFAULT_DATETIME_FORMAT = "MM/dd/yyyy HH:mm:ss"
_JAVA_TOKENS = {  # Java SimpleDateFormat letters -> strptime directives (the common subset)
    "yyyy": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m", "dd": "%d", "d": "%d",
    "HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M", "ss": "%S", "s": "%S",
    "SSS": "%f", "a": "%p", "EEEE": "%A", "EEE": "%a", "XXX": "%z", "XX": "%z", "X": "%z", "ZZ": "%z",
    "Z": "%z",
}
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")
#: one CSV row's problem: (error code, column header) -> ``CODE-column`` in the result file
RowError = tuple[str, str]


def java_to_strptime(pattern: str) -> tuple[str, bool]:
    """``yyyy-MM-dd'T'HH:mm:ssXXX`` -> (``%Y-%m-%dT%H:%M:%S%z``, has zone). ValueError if unsupported."""
    out: list[str] = []
    has_tz = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":  # quoted literal; '' is a quote
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated quote")
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        if ch.isalpha():
            run = len(pattern) - i - len(pattern[i:].lstrip(ch))
            token = ch * run
            if token not in _JAVA_TOKENS:
                raise ValueError(f"unsupported pattern letters {token!r}")
            has_tz = has_tz or _JAVA_TOKENS[token] == "%z"
            out.append(_JAVA_TOKENS[token])
            i += run
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out), has_tz


@dataclass
class Mapping:
    """One validated ``field_mappings`` entry (or an automatic one from the header)."""

    api_name: str  # a field's api name, or "id"
    field: FieldDef | None  # None for "id"
    column: str  # the CSV header of the mapped column; the api name when only a default is given
    index: int | None
    lookup_by: str | None = None  # lookups: "id" (default), "email" for users, or a unique field
    pattern: str | None = None  # dates/datetimes: strptime pattern
    has_tz: bool = False
    default: str | None = None
    target_module: str | None = None  # multi-module lookups
    echo: dict[str, Any] = dataclass_field(default_factory=dict)

    def cell(self, row: list[str]) -> str:
        raw = row[self.index] if self.index is not None and self.index < len(row) else ""
        return raw if raw != "" or self.default is None else self.default


def key_of(mp: Mapping | None, raw: str) -> Any:
    """The find_by key of a cell, normalized like Zoho's case-insensitive duplicate check."""
    raw = raw.strip()
    if mp is None or not raw:
        return None
    if mp.field is None or mp.field.data_type in ("lookup", "ownerlookup", "userlookup"):
        return int(raw) if raw.isdigit() else raw
    return raw.lower() if mp.field.json_type == "string" else raw


def _date_value(mp: Mapping, raw: str, tz: Any) -> str:
    assert mp.field is not None and mp.pattern is not None
    parsed = datetime.strptime(raw.strip(), mp.pattern)
    if mp.field.value_type == "date":
        return parsed.date().isoformat()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # no zone in the pattern: the importing user's time zone
    return parsed.astimezone(tz).replace(microsecond=0).isoformat()


def cell_to_json(mp: Mapping, raw: str, lookups: dict[str, dict[str, int]], tz: Any) -> Any:
    """One CSV cell -> the value the Records API would take for the field (ValueError if impossible)."""
    f = mp.field
    if f is None:
        return raw.strip()
    dt = f.data_type
    if dt in ("date", "datetime"):
        return _date_value(mp, raw, tz)
    if dt == "integer":
        return int(raw) if _INT_RE.match(raw.strip()) else raw
    if dt in ("double", "currency", "percent"):
        return float(raw) if _NUMBER_RE.match(raw.strip()) else raw
    if dt == "boolean":
        low = raw.strip().lower()
        return True if low in ("true", "1") else False if low in ("false", "0") else raw
    if dt == "multiselectpicklist":
        return [v.strip() for v in raw.split(";") if v.strip()]
    if dt in ("lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"):
        ref = raw.strip()
        if mp.lookup_by == "email":
            user = next((u for u in schema.USERS if u.email.lower() == ref.lower()), None)
            if user is None:
                raise ValueError("no such user")
            ref = str(user.id)
        elif mp.lookup_by not in (None, "id"):
            rid = lookups.get(mp.api_name, {}).get(ref)
            if rid is None:
                raise ValueError("no record with this value")
            ref = str(rid)
        if dt == "multi_module_lookup":
            return {"module": {"api_name": mp.target_module}, "id": ref}
        return {"id": ref}
    if dt in schema.JSON_DOCUMENT_TYPES or dt in ("ALARM", "RRULE"):
        text = raw.strip()
        if text.startswith(("{", "[")):
            return json.loads(text)
        return {dt: text} if dt in ("ALARM", "RRULE") else raw
    return raw


def build_record(app: Any, mappings: list[Mapping], row: list[str], lookups: dict[str, dict[str, int]],
                 ignore_empty: bool) -> tuple[dict[str, Any], list[RowError]]:
    """A CSV row -> a record in Records-API JSON form, plus the cells that could not be converted."""
    record: dict[str, Any] = {}
    errors: list[RowError] = []
    for mp in mappings:
        raw = mp.cell(row)
        if raw == "":
            if not ignore_empty:
                record[mp.api_name] = None  # an empty cell clears the field (ignore_empty false)
            continue
        try:
            record[mp.api_name] = cell_to_json(mp, raw, lookups, app.clock.tz)
        except (ValueError, TypeError):
            errors.append(("INVALID_DATA", mp.column))
    return record, errors
