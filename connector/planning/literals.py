"""Literals typed for a column the way DuckDB casts them, and values a column can never hold.

``typed_value(column, expression)`` returns None for NULL, ``NEVER`` for a value
the column cannot hold (``id = 'abc'``), a ``Fraction`` for a literal strictly
between two values of a discrete column (``5.5`` for int64, a fractional second
for our whole-second timestamps, ``10.555`` for decimal(18, 2)), or the value as
Python: str, int, Decimal, bool, date, or an aware UTC datetime. It raises
``Unusable`` when the literal cannot be typed safely, and the predicate stays in
DuckDB. Naive timestamp literals are UTC (the engine runs DuckDB with TimeZone=UTC).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import pyarrow as pa
from sqlglot import exp

from connector.schema.types import Column

_INT64 = (-(2**63), 2**63 - 1)
# Beyond this many digits a literal is nothing a Zoho number holds (int64: 19 digits, decimals and
# doubles far less exactly); such literals stay in DuckDB. It also keeps Decimal arithmetic
# (quantize, int()) away from exponents like 1e400 or 1e999999999 that it cannot or should not do.
MAX_DIGITS = 40
_DIGITS = re.compile(r"[0-9]{1,19}")
_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_NUM_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
_T = exp.DataType.Type
_NAIVE_TS = {_T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.DATETIME, _T.TIMESTAMP_S, _T.TIMESTAMP_MS, _T.TIMESTAMP_NS}
_TZ_TS = {_T.TIMESTAMPTZ, _T.TIMESTAMPLTZ}
#: casts of a number that keep it (FLOAT would not: 0.1::FLOAT is not 0.1 as DuckDB compares it with a DOUBLE)
_NUMERIC_CASTS = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.INT128, _T.UTINYINT, _T.USMALLINT, _T.UINT,
                  _T.UBIGINT, _T.DOUBLE, _T.DECIMAL}


class Unusable(Exception):
    """A literal that cannot be typed for the column (the predicate becomes Opaque)."""


class _Never:
    """Marker: a value the column can never equal (dropped from IN lists)."""


NEVER = _Never()


@dataclass(frozen=True, slots=True)
class Fraction:
    """A literal strictly between two values of a discrete column (int64, whole seconds)."""

    floor: Any
    ceil: Any


def _literal(e: exp.Expr) -> tuple[str, Any]:
    """(kind, raw) of a constant: kinds str, num, bool, null, date, ts, tstz."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Null):
        return "null", None
    if isinstance(e, exp.Boolean):
        return "bool", bool(e.this)
    if isinstance(e, exp.Neg):
        kind, raw = _literal(e.this)
        if kind != "num":
            raise Unusable("not a constant")
        return "num", -raw
    if isinstance(e, exp.Literal):
        if e.is_string:
            return "str", e.this
        try:
            return "num", _bounded(Decimal(str(e.this)))
        except InvalidOperation:
            raise Unusable("not a number") from None
    if isinstance(e, (exp.Cast, exp.TryCast)) and isinstance(e.this, (exp.Literal, exp.Null)):
        kind, raw = _literal(e.this)
        if kind == "null":
            return kind, raw
        to = e.to.this
        if to == _T.DATE and kind == "str":
            return "date", raw
        if to in _NAIVE_TS and kind == "str":
            return "ts", raw
        if to in _TZ_TS and kind == "str":
            return "tstz", raw
        if to in exp.DataType.TEXT_TYPES and kind == "str":
            return "str", raw
        if kind in ("num", "str") and to in _NUMERIC_CASTS:
            return "num", _cast_number(e.to, kind, raw)
    raise Unusable("not a constant")


def _cast_number(to: exp.DataType, kind: str, raw: Any) -> Decimal:
    """A number cast to an integer, DOUBLE or DECIMAL(p, s) type, when the cast keeps its value exactly.

    DuckDB writes the constants of the filters it hands a scan source this way (``CAST('1000.00' AS
    DECIMAL(18, 2))``, ``50.0::DOUBLE``); a cast that would round (``'1.5'::INTEGER``, more decimals than the
    scale) is left to DuckDB.
    """
    if kind == "str":
        if not _NUM_TEXT.fullmatch(raw):
            raise Unusable("not a number")
        raw = Decimal(raw.strip())
    value = _bounded(raw)
    if to.this in exp.DataType.INTEGER_TYPES and value != value.to_integral_value():
        raise Unusable("the cast rounds")
    if to.this == _T.DECIMAL:
        params = [p.this for p in to.expressions if isinstance(p, exp.DataTypeParam)]
        scale = int(params[1].this) if len(params) > 1 and isinstance(params[1], exp.Literal) else 3
        if value != value.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN"):
            raise Unusable("the cast rounds")
    return value


def _bounded(value: Decimal) -> Decimal:
    """``value`` when it is a finite number of ordinary size; Unusable otherwise (DuckDB compares it)."""
    if not value.is_finite():
        raise Unusable("not a finite number")
    if value and not -MAX_DIGITS <= value.adjusted() <= MAX_DIGITS:
        raise Unusable("too large or too small to push")
    return value


def typed_value(col: Column, e: exp.Expr) -> Any:
    """The literal typed for ``col``: None for NULL, NEVER, a Fraction, or the value."""
    # Enough digits that quantizing a bounded literal to any column scale is exact (the default 28 is not).
    with localcontext(prec=3 * MAX_DIGITS):
        return _typed_value(col, e)


def _typed_value(col: Column, e: exp.Expr) -> Any:
    kind, raw = _literal(e)
    if kind == "null":
        return None
    t = col.arrow
    if pa.types.is_string(t):
        return _string_value(col, kind, raw)
    if pa.types.is_integer(t):
        return _int_value(kind, raw)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _decimal_value(t, kind, raw)
    if pa.types.is_boolean(t):
        return _bool_value(kind, raw)
    if pa.types.is_date(t):
        if kind in ("str", "date"):
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                raise Unusable("not a date") from None
        raise Unusable("not a date")
    if pa.types.is_timestamp(t):
        return _timestamp_value(kind, raw)
    raise Unusable("column type cannot be filtered")


def _is_id(col: Column) -> bool:
    return col.value_type == "id" or (col.value_type == "lookup" and col.part == "id")


def _string_value(col: Column, kind: str, raw: Any) -> Any:
    if _is_id(col):
        # Zoho ids are 18-19 digit strings; anything else can never match one.
        if kind == "num" and raw == raw.to_integral_value() and raw >= 0:
            raw = str(int(raw))
        elif kind != "str":
            raise Unusable("not an id")
        return raw if _DIGITS.fullmatch(raw) else NEVER
    if kind != "str":
        raise Unusable("not a string")  # DuckDB would cast the column, with its own rules
    return raw


def _int_value(kind: str, raw: Any) -> Any:
    if kind == "str":
        if not _INT_TEXT.fullmatch(raw):
            raise Unusable("not an integer")
        raw = _bounded(Decimal(raw.strip()))
    elif kind == "bool":
        raise Unusable("not an integer")
    elif kind != "num":
        raise Unusable("not a number")
    if not raw.is_finite():
        raise Unusable("not a finite number")
    if raw == raw.to_integral_value():
        v = int(raw)
        if not _INT64[0] <= v <= _INT64[1]:
            raise Unusable("out of the int64 range")
        return v
    return Fraction(math.floor(raw), math.ceil(raw))


def _decimal_value(t: pa.DataType, kind: str, raw: Any) -> Any:
    if kind == "str":
        if not _NUM_TEXT.fullmatch(raw):
            raise Unusable("not a number")
        raw = _bounded(Decimal(raw.strip()))
        # DuckDB casts a string to the column's decimal scale (rounding); keep only exact cases.
        if pa.types.is_decimal(t) and raw != raw.quantize(Decimal(1).scaleb(-t.scale), rounding="ROUND_DOWN"):
            raise Unusable("more decimals than the column")
    elif kind != "num":
        raise Unusable("not a number")
    if not raw.is_finite():
        raise Unusable("not a finite number")
    if pa.types.is_decimal(t) and raw and raw.adjusted() >= t.precision - t.scale:
        raise Unusable("beyond what the column holds")  # DuckDB compares it; no criteria with 1E+30
    if pa.types.is_decimal(t):
        # decimal(18, s) holds steps of 10^-s: a literal between two steps is a _Fraction like 5.5 for ints.
        step = Decimal(1).scaleb(-t.scale)
        low = raw.quantize(step, rounding="ROUND_FLOOR")
        if low != raw:
            return Fraction(low, low + step)
    return Decimal(raw)


def _bool_value(kind: str, raw: Any) -> bool:
    if kind == "bool":
        return bool(raw)
    if kind == "str" and raw.strip().lower() in ("true", "false", "t", "f"):
        return raw.strip().lower() in ("true", "t")
    if kind == "num" and raw in (0, 1):
        return bool(raw)
    raise Unusable("not a boolean")


def _timestamp_value(kind: str, raw: Any) -> Any:
    if kind not in ("str", "date", "ts", "tstz"):
        raise Unusable("not a timestamp")
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise Unusable("not a timestamp") from None
    if kind == "ts" and dt.tzinfo is not None:
        dt = dt.replace(tzinfo=None)  # CAST(... AS TIMESTAMP) ignores an offset in the text
    dt = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
    if dt.microsecond:
        low = dt.replace(microsecond=0)
        return Fraction(low, low + timedelta(seconds=1))
    return dt
