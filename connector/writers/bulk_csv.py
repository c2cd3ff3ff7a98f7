"""Bulk Write files both ways: validated rows -> zipped CSV + field mappings, result CSV -> per-row outcomes.

bulk-write.md sections 1, 2 and 4, and the write formats of
metadata-and-types.md section 5: the header holds field api names (lookups as
``Field.id``, bound by index through ``field_mappings``), dates are ISO with an
explicit ``format`` in the mapping (Zoho's default is ``MM/dd/yyyy``, a classic
trap), datetimes carry their offset, multi-select values are joined with ``;``,
lookups are ids with ``find_by: "id"``, booleans ``true``/``false``, numbers
never in exponent form. Files are cut at Zoho's limits: 25,000 rows, 25 MB of
CSV, 200 columns.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.api.bulk import WRITE_MAX_BYTES, WRITE_MAX_COLUMNS, WRITE_MAX_ROWS
from connector.errors import PlanningError
from connector.schema.types import JSON_TYPES, FieldInfo

from .validate import RowItem, WritePlan

DATE_FORMAT = "yyyy-MM-dd"
DATETIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ssXXX"  # what validate.to_json produces: 2024-05-02T10:15:31+00:00


@dataclass(frozen=True)
class CsvColumn:
    header: str  # CSV header (field api name, ``Field.id`` for lookups, ``id``)
    api_name: str  # field the column maps to ("id" for the record id)
    field: FieldInfo | None
    input_column: str  # the caller's column name, used in messages


def plan_columns(plan: WritePlan) -> list[CsvColumn]:
    cols: list[CsvColumn] = []
    if plan.operation == "update":
        cols.append(CsvColumn("id", "id", None, plan.id_column or "id"))
    for column, f in plan.values:
        header = f"{f.api_name}.id" if f.is_lookup else f.api_name
        cols.append(CsvColumn(header, f.api_name, f, column))
    if len(cols) > WRITE_MAX_COLUMNS:
        raise PlanningError(f"a Bulk Write file takes at most {WRITE_MAX_COLUMNS} columns; this write has "
                            f"{len(cols)}", hint="write fewer columns per call, or use the REST writer")
    return cols


def field_mappings(cols: list[CsvColumn]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, c in enumerate(cols):
        m: dict[str, Any] = {"api_name": c.api_name, "index": i}
        f = c.field
        if f is not None and f.is_lookup:
            m["find_by"] = "id"
        elif f is not None and f.value_type == "date":
            m["format"] = DATE_FORMAT
        elif f is not None and f.value_type == "datetime":
            m["format"] = DATETIME_FORMAT
        out.append(m)
    return out


def _number(v: int | float) -> str:
    if isinstance(v, int):
        return str(v)
    text = format(Decimal(repr(v)), "f")  # 1e16-safe, never "1.5e+07"
    return text.rstrip("0").rstrip(".") if "." in text else text


def cell(col: CsvColumn, payload: dict[str, Any]) -> str:
    """One validated JSON value -> its Bulk Write CSV text ("" clears, or is left alone with ignore_empty)."""
    v = payload.get(col.api_name)
    if v is None:
        return ""
    if isinstance(v, dict) and col.field is not None and col.field.is_lookup:
        return str(v.get("id") or "")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _number(v)
    if isinstance(v, list) and col.field is not None and col.field.value_type == "multiselectpicklist":
        return ";".join(v)
    if isinstance(v, (dict, list)) or (col.field is not None and col.field.value_type in JSON_TYPES):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


@dataclass
class CsvFile:
    items: list[RowItem]
    data: bytes  # the CSV (UTF-8)

    def zipped(self, name: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr(name, self.data)
        return buf.getvalue()


def _line(writer: Any, buf: io.StringIO, cells: list[str]) -> bytes:
    buf.seek(0)
    buf.truncate()
    writer.writerow(cells)
    return buf.getvalue().encode("utf-8")


def split_files(cols: list[CsvColumn], items: Iterator[RowItem], *, max_rows: int = WRITE_MAX_ROWS,
                max_bytes: int = WRITE_MAX_BYTES) -> Iterator[CsvFile]:
    """Encode rows into CSV files, each within Zoho's row and size limits (streams: one file in memory)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = _line(writer, buf, [c.header for c in cols])
    lines: list[bytes] = []
    batch: list[RowItem] = []
    size = len(header)
    for item in items:
        line = _line(writer, buf, [cell(c, item.payload) for c in cols])
        if batch and (len(batch) >= max_rows or size + len(line) > max_bytes):
            yield CsvFile(batch, header + b"".join(lines))
            lines, batch, size = [], [], len(header)
        lines.append(line)
        batch.append(item)
        size += len(line)
    if batch:
        yield CsvFile(batch, header + b"".join(lines))


# -- the result file -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultRow:
    status: str  # ADDED, UPDATED, SKIPPED, UNPROCESSED
    record_id: str | None
    errors: list[tuple[str, list[str]]]  # (code, column headers)


def parse_errors(text: str) -> list[tuple[str, list[str]]]:
    """``MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email`` -> [(code, [columns]), ...]."""
    out = []
    for part in (p for p in text.split(":") if p.strip()):
        code, _, columns = part.partition("-")
        out.append((code.strip(), [c.strip() for c in columns.split(",") if c.strip()]))
    return out


def parse_result(zip_bytes: bytes) -> list[ResultRow]:
    """The result zip's rows, in input order (bulk-write.md section 4)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
        if not names:
            raise ValueError("the bulk write result holds no CSV")
        text = zf.read(names[0]).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    at = {h.strip().upper(): i for i, h in enumerate(header)}
    if "STATUS" not in at:
        raise ValueError("the bulk write result has no STATUS column")

    def get(row: list[str], name: str) -> str:
        i = at.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    return [ResultRow(get(r, "STATUS").upper(), get(r, "RECORD_ID") or None, parse_errors(get(r, "ERRORS")))
            for r in reader if r]
