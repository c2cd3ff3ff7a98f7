"""Record JSON (REST, search, COQL) -> Arrow record batches with the catalog's schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from connector.errors import ConversionError

from .types import Column, TableSchema


def _to_datetime(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _to_date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    return date.fromisoformat(str(v)[:10])


def _decimal(scale: int) -> Callable[[Any], Decimal | None]:
    q = Decimal(1).scaleb(-scale)

    def conv(v: Any) -> Decimal | None:
        if v is None or v == "":
            return None
        return Decimal(str(v)).quantize(q, rounding=ROUND_HALF_EVEN)

    return conv


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    return int(v)


def _float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


def _bool(v: Any) -> bool | None:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return v.lower() == "true"
    return bool(v)


def _list(v: Any) -> list[str] | None:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return [p for p in v.split(";")]
    return [str(x) for x in v]


def _tag_names(v: Any) -> list[str] | None:
    """``[{"name": "Hot", "id": ..., "color_code": ...}]`` -> ``["Hot"]`` (names as text also pass)."""
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    return [str(x.get("name")) if isinstance(x, dict) else str(x) for x in v]


def value_converter(col: Column) -> Callable[[Any], Any]:
    if col.value_type == "tag":
        return _tag_names
    t = col.arrow
    if pa.types.is_timestamp(t):
        return _to_datetime
    if pa.types.is_date(t):
        return _to_date
    if pa.types.is_decimal(t):
        return _decimal(t.scale)
    if pa.types.is_integer(t):
        return _int
    if pa.types.is_floating(t):
        return _float
    if pa.types.is_boolean(t):
        return _bool
    if pa.types.is_list(t):
        return _list
    return _text


def _lookup_getter(col: Column) -> Callable[[dict[str, Any]], Any]:
    f = col.field
    if col.part == "id":
        def get(rec: dict[str, Any]) -> Any:
            v = rec.get(f)
            if isinstance(v, dict):
                return None if v.get("id") is None else str(v["id"])
            return None if v is None else str(v)
    elif col.part == "name":
        def get(rec: dict[str, Any]) -> Any:
            v = rec.get(f)
            return v.get("name") if isinstance(v, dict) else None
    else:  # module
        def get(rec: dict[str, Any]) -> Any:
            v = rec.get(f)
            if not isinstance(v, dict):
                return None
            mod = v.get("module")
            if isinstance(mod, dict):
                return mod.get("api_name")
            return rec.get("$se_module") or mod
    return get


def _whole(t: pa.DataType) -> Callable[[list[Any]], pa.Array] | None:
    """For a column whose JSON values are already what Arrow takes (text as strings, numbers as numbers,
    datetimes as ISO text with an offset...), the whole column at once; None where values need Python.

    Any value it does not take as is (an empty string, a number given as text, a JSON document in a
    text field, fractions of a second) raises, and the column is converted value by value instead:
    the answer is the same either way, only the common case is faster."""
    if pa.types.is_timestamp(t):
        return lambda raw: pa.array(raw, pa.string()).cast(t)  # ISO 8601 with its offset, to UTC
    if pa.types.is_date(t):
        return lambda raw: pa.array(raw, pa.string()).cast(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_floating(t):
        return lambda raw: pa.array(raw, t)
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or (pa.types.is_list(t) and pa.types.is_string(t.value_type)):
        # Arrow would read "12" as a number and "a;b" as a list of characters: text goes value by value
        return lambda raw: pa.array(raw, t) if all(type(v) is not str for v in raw) else _refuse()
    return None  # decimals (rounded half-even from their text), tags: value by value


def _refuse() -> pa.Array:
    raise TypeError("values given as text")


def _column(ts: TableSchema, col: Column, records: list[dict[str, Any]]) -> pa.Array:
    if col.part in ("id", "name", "module"):
        get = _lookup_getter(col)
        return pa.array([get(r) for r in records], type=col.arrow)
    key = col.field
    return column_from_values(ts, col, [r.get(key) for r in records])


def column_from_values(ts: TableSchema, col: Column, raw: list[Any]) -> pa.Array:
    """One column from its JSON values (a field's own values, not a lookup's parts)."""
    whole = _whole(col.arrow) if col.value_type != "tag" else None
    if whole is not None and "" not in raw:  # Zoho's empty value; the value-by-value path makes it null
        try:
            return whole(raw)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
                OverflowError):
            pass  # not all as Arrow takes them: value by value below, with its own rules and errors
    conv = value_converter(col)
    try:
        values = [conv(v) for v in raw]
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise ConversionError(f"{ts.module}.{col.field}: cannot read a value as {col.arrow}: {exc}") from None
    return pa.array(values, type=col.arrow)


def lookup_part(values: pa.StructArray, part: str) -> pa.Array:
    """A lookup's ``id`` or ``name`` from its ``{"id", "name"}`` values as Arrow holds them (null where the
    lookup is), as :func:`_lookup_getter` takes them from dicts."""
    return values.flatten()[values.type.get_field_index(part)]


def records_to_batch(ts: TableSchema, columns: list[str], records: list[dict[str, Any]]) -> pa.RecordBatch:
    """Convert API records (list/search/COQL shape) to a batch with exactly ``columns``."""
    arrays = [_column(ts, ts.by_name[name], records) for name in columns]
    fields = [pa.field(name, ts.by_name[name].arrow) for name in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
