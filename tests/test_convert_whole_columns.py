"""Record JSON to Arrow a whole column at a time answers exactly as value by value.

:func:`connector.schema.convert.records_to_batch` hands a column Arrow in one piece when its values
are already in Arrow's terms and falls back to the per-value converters otherwise; for any mix of
values Zoho might send, the batch (or the error) must be the one the per-value path gives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.errors import ConversionError
from connector.schema.convert import records_to_batch, value_converter
from connector.schema.types import Column, TableSchema

TYPES = {"when": ("datetime", pa.timestamp("s", tz="UTC")), "day": ("date", pa.date32()),
         "text": ("text", pa.string()), "n": ("integer", pa.int64()), "x": ("double", pa.float64()),
         "flag": ("boolean", pa.bool_()), "many": ("multiselectpicklist", pa.list_(pa.string())),
         "money": ("currency", pa.decimal128(18, 2))}


def _schema() -> TableSchema:
    return TableSchema("Leads", {}, [Column(name, name, "value", vt, t) for name, (vt, t) in TYPES.items()])


def by_value(ts: TableSchema, name: str, raw: list[Any]) -> pa.Array | type:
    col = ts.by_name[name]
    conv = value_converter(col)
    try:
        return pa.array([conv(v) for v in raw], type=col.arrow)
    except (ValueError, TypeError, ArithmeticError, pa.ArrowException) as exc:
        return type(exc)


zones = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
ISO = st.one_of(moments.map(lambda d: d.replace(microsecond=0).isoformat()),
                moments.map(lambda d: d.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"),
                moments.map(lambda d: d.isoformat()),  # fractions of a second
                moments.map(lambda d: d.replace(tzinfo=None, microsecond=0).isoformat()))  # no offset
ODD = st.sampled_from(["", "12", "1.5", "true", "a;b", "2024-02-29", "not a date"])
VALUES = {
    "when": st.one_of(st.none(), ISO, ODD),
    "day": st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1)).map(date.isoformat), ISO, ODD),
    "text": st.one_of(st.none(), st.text(max_size=8), st.integers(), st.lists(st.text(max_size=3), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "n": st.one_of(st.none(), st.integers(min_value=-2**62, max_value=2**62), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False, width=32), ODD),
    "x": st.one_of(st.none(), st.floats(allow_nan=False), st.integers(min_value=-2**52, max_value=2**52),
                   st.booleans(), ODD),
    "flag": st.one_of(st.none(), st.booleans(), st.integers(min_value=-2, max_value=2), ODD),
    "many": st.one_of(st.none(), st.lists(st.text(max_size=4), max_size=3), st.lists(st.integers(), max_size=2),
                      ODD),
    "money": st.one_of(st.none(), st.floats(allow_nan=False, min_value=-1e12, max_value=1e12), ODD),
}


@pytest.mark.parametrize("name", list(TYPES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_column_at_once_is_the_column_value_by_value(name: str, data: st.DataObject) -> None:
    ts = _schema()
    raw = data.draw(st.lists(VALUES[name], min_size=1, max_size=6))
    want = by_value(ts, name, raw)
    try:
        got: pa.Array | type = records_to_batch(ts, [name], [{name: v} for v in raw]).column(0)
    except ConversionError:
        got = ValueError
    except (ValueError, TypeError, ArithmeticError, pa.ArrowException) as exc:
        got = type(exc)
    if isinstance(want, type):
        assert isinstance(got, type), (raw, got)
    else:
        assert isinstance(got, pa.Array) and got.equals(want), (raw, got, want)
