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


def records_to_batch(ts: TableSchema, columns: list[str], records: list[dict[str, Any]]) -> pa.RecordBatch:
    """Convert API records (list/search/COQL shape) to a batch with exactly ``columns``."""
    arrays = []
    fields = []
    for name in columns:
        col = ts.by_name[name]
        if col.part in ("id", "name", "module"):
            get = _lookup_getter(col)
            values = [get(r) for r in records]
        else:
            conv = value_converter(col)
            key = col.field
            try:
                values = [conv(r.get(key)) for r in records]
            except (ValueError, TypeError, InvalidOperation) as exc:
                raise ConversionError(f"{ts.module}.{key}: cannot read a value as {col.arrow}: {exc}") from None
        arrays.append(pa.array(values, type=col.arrow))
        fields.append(pa.field(name, col.arrow))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
