"""Bulk Read result pages -> Arrow batches: ``pyarrow.csv`` streaming, then vectorised fix-ups only.

A page is a zip holding one CSV (bulk-read.md sections 3-4). It is decoded
block by block with :func:`pyarrow.csv.open_csv` straight from the zip entry,
each column parsed by Arrow into the type the catalog wants (``column_types``),
so no Python runs per row. What the CSV cannot say directly is fixed per batch
with Arrow compute:

* ``Lookup.Display`` columns become ``<Lookup>_Name`` (renames);
* multi-select picklists (``A;B``) are split with ``split_pattern``;
* currency is read as decimal128(38, 9) and rounded half-to-even to the
  field's scale, as the JSON converter does (a plain cast would refuse extra
  decimals rather than round them);
* owner/user and layout names come from the id with a vectorised ``take`` over
  the users/layouts maps (:class:`~.names.LookupNames`);
* JSON-text columns are re-serialised in the compact form the REST reader
  produces — the one per-value Python step, for the few JSON columns only.

Every cell that is empty is null (``null_values=[""]``: Arrow's default list
would also turn the text ``NULL`` or ``N/A`` into null).
"""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connector.errors import ConversionError
from connector.schema.types import TableSchema

from .names import LookupNames, map_values

#: currency is parsed at Zoho's widest scale (at most 9 decimals) and rounded to the field's
WIDE_DECIMAL = pa.decimal128(38, 9)
USER_TYPES = ("ownerlookup", "userlookup")


@dataclass(frozen=True)
class OutputColumn:
    name: str  # catalog column name
    how: str  # value | list | decimal | json | user | layout | poly_name | poly_module
    source: str  # CSV header the column is made from
    field: str  # Zoho api_name of the field


@dataclass(frozen=True)
class CsvPlan:
    module: str
    fields: list[str]  # the job's ``query.fields``
    read_types: dict[str, pa.DataType]  # CSV header -> Arrow type it is parsed as
    outputs: list[OutputColumn]
    schema: pa.Schema

    @property
    def needs_users(self) -> bool:
        return any(o.how == "user" for o in self.outputs)


def plan_csv(ts: TableSchema, cols: list[str], display_field: Callable[[str], str | None]) -> CsvPlan:
    """What to ask the bulk job for and how each requested column is made from its CSV."""
    read: dict[str, pa.DataType] = {"id": pa.string()}
    outputs: list[OutputColumn] = []
    for name in cols:
        col = ts.by_name[name]
        f = col.field
        info = ts.fields.get(f)
        if col.part == "value":
            t = col.arrow
            if pa.types.is_list(t):
                how, rt = "list", pa.string()
            elif pa.types.is_decimal(t):
                how, rt = "decimal", WIDE_DECIMAL
            elif col.value_type == "json":
                how, rt = "json", pa.string()
            else:
                how, rt = "value", t
            read[f] = rt
            outputs.append(OutputColumn(name, how, f, f))
            continue
        read[f] = pa.string()  # the lookup's id: every other lookup part is derived from it
        if col.part == "id":
            outputs.append(OutputColumn(name, "value", f, f))
        elif col.part == "module":
            outputs.append(OutputColumn(name, "poly_module", f, f))
        elif info is not None and info.data_type in USER_TYPES:
            outputs.append(OutputColumn(name, "user", f, f))
        elif info is not None and info.data_type == "layout":
            outputs.append(OutputColumn(name, "layout", f, f))
        elif info is not None and (info.polymorphic or info.data_type == "multi_module_lookup"):
            outputs.append(OutputColumn(name, "poly_name", f, f))
        else:
            display = display_field(info.lookup_module) if info is not None and info.lookup_module else None
            if display:
                dotted = f"{f}.{display}"  # bulk-read.md section 1: ask for the display value as a column
                read[dotted] = pa.string()
                outputs.append(OutputColumn(name, "value", dotted, f))
            else:  # target without a known display field: look the ids up like a polymorphic lookup
                outputs.append(OutputColumn(name, "poly_name", f, f))
    # Only the lookups whose id column is really used stay in the job's field list.
    used = {o.source for o in outputs}
    read = {h: t for h, t in read.items() if h in used or h == "id"}
    fields = [h for h in read if h != "id"] or ["id"]  # an empty list would export every field
    return CsvPlan(ts.module, fields, read, outputs, ts.select(cols))


# -- decoding -------------------------------------------------------------------------------------


def csv_entry(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    entries = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
    if len(entries) != 1:
        raise ConversionError(f"bulk read result should hold exactly one CSV file, found "
                              f"{[i.filename for i in zf.infolist()]}")
    return entries[0]


def read_header(zf: zipfile.ZipFile, entry: zipfile.ZipInfo) -> list[str]:
    with zf.open(entry) as raw:
        line = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="").readline()
    return next(csv.reader([line]), [])


def match_headers(plan: CsvPlan, header: list[str]) -> dict[str, str]:
    """Planned CSV header -> the header as the file spells it (exact first, then case-insensitive)."""
    exact = set(header)
    lower = {h.lower(): h for h in header}
    out = {}
    for h in plan.read_types:
        got = h if h in exact else lower.get(h.lower())
        if got is None:
            raise ConversionError(f"bulk read CSV for {plan.module} has no column {h!r} (it has {header[:12]}...)",
                                  hint="the field may not be exportable by Bulk Read; choose another APIType")
        out[h] = got
    return out


#: bytes of a stored entry its CRC is computed over at a time (zlib lets go of the GIL meanwhile)
CRC_CHUNK = 16 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then the name's and the extra field's lengths


def stored_bytes(path: Path, entry: zipfile.ZipInfo) -> tuple[pa.Buffer, pa.MemoryMappedFile] | None:
    """A stored (uncompressed) entry's bytes where they lie in the file, memory-mapped, its CRC checked; None
    for a compressed or encrypted entry (read through :mod:`zipfile`).

    Arrow then parses the CSV in place: read through :mod:`zipfile`, every block is first copied into a new
    Python bytes object, and on the small VMs this was measured on, faulting in those fresh pages was most
    of the reading process's page faults (a 1M-row read: 0.3 of its 5.5-6 CPU-s saved here). The CRC is
    checked before the first row, as :mod:`zipfile` checks it at the entry's end (:class:`zipfile.BadZipFile`).
    The buffer keeps the mapping alive after the file is closed (or unlinked)."""
    if entry.compress_type != zipfile.ZIP_STORED or entry.flag_bits & 0x1:
        return None
    with open(path, "rb") as fh:
        fh.seek(entry.header_offset)
        head = fh.read(_LOCAL_HEADER.size)
    if len(head) != _LOCAL_HEADER.size:
        return None
    signature, name_len, extra_len = _LOCAL_HEADER.unpack(head)
    start = entry.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    if signature != b"PK\x03\x04" or start + entry.compress_size > path.stat().st_size:
        return None  # not what the central directory promised: zipfile says what is wrong
    mapped = pa.memory_map(str(path))
    try:
        mapped.seek(start)
        data = mapped.read_buffer(entry.compress_size)
        view, crc = memoryview(data), 0
        for at in range(0, len(view), CRC_CHUNK):
            crc = zlib.crc32(view[at:at + CRC_CHUNK], crc)
        if crc != entry.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {entry.filename!r}")
    except BaseException:
        mapped.close()
        raise
    return data, mapped


def open_page(path: Path, plan: CsvPlan, block_size: int) -> tuple[pacsv.CSVStreamingReader, dict[str, str],
                                                                       Callable[[], None]]:
    """The page's CSV reader, its headers matched to the plan, and what closes the page's file."""
    zf = zipfile.ZipFile(path)
    mapped: pa.MemoryMappedFile | None = None

    def close() -> None:
        zf.close()
        if mapped is not None:
            mapped.close()  # the mapping itself goes with the last buffer over it

    try:
        entry = csv_entry(zf)
        names = match_headers(plan, read_header(zf, entry))
        convert = pacsv.ConvertOptions(
            column_types={names[h]: t for h, t in plan.read_types.items()},
            include_columns=list(dict.fromkeys(names.values())),
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
            true_values=["true", "TRUE", "True"], false_values=["false", "FALSE", "False"],
            timestamp_parsers=[pacsv.ISO8601])
        stored = stored_bytes(path, entry)
        source: pa.BufferReader | zipfile.ZipExtFile
        if stored is not None:
            data, mapped = stored
            source = pa.BufferReader(data)
        else:
            source = zf.open(entry)
        # newlines_in_values: textarea cells carry newlines inside quotes (bulk-read.md section 4).
        reader = pacsv.open_csv(source, read_options=pacsv.ReadOptions(block_size=block_size),
                                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                                convert_options=convert)
    except pa.ArrowInvalid as exc:  # the first block is parsed here already
        close()
        raise unreadable(plan, exc) from None
    except BaseException:
        close()
        raise
    return reader, names, close


def unreadable(plan: CsvPlan, exc: Exception) -> ConversionError:
    return ConversionError(f"bulk read CSV for {plan.module}: a value does not fit its column: {exc}",
                           hint="the field metadata may have changed; refresh the catalog")


def decode_page(path: Path, plan: CsvPlan, names: LookupNames, *, block_size: int = 4 << 20
                ) -> Iterator[pa.RecordBatch]:
    """Yield the page's rows as batches with exactly ``plan.schema``; memory stays at a few blocks."""
    try:
        reader, headers, close = open_page(path, plan, block_size)
    except zipfile.BadZipFile as exc:
        raise damaged(plan, exc) from None
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise unreadable(plan, exc) from None
            except zipfile.BadZipFile as exc:  # a compressed entry's CRC, checked at its end
                raise damaged(plan, exc) from None
            if batch.num_rows:
                yield finish_batch(batch, plan, headers, names)
    finally:
        close()


def damaged(plan: CsvPlan, exc: Exception) -> ConversionError:
    return ConversionError(f"bulk read result for {plan.module} is damaged ({exc}): it did not arrive as Zoho "
                           "sent it", hint="run the read again (a new job); if it keeps happening, read with "
                                           "APIType=COQL")


def finish_batch(batch: pa.RecordBatch, plan: CsvPlan, headers: dict[str, str], names: LookupNames
                 ) -> pa.RecordBatch:
    """Turn one parsed CSV block into a batch of the catalog's schema (vectorised)."""
    index = {n: i for i, n in enumerate(batch.schema.names)}
    poly: dict[str, tuple[pa.Array, pa.Array]] = {}
    arrays = []
    for out, field in zip(plan.outputs, plan.schema, strict=True):
        src = batch.column(index[headers[out.source]])
        target = field.type
        try:
            if out.how == "value":
                arr = src
            elif out.how == "list":
                arr = pc.split_pattern(src, ";")
            elif out.how == "decimal":
                arr = pc.round(src, ndigits=target.scale, round_mode="half_to_even")
            elif out.how == "json":
                arr = canonical_json(src)
            elif out.how == "user":
                arr = map_values(src, *names.users())
            elif out.how == "layout":
                arr = map_values(src, *names.layouts(plan.module))
            else:  # poly_name / poly_module: one membership lookup serves both columns
                if out.field not in poly:
                    poly[out.field] = names.polymorphic_arrays(plan.module, out.field, src)
                arr = poly[out.field][0 if out.how == "poly_module" else 1]
            arrays.append(arr if arr.type == target else arr.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ConversionError(f"{plan.module}.{out.field}: cannot read bulk values as {target}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=plan.schema)


def canonical_json(arr: pa.Array) -> pa.Array:
    """JSON text in the compact form the REST reader writes (``json.dumps`` with tight separators)."""
    out: list[str | None] = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        try:
            out.append(json.dumps(json.loads(v), ensure_ascii=False, separators=(",", ":")))
        except ValueError:
            out.append(v)  # not JSON after all (a plain-text value): keep it as it came
    return pa.array(out, pa.string())
