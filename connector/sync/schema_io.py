"""Arrow schemas as plain JSON, so file and DuckDB targets can give types back exactly.

CSV has no types and DuckDB widens some (``timestamp[s]`` comes back as
microseconds), so every target stores the catalog's Arrow schema next to the
data: a list of ``{"name", "type"}`` with a small, stable type grammar::

    string  int64  float64  bool  date32  decimal(18,2)  timestamp[s, UTC]  list<string>

The grammar is ours rather than ``str(pa.DataType)`` because pyarrow's spelling
has changed between versions (``list<item: string>``, ``date32[day]``), and a
state file must outlive an upgrade.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from connector.errors import StateError

_SIMPLE: dict[str, pa.DataType] = {
    "null": pa.null(), "bool": pa.bool_(), "string": pa.string(), "large_string": pa.large_string(),
    "binary": pa.binary(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float32": pa.float32(), "float64": pa.float64(), "date32": pa.date32(), "date64": pa.date64(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_TIMESTAMP = re.compile(r"^timestamp\[(s|ms|us|ns)(?:,\s*([^\]]+))?\]$")
_LIST = re.compile(r"^list<(.+)>$")


def type_to_text(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, {t.tz}]" if t.tz else f"timestamp[{t.unit}]"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{type_to_text(t.value_type)}>"
    for name, simple in _SIMPLE.items():
        if t == simple:
            return name
    raise StateError(f"the Arrow type {t} cannot be stored in a sync state file",
                     hint="columns are strings, numbers, booleans, dates, timestamps, decimals or lists")


def text_to_type(text: str) -> pa.DataType:
    s = text.strip()
    if s in _SIMPLE:
        return _SIMPLE[s]
    if m := _DECIMAL.match(s):
        precision, scale = int(m.group(1)), int(m.group(2))
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if m := _TIMESTAMP.match(s):
        return pa.timestamp(m.group(1), tz=m.group(2).strip() if m.group(2) else None)
    if m := _LIST.match(s):
        return pa.list_(text_to_type(m.group(1)))
    raise StateError(f"unknown column type {text!r} in a sync state file",
                     hint="the file was written by a newer connector, or edited; re-run a full load")


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": type_to_text(f.type)} for f in schema]


def schema_from_json(data: Any) -> pa.Schema:
    if not isinstance(data, list) or not all(isinstance(d, dict) and "name" in d and "type" in d for d in data):
        raise StateError("a stored schema is malformed (expected a list of {name, type})",
                         hint="re-run a full load to write it again")
    return pa.schema([pa.field(str(d["name"]), text_to_type(str(d["type"]))) for d in data])


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """``batch`` with exactly ``schema``'s columns and types: missing columns are nulls, extras dropped."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    have = table.schema
    if have.equals(schema, check_metadata=True):
        return table  # the common case: a batch of the very schema it is written with
    # by position, looked up once: ``table.column_names`` is a new list at every access (77 columns, 2 ms a batch)
    index = {name: i for i, name in enumerate(have.names)}
    arrays = []
    for f in schema:
        i = index.get(f.name)
        if i is None:
            arrays.append(pa.nulls(table.num_rows, f.type))
        else:
            col = table.column(i)
            arrays.append(col if have.field(i).type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def merged(new: pa.Schema, old: pa.Schema | None) -> pa.Schema:
    """The new schema, plus columns only the old one has (the org dropped a field; the data keeps it)."""
    if old is None:
        return new
    extra = [f for f in old if f.name not in new.names]
    return pa.schema(list(new) + extra) if extra else new
