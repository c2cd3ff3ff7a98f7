"""Arrow results as pandas DataFrames, with the dtypes the caller chooses (``dtype_backend``).

Zoho currency fields are exact decimals and date fields are dates; pandas' classic dtypes have
neither, so the default keeps every column Arrow-backed (``pd.ArrowDtype``) and exact. The
parameter has pandas' own name and values (``read_sql``, ``read_csv``...), plus ``"object"``:

=================  ================================================================================
``pyarrow``        (default) every column ``pd.ArrowDtype``: ``decimal128(18, 2)[pyarrow]``,
                   ``date32[day][pyarrow]``, ``timestamp[us, tz=UTC][pyarrow]``, ``int64[pyarrow]``...
                   Exact, NULL is ``pd.NA``.
``numpy_nullable`` pandas' nullable dtypes: ``Int64``, ``Float64`` (decimals too: rounded to a
                   double), ``boolean``, ``string``; timestamps ``datetime64[us, UTC]``, dates
                   ``datetime64[ms]`` (midnight).
``numpy``          NumPy dtypes: ``int64`` (``Int64`` when the column has NULLs, so no integer
                   becomes a float), ``float64`` (decimals too), ``bool``/``object``, timestamps
                   ``datetime64[us, UTC]``, dates ``datetime64[ms]``, text ``object``.
``object``         pyarrow's plain conversion: ``decimal.Decimal`` and ``datetime.date`` objects.
=================  ================================================================================
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import ProgrammingError

DTYPE_BACKENDS = ("pyarrow", "numpy_nullable", "numpy", "object")
DEFAULT_DTYPE_BACKEND = "pyarrow"


def check_dtype_backend(dtype_backend: str) -> str:
    if dtype_backend not in DTYPE_BACKENDS:
        raise ProgrammingError(f"dtype_backend must be one of {', '.join(DTYPE_BACKENDS)}, not {dtype_backend!r}",
                               hint="'pyarrow' keeps decimals and dates exact; 'numpy' gives float64 and "
                                    "datetime64 columns")
    return dtype_backend


def _decimals_as_doubles(table: pa.Table) -> pa.Table:
    """Decimal columns as float64, each the double nearest its decimal (pandas has no decimal dtype).

    Through the exact text: Arrow's direct decimal->double cast is not correctly rounded
    (384642455.03 would become 384642455.03000003), its text->double parse is.
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            doubles = pc.cast(pc.cast(table.column(i), pa.string()), pa.float64())
            table = table.set_column(i, pa.field(field.name, pa.float64(), field.nullable), doubles)
    return table


def to_pandas(table: pa.Table, dtype_backend: str = DEFAULT_DTYPE_BACKEND) -> Any:
    """``table`` as a pandas DataFrame with ``dtype_backend``'s dtypes (see the module docstring)."""
    import pandas as pd

    check_dtype_backend(dtype_backend)
    if dtype_backend == "pyarrow":
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    if dtype_backend == "object":
        return table.to_pandas()
    table = _decimals_as_doubles(table)
    if dtype_backend == "numpy_nullable":
        nullable = {pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
                    pa.float32(): pd.Float32Dtype(), pa.float64(): pd.Float64Dtype()}
        for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64()):
            nullable[t] = pd.Int64Dtype()
        return table.to_pandas(types_mapper=nullable.get, date_as_object=False)
    frame = table.to_pandas(date_as_object=False)
    for i, column in enumerate(table.columns):  # by position: a result may repeat a column name
        if pa.types.is_integer(column.type) and column.null_count:
            frame.isetitem(i, pd.array(column.to_pylist(), dtype="Int64"))  # exact: no int64 -> float64
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            text = frame.iloc[:, i]
            frame.isetitem(i, text.astype(object).where(text.notna(), None))
    return frame
