"""Ground truth for reader tests: the emulator's export, converted with the schema converter.

``expected_table`` runs the export JSON (``/__emulator/export/{Module}``, every
record in the API's own shape) through the same ``records_to_batch`` the JSON
readers use, so a reader is right when its rows equal these, value for value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connector.readers.base import resolve_columns
from connector.schema.convert import records_to_batch
from connector.schema.types import TableSchema

#: formula columns computed from "now" (Days_Open) may move by one step between the export and the read
TIME_DEPENDENT_TOLERANCE = 0.011


def api_shape(record: dict[str, Any]) -> dict[str, Any]:
    """An export record as the API sends it: file entries without the export's ground-truth ``$sha256``."""
    out = dict(record)
    for key, value in record.items():
        if isinstance(value, list) and any(isinstance(v, dict) and "$sha256" in v for v in value):
            out[key] = [{k: x for k, x in v.items() if k != "$sha256"} if isinstance(v, dict) else v for v in value]
    return out


def expected_table(export_records: list[dict[str, Any]], table_schema: TableSchema,
                   columns: list[str] | None = None) -> pa.Table:
    cols = resolve_columns(table_schema, columns)
    batch = records_to_batch(table_schema, cols, [api_shape(r) for r in export_records])
    return pa.Table.from_batches([batch], schema=table_schema.select(cols))


def read_table(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """Collect a reader's batches, checking each one has exactly the catalog schema."""
    out = []
    for b in batches:
        assert b.schema == schema, f"batch schema differs:\n{b.schema}\n!=\n{schema}"
        out.append(b)
    return pa.Table.from_batches(out, schema=schema)


def where(table: pa.Table, predicate: str) -> pa.Table:
    """Re-apply a SQL predicate in DuckDB, as the engine does after any pushdown."""
    con = duckdb.connect()
    try:
        con.register("t", table)
        got = con.sql(f"SELECT * FROM t WHERE {predicate}").to_arrow_table()
    finally:
        con.close()
    return got.cast(table.schema)


def volatile_columns(ts: TableSchema) -> set[str]:
    return {c.name for c in ts.columns
            if pa.types.is_floating(c.arrow) and (f := ts.fields.get(c.field)) is not None
            and f.data_type == "formula"}


def assert_same_rows(got: pa.Table, want: pa.Table, *, tolerant: set[str] = frozenset(),  # type: ignore[assignment]
                     label: str = "") -> None:
    """Same schema, same ids (no duplicates), and equal values column by column (sorted by id)."""
    assert got.schema == want.schema, f"{label}: schema differs"
    ids = got.column("id")
    assert pc.count_distinct(ids).as_py() == got.num_rows, f"{label}: duplicate ids"
    got_ids, want_ids = set(ids.to_pylist()), set(want.column("id").to_pylist())
    assert got_ids == want_ids, (f"{label}: {len(want_ids - got_ids)} rows missing (e.g. {sorted(want_ids - got_ids)[:3]}), "
                                 f"{len(got_ids - want_ids)} extra (e.g. {sorted(got_ids - want_ids)[:3]})")
    g, w = got.sort_by("id"), want.sort_by("id")
    for name in got.column_names:
        a, b = g.column(name).combine_chunks(), w.column(name).combine_chunks()
        if name in tolerant:
            diff = pc.abs(pc.subtract(a, b))
            ok = pc.and_(pc.is_null(diff), pc.equal(pc.is_null(a), pc.is_null(b)))
            ok = pc.or_kleene(ok, pc.less_equal(diff, TIME_DEPENDENT_TOLERANCE))
            assert pc.all(ok).as_py() is not False, f"{label}: {name} differs beyond {TIME_DEPENDENT_TOLERANCE}"
            continue
        if not a.equals(b):
            al, bl, idl = a.to_pylist(), b.to_pylist(), g.column("id").to_pylist()
            bad = [(idl[i], al[i], bl[i]) for i in range(len(al)) if al[i] != bl[i]][:3]
            raise AssertionError(f"{label}: column {name} differs (id, got, want): {bad}")
