"""Spark filters written as SQL: table-driven, and checked against Spark's own semantics on sample rows.

No JVM here: pyspark's filter classes are plain Python objects. Each rendered
condition is evaluated by DuckDB over rows with NULLs and awkward strings, and
must select exactly the rows a Python oracle of Spark's three-valued logic
selects — also under NOT, where NULL handling differs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql.datasource import (
    EqualNullSafe,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNotNull,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    StringContains,
    StringEndsWith,
    StringStartsWith,
)

from connector.spark.filters import condition, literal, where_clause

A = ("a",)

CASES: list[tuple[Any, str | None]] = [
    (EqualTo(A, "x'y"), "\"a\" = 'x''y'"),
    (EqualNullSafe(A, None), '"a" IS NULL'),
    (EqualNullSafe(A, 3), '"a" IS NOT DISTINCT FROM 3'),
    (GreaterThan(A, 1.5), '"a" > 1.5'),
    (LessThanOrEqual(A, Decimal("10.25")), '"a" <= 10.25'),
    (GreaterThanOrEqual(A, dt.date(2026, 1, 2)), "\"a\" >= DATE '2026-01-02'"),
    (LessThan(A, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
     "\"a\" < TIMESTAMP '2026-01-01 21:34:05'"),
    (LessThan(A, dt.datetime(2026, 1, 2)), None),  # a wall-clock time: Spark keeps it
    (EqualTo(A, True), '"a" = TRUE'),
    (In(A, ("p", "q")), "\"a\" IN ('p', 'q')"),
    (In(A, ("p", None)), None),  # NOT IN with a NULL is unknown everywhere
    (In(A, ()), None),
    (IsNull(A), '"a" IS NULL'),
    (IsNotNull(A), '"a" IS NOT NULL'),
    (Not(EqualTo(A, 1)), 'NOT ("a" = 1)'),
    (Not(GreaterThan(A, None)), None),
    (StringStartsWith(A, "50%_x\\"), "\"a\" LIKE '50\\%\\_x\\\\%' ESCAPE '\\'"),
    (StringEndsWith(A, "o'k"), "\"a\" LIKE '%o''k' ESCAPE '\\'"),
    (StringContains(A, "mid"), "\"a\" LIKE '%mid%' ESCAPE '\\'"),
    (EqualTo(("s", "f"), 1), None),  # a nested field
    (EqualTo(A, float("nan")), None),
    (EqualTo(A, object()), None),
    (EqualTo(('we"ird',), 1), '"we""ird" = 1'),
]


@pytest.mark.parametrize("f, sql", CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_each_filter_kind_has_its_sql(f: Any, sql: str | None) -> None:
    assert condition(f) == sql


def test_where_clause_keeps_what_has_no_sql() -> None:
    nested = IsNull(("s", "f"))
    where, kept = where_clause([EqualTo(A, 1), nested, IsNotNull(A)])
    assert where == '("a" = 1) AND ("a" IS NOT NULL)' and kept == [nested]


def spark_holds(f: Any, v: Any) -> bool | None:
    """Spark's three-valued answer for one filter on one value (None: unknown)."""
    kind = type(f).__name__
    if kind == "Not":
        inner = spark_holds(f.child, v)
        return None if inner is None else not inner
    if kind == "IsNull":
        return v is None
    if kind == "IsNotNull":
        return v is not None
    if kind == "EqualNullSafe":
        return v == f.value if v is not None and f.value is not None else (v is None and f.value is None)
    if v is None:
        return None
    ops = {"EqualTo": lambda a, b: a == b, "GreaterThan": lambda a, b: a > b, "LessThan": lambda a, b: a < b,
           "GreaterThanOrEqual": lambda a, b: a >= b, "LessThanOrEqual": lambda a, b: a <= b,
           "StringStartsWith": lambda a, b: a.startswith(b), "StringEndsWith": lambda a, b: a.endswith(b),
           "StringContains": lambda a, b: b in a, "In": lambda a, b: a in b}
    return bool(ops[kind](v, f.value))


TEXT = st.text(alphabet="ab%_\\' ", max_size=4)
LEAF = st.one_of(
    st.builds(EqualTo, st.just(A), TEXT), st.builds(EqualNullSafe, st.just(A), st.one_of(st.none(), TEXT)),
    st.builds(GreaterThan, st.just(A), TEXT), st.builds(LessThanOrEqual, st.just(A), TEXT),
    st.builds(In, st.just(A), st.lists(TEXT, min_size=1, max_size=3).map(tuple)),
    st.builds(IsNull, st.just(A)), st.builds(IsNotNull, st.just(A)),
    st.builds(StringStartsWith, st.just(A), TEXT), st.builds(StringEndsWith, st.just(A), TEXT),
    st.builds(StringContains, st.just(A), TEXT))
FILTER = st.one_of(LEAF, LEAF.map(Not), LEAF.map(Not).map(Not))


@given(FILTER, st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=8))
def test_duckdb_selects_what_spark_selects(f: Any, values: list[str | None]) -> None:
    sql = condition(f)
    if sql is None:
        return
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INTEGER, a VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        got = sorted(r[0] for r in con.execute(f"SELECT i FROM t WHERE {sql}").fetchall())
    finally:
        con.close()
    assert got == [i for i, v in enumerate(values) if spark_holds(f, v) is True], sql


@pytest.mark.parametrize("value", [0, -3, 2.5, Decimal("1.10"), "", "a'b", dt.date(1999, 12, 31), False])
def test_literals_read_back_as_the_same_value(value: Any) -> None:
    text = literal(value)
    assert text is not None
    assert duckdb.execute(f"SELECT {text}").fetchall() == [(value,)]
