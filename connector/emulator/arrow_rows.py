"""Rows of Python values -> an Arrow table DuckDB can read in one statement.

DuckDB's ``executemany`` runs row by row (about 2 ms a row); registering the rows
as an Arrow table and running one ``INSERT ... SELECT`` or ``UPDATE ... FROM``
over it costs milliseconds for a whole batch. The store's ``insert_rows`` and the
write path (:mod:`.writes`) both load rows this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pyarrow as pa

#: the name the rows are registered under while ``sql`` runs (``{rel}`` in the statement)
RELATION = "_write_rows"

_ARROW_TYPES: dict[str, pa.DataType] = {
    "BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"), "VARCHAR[]": pa.list_(pa.string()),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
}


def arrow_type(column_type: str) -> pa.DataType:
    """The Arrow type of a store column type (:func:`.store.column_type`); text for the rest."""
    return _ARROW_TYPES.get(column_type, pa.string())


def _cents(v: Any) -> Decimal | None:
    # Arrow refuses a float for a decimal column, and a Decimal with more places than the scale.
    if v is None:
        return None
    return (v if isinstance(v, Decimal) else Decimal(repr(v))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], types: Mapping[str, str]) -> pa.Table:
    """``rows`` ({column: value}, missing = NULL) as an Arrow table of ``columns`` typed like the store."""
    arrays = []
    for c in columns:
        t = arrow_type(types[c])
        values = [r.get(c) for r in rows]
        arrays.append(pa.array([_cents(v) for v in values] if pa.types.is_decimal(t) else values, t))
    return pa.table(arrays, names=list(columns))


def execute_with_rows(cur: duckdb.DuckDBPyConnection, table: pa.Table, sql: str) -> None:
    """Run ``sql`` with ``{rel}`` naming ``table``.

    The name is found by DuckDB's replacement scan, which reads it from this frame's local
    variable: nothing is registered, so nothing outlives the call. ``register``/``unregister``
    create and drop a view in the catalog, which cost about 1 ms of a 100-row insert.
    """
    _write_rows = table  # noqa: F841  (read by DuckDB's replacement scan, see RELATION)
    cur.execute(sql.format(rel=RELATION))
