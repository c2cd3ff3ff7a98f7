"""How one module's rows are laid out in a file: Parquet, or CSV with a schema sidecar.

Parquet keeps Arrow types itself. CSV keeps none, so values are written in a
form that reads back exactly through the stored schema (``schema_io``):

* text: always quoted; an empty string is ``""`` and null is an empty field,
  so the two never collapse (pyarrow reads with ``quoted_strings_can_be_null=False``);
* lists (multi-select picklists): JSON arrays, ``["CRM","Desk"]``;
* decimals: plain digits (``1234.50``), never floats; timestamps: ISO 8601 in UTC
  (``2024-05-01 10:00:00Z``); dates ``2024-05-01``; booleans ``true``/``false``;
* JSON-shaped values (addresses, reminders): already JSON text in a string column.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connector.errors import ConversionError, StateError
from connector.localfs import open_private

from .schema_io import conform

BATCH_ROWS = 50_000


class RowWriter(Protocol):
    def write(self, table: pa.Table) -> None:
        """Append ``table``'s rows, conformed to the writer's schema (:func:`.schema_io.conform`) here."""

    def close(self) -> None: ...


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetRowWriter:
    """Rows buffered into row groups of ~BATCH_ROWS: readers pay per row group, and a 200-row
    page per group would make the file slow to scan and poorly compressed."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        # zstd: a good ratio at a speed that keeps up with the readers.
        self._w = pq.ParquetWriter(path, schema, compression="zstd")
        self._buf: list[pa.Table] = []
        self._rows = 0

    def _flush(self) -> None:
        if self._buf:
            self._w.write_table(pa.concat_tables(self._buf), row_group_size=max(self._rows, 1))
            self._buf, self._rows = [], 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._buf.append(conform(table, self.schema))
            self._rows += table.num_rows
            if self._rows >= BATCH_ROWS:
                self._flush()

    def close(self) -> None:
        self._flush()
        self._w.close()
        _fsync(self.path)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Lists as JSON text: CSV has no arrays, and ';'-joined values cannot hold a ';'."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in col.to_pylist()],
                           pa.string())
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


class CsvRowWriter:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        out_schema = _csv_ready(schema.empty_table()).schema
        self._sink = pa.OSFile(str(path), "wb")
        self._w = pacsv.CSVWriter(self._sink, out_schema, write_options=pacsv.WriteOptions(
            include_header=True, quoting_style="needed"))

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._w.write_table(_csv_ready(conform(table, self.schema)))

    def close(self) -> None:
        self._w.close()
        self._sink.close()
        _fsync(self.path)


def _from_text(col: pa.ChunkedArray, t: pa.DataType, name: str) -> pa.ChunkedArray | pa.Array:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col.cast(t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        try:
            return pa.array([None if v is None else json.loads(v) for v in col.to_pylist()], t)
        except (ValueError, TypeError, pa.ArrowInvalid) as exc:
            raise ConversionError(f"column {name}: a list value is not a JSON array of strings: {exc}") from None
    try:
        return col.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ConversionError(f"column {name}: cannot read a value as {t}: {exc}",
                              hint="the CSV was edited, or its _schema.json belongs to other data") from None


def read_csv_batches(path: Path, schema: pa.Schema | None) -> Iterator[pa.Table]:
    """Tables of up to ~BATCH_ROWS rows with ``schema`` (columns the file lacks read as null)."""
    with open(path, "rb") as fh:
        header = fh.readline()
    if not header.strip():
        return
    names = next(csv.reader([header.decode("utf-8-sig")]))
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
                                   quoted_strings_can_be_null=False)
    reader = pacsv.open_csv(str(path), read_options=pacsv.ReadOptions(block_size=8 << 20),
                            parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=convert)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        if schema is None:
            yield table
            continue
        types = {f.name: f.type for f in schema}
        cols = [_from_text(table.column(n), types.get(n, pa.string()), n) for n in table.column_names]
        typed = pa.Table.from_arrays(cols, names=table.column_names)
        yield conform(typed, schema)


def read_parquet_batches(path: Path, schema: pa.Schema | None, columns: list[str] | None = None
                         ) -> Iterator[pa.Table]:
    pf = pq.ParquetFile(path)
    have = set(pf.schema_arrow.names)
    cols = [c for c in columns if c in have] if columns is not None else None
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=cols):
        table = pa.Table.from_batches([batch])
        if schema is not None:
            target = schema if columns is None else pa.schema([schema.field(c) for c in columns
                                                               if c in schema.names])
            table = conform(table, target)
        yield table


class FileFormat:
    """One of ``parquet`` / ``csv``: file extension, writer, reader."""

    def __init__(self, kind: str) -> None:
        if kind not in ("parquet", "csv"):
            raise ValueError(kind)
        self.kind = kind
        self.ext = "." + kind

    def writer(self, path: Path, schema: pa.Schema) -> RowWriter:
        return ParquetRowWriter(path, schema) if self.kind == "parquet" else CsvRowWriter(path, schema)

    def read(self, path: Path, schema: pa.Schema | None, columns: list[str] | None = None) -> Iterator[pa.Table]:
        try:
            if self.kind == "parquet":
                yield from read_parquet_batches(path, schema, columns)
                return
            for table in read_csv_batches(path, schema):
                yield table if columns is None else table.select([c for c in columns if c in table.column_names])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # a malformed file: say which, not a traceback
            raise StateError(f"cannot read {path}: {exc}",
                             hint="fix the file (every line needs the header's columns) or write it again") from None

    def file_schema(self, path: Path) -> pa.Schema | None:
        """The schema the file itself carries (Parquet only)."""
        return pq.read_schema(path) if self.kind == "parquet" else None


def write_json_atomic(path: Path, data: Any) -> None:
    """temp file + fsync + rename + fsync of the directory: readers see the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # one string from json's C encoder (no indent: with one, json encodes in Python and writes each of some
    # 8,000 pieces apart; a sync's 100 KB manifest took 2.1 ms a commit that way, 0.85 ms this way, alone)
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    with open_private(tmp, "w", f"{path.name} of the target") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some filesystems cannot fsync a directory; the rename is still atomic
        pass
