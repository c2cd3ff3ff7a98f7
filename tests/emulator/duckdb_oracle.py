"""A second, independent oracle: the same filter trees run as SQL in DuckDB over the export.

Issue 3 asks for the emulator's criteria and COQL parsers to be checked against DuckDB on the
same data. Each module's export is loaded into a DuckDB table (one typed column per filterable
field), each tree becomes a SQL WHERE written here from scratch, and the ids DuckDB selects are
compared with what the emulator's Search, COQL and Bulk front ends return.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from tests.emulator.strategies import Tree, norm

SQL_TYPES = {"text": pa.string(), "picklist": pa.string(), "multi": pa.list_(pa.string()),
             "number": pa.decimal128(38, 9), "date": pa.date32(), "datetime": pa.timestamp("s", tz="UTC"),
             "bool": pa.bool_(), "lookup": pa.int64()}


def load(con: duckdb.DuckDBPyConnection, table: str, records: list[dict[str, Any]], fields: dict[str, str]) -> None:
    cols: dict[str, pa.Array] = {"id": pa.array([r["id"] for r in records], pa.string())}
    for name, cat in fields.items():
        values = [norm(cat, r.get(name)) for r in records]
        if cat == "number":
            values = [None if v is None else v.quantize(Decimal("1e-9")) for v in values]
        cols[name] = pa.array(values, SQL_TYPES[cat])
    con.register(f"_{table}_arrow", pa.table(cols))
    con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM "_{table}_arrow"')


def _lit(cat: str, v: Any) -> str:
    x = norm(cat, v)
    if isinstance(x, bool):
        return "TRUE" if x else "FALSE"
    if isinstance(x, Decimal):
        return f"CAST('{x}' AS DECIMAL(38,9))"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, datetime):
        return f"TIMESTAMPTZ '{x.isoformat()}'"
    if isinstance(x, date):
        return f"DATE '{x.isoformat()}'"
    return "'" + str(x).replace("'", "''") + "'"


def to_sql(tree: Tree, fields: dict[str, str], *, ci: bool) -> str:
    """The tree as DuckDB SQL; NULL never satisfies a comparison (coalesce to false)."""
    if tree[0] in ("and", "or"):
        return "(" + f" {tree[0].upper()} ".join(to_sql(t, fields, ci=ci) for t in tree[1]) + ")"
    _, name, op, value = tree
    cat = fields[name]
    col = f'"{name}"'
    if cat == "multi":
        col = f"CASE WHEN len({col}) = 0 THEN NULL ELSE {col} END"
    elif cat in ("text", "picklist"):
        col = f"NULLIF({col}, '')"
    if op == "is_null":
        return f"({col} IS NULL)"
    if op == "not_null":
        return f"({col} IS NOT NULL)"
    fold = ci and cat in ("text", "picklist", "multi")

    def low(expr: str) -> str:
        return f"lower({expr})" if fold else expr

    def eq(v: Any) -> str:
        if cat == "multi":
            return f"list_contains({'list_transform(' + col + ', lambda x: lower(x))' if fold else col}, {low(_lit(cat, v))})"
        return f"{low(col)} = {low(_lit(cat, v))}"

    if op == "eq":
        body = eq(value)
    elif op == "ne":
        body = f"NOT ({eq(value)})"
    elif op == "in":
        body = "(" + " OR ".join(eq(v) for v in value) + ")"
    elif op == "starts_with":
        body = f"starts_with({low(col)}, {low(_lit(cat, value))})"
    elif op == "between":
        body = f"{col} BETWEEN {_lit(cat, value[0])} AND {_lit(cat, value[1])}"
    else:
        body = f"{col} {dict(lt='<', le='<=', gt='>', ge='>=')[op]} {_lit(cat, value)}"
    return f"({col} IS NOT NULL AND coalesce({body}, false))"


def ids(con: duckdb.DuckDBPyConnection, table: str, tree: Tree, fields: dict[str, str], *, ci: bool) -> set[str]:
    rows = con.execute(f'SELECT id FROM "{table}" WHERE {to_sql(tree, fields, ci=ci)}').fetchall()
    return {r[0] for r in rows}
