"""Spark's pushed filters as SQL conditions the planner reads (pure functions, no Spark import needed).

Spark hands a data source the conjuncts of a scan's WHERE as small objects
(``EqualTo(("Lead_Source",), "Web")``, ``Not(IsNull(...))``...). Each one is
written here as a DuckDB/sqlglot condition over the module's columns, so the
planner that already decides every SQL read decides this one too: which API,
what Zoho is asked for, and whether Zoho's answer is exactly the filter's
(see :mod:`connector.spark.source`). A filter that has no faithful SQL form
(a nested column, a value of a type we do not render) is None: Spark keeps it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

#: the names Spark's filter classes have (pyspark.sql.datasource), mapped to SQL comparison operators
COMPARISONS = {"EqualTo": "=", "EqualNullSafe": "=", "GreaterThan": ">", "GreaterThanOrEqual": ">=",
               "LessThan": "<", "LessThanOrEqual": "<="}
LIKES = {"StringStartsWith": ("", "%"), "StringEndsWith": ("%", ""), "StringContains": ("%", "%")}


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str | None:
    """``value`` as a SQL literal DuckDB reads back to the same value, or None when we do not render it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return None  # a wall-clock time in Spark's session zone: which instant it is, Spark knows, not us
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{utc.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return None


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _column(attribute: Any) -> str | None:
    if isinstance(attribute, tuple) and len(attribute) == 1 and isinstance(attribute[0], str):
        return quote_name(attribute[0])
    return None  # a nested field (struct.member): not a Zoho column


def condition(f: Any) -> str | None:
    """One Spark filter as a SQL condition, or None when it has no faithful SQL form here."""
    kind = type(f).__name__
    if kind == "Not":
        inner = condition(f.child)
        return f"NOT ({inner})" if inner is not None else None
    col = _column(getattr(f, "attribute", None))
    if col is None:
        return None
    if kind in ("IsNull", "IsNotNull"):
        return f"{col} IS {'NOT ' if kind == 'IsNotNull' else ''}NULL"
    if kind in COMPARISONS:
        if f.value is None:
            # `<=> NULL` is IS NULL; any other comparison with NULL is unknown, which NOT keeps unknown: Spark's
            return f"{col} IS NULL" if kind == "EqualNullSafe" else None
        lit = literal(f.value)
        if lit is None:
            return None
        if kind == "EqualNullSafe":
            return f"{col} IS NOT DISTINCT FROM {lit}"  # NOT of it holds for NULL, unlike NOT of =
        return f"{col} {COMPARISONS[kind]} {lit}"
    if kind == "In":
        # a NULL in the list makes NOT IN unknown for every row, and an empty list is Spark's own business
        lits = [literal(v) if v is not None else None for v in f.value]
        if not lits or any(lit is None for lit in lits):
            return None
        return f"{col} IN ({', '.join(str(lit) for lit in lits)})"
    if kind in LIKES and isinstance(f.value, str):
        before, after = LIKES[kind]
        pattern = before + _like_escaped(f.value) + after
        return f"{col} LIKE '{pattern.replace(chr(39), chr(39) * 2)}' ESCAPE '\\'"
    return None


def where_clause(filters: list[Any]) -> tuple[str, list[Any]]:
    """The conjunction of the filters that have a SQL form, and the filters that do not (Spark's to apply)."""
    parts: list[str] = []
    kept: list[Any] = []
    for f in filters:
        text = condition(f)
        if text is None:
            kept.append(f)
        else:
            parts.append(f"({text})")
    return " AND ".join(parts), kept
