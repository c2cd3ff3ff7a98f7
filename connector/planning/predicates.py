"""A small filter AST built from sqlglot expressions, typed by the table's columns.

The pushdown rules never look at sqlglot: they see ``Pred(column, op, value)``
leaves under ``And``/``Or`` and ``Opaque`` for everything they must leave to
DuckDB. The builder does the semantic work once:

* NOT is pushed down to the leaves (negation normal form). De Morgan and
  ``NOT (a = 1)`` -> ``a <> 1`` hold in SQL's three-valued logic, so the rows a
  node selects (where it is TRUE) never change; afterwards dropping an
  unpushable conjunct can only widen the result, which is the safety property
  every rule relies on.
* Literals are typed by the column the way DuckDB would cast them, and values a
  column can never hold are resolved here: ``Employees > 5.5`` is
  ``Employees >= 6`` (int64), a datetime with a fraction is rounded to whole
  seconds (Zoho and our Arrow type keep seconds), ids must be digits.
* A comparison with NULL is never TRUE, so it is Opaque (never pushed); NULLs
  inside a positive IN list are dropped (they cannot select a row), and a NOT IN
  list containing NULL selects nothing, so it stays Opaque.
* Naive timestamp literals are UTC (the engine runs DuckDB with TimeZone=UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from connector.schema.types import Column

from .literals import NEVER, Fraction, Unusable, typed_value

#: op -> its negation (three-valued-logic safe)
NEGATE = {
    "eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "in": "not_in", "not_in": "in",
    "between": "not_between", "not_between": "between", "is_null": "not_null", "not_null": "is_null",
    "like": "not_like", "not_like": "like", "ilike": "not_ilike", "not_ilike": "ilike",
}
_FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}
_CMP: dict[type[exp.Expr], str] = {exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.LTE: "le", exp.GT: "gt", exp.GTE: "ge"}


@dataclass(frozen=True, slots=True)
class Pred:
    """``column <op> value``; value is a tuple for in/not_in/between, a LIKE pattern for like ops."""

    column: Column
    op: str
    value: Any = None
    escape: str | None = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Only ever seen before normalisation; the builder emits negation normal form."""

    item: Node


@dataclass(frozen=True, slots=True)
class Opaque:
    """Something no rule may push (DuckDB still evaluates it)."""

    sql: str
    reason: str = ""
    #: it is never TRUE for any row (``id = 'abc'``, ``x = NULL``): an AND holding it selects nothing
    never: bool = False


Node = Pred | And | Or | Not | Opaque
#: maps a column reference to the table's column, or None when it belongs elsewhere
Binder = Callable[[exp.Column], Column | None]


def build(expr: exp.Expr, bind: Binder) -> Node:
    """The normalised filter node for one WHERE/ON expression."""
    return _build(expr, bind, False)


def conjuncts(node: Node) -> list[Node]:
    return list(node.items) if isinstance(node, And) else [node]


def _opaque(expr: exp.Expr, reason: str, *, never: bool = False) -> Opaque:
    return Opaque(expr.sql(dialect="duckdb"), reason, never)


def _build(e: exp.Expr, bind: Binder, neg: bool) -> Node:
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Not):
        return _build(e.this, bind, not neg)
    if isinstance(e, (exp.And, exp.Or)):
        parts = [_build(x, bind, neg) for x in e.flatten()]
        is_and = isinstance(e, exp.And) != neg  # De Morgan
        return _flatten(And if is_and else Or, parts)
    try:
        node = _leaf(e, bind, neg)
    except Unusable as why:
        return _opaque(e, str(why) or "value cannot be typed for the column")
    return node if node is not None else _opaque(e, "not a pushable predicate")


def _flatten(kind: type[And] | type[Or], parts: list[Node]) -> Node:
    items: list[Node] = []
    for p in parts:
        items.extend(p.items if isinstance(p, kind) else (p,))
    return items[0] if len(items) == 1 else kind(tuple(items))


def _leaf(e: exp.Expr, bind: Binder, neg: bool) -> Node | None:
    if type(e) in _CMP:
        return _comparison(e, _CMP[type(e)], bind, neg)
    if isinstance(e, exp.In):
        return _in(e, bind, neg)
    if isinstance(e, exp.Between):
        col = _column(e.this, bind)
        if col is None:
            return None
        low, high = typed_value(col, e.args["low"]), typed_value(col, e.args["high"])
        if low is None or high is None:
            return _opaque(e, "BETWEEN with NULL", never=not neg)  # its negation may hold: x > high
        return _between(col, low, high, neg)
    if isinstance(e, exp.Is):
        col = _column(e.this, bind)
        if col is None:
            return None
        rhs = e.expression
        if isinstance(rhs, exp.Null):
            return Pred(col, "not_null" if neg else "is_null")
        if isinstance(rhs, exp.Boolean) and pa.types.is_boolean(col.arrow) and not neg:
            # IS TRUE selects the same rows as = TRUE; its negation also keeps NULLs, so only positive.
            return Pred(col, "eq", bool(rhs.this))
        return None
    if isinstance(e, exp.Escape) and isinstance(e.this, (exp.Like, exp.ILike)):
        esc = e.expression
        if not (isinstance(esc, exp.Literal) and esc.is_string and len(esc.this) == 1):
            return None
        return _like(e.this, bind, neg, esc.this)
    if isinstance(e, (exp.Like, exp.ILike)):
        return _like(e, bind, neg, None)
    if isinstance(e, exp.Column):
        col = _column(e, bind)
        if col is not None and pa.types.is_boolean(col.arrow):
            return Pred(col, "eq", not neg)  # a bare boolean column; NOT flag is flag = false
    return None


def _column(e: exp.Expr, bind: Binder) -> Column | None:
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Column) and not isinstance(e.this, exp.Star):
        return bind(e)
    return None


def _comparison(e: exp.Expr, op: str, bind: Binder, neg: bool) -> Node | None:
    col, other = _column(e.this, bind), e.expression
    if col is None:
        col, other, op = _column(e.expression, bind), e.this, _FLIP[op]
        if col is None:
            return None
    if _column(other, bind) is not None or isinstance(other, exp.Column):
        return None  # column-to-column comparisons stay in DuckDB
    value = typed_value(col, other)
    if value is None:
        return _opaque(e, "comparison with NULL is never true", never=True)
    if neg:
        op = NEGATE[op]
    return _compare(col, op, value, e)


def _compare(col: Column, op: str, value: Any, e: exp.Expr) -> Node:
    if value is NEVER:
        # `id = 'abc'` selects nothing and `<>` every row; orderings of such strings stay in DuckDB.
        if op == "ne":
            return Pred(col, "not_null")
        return _opaque(e, "the column can never hold this value", never=op == "eq")
    if pa.types.is_boolean(col.arrow) and op == "ne":
        return Pred(col, "eq", not value)  # same rows: NULL <> x and NULL = y are both unknown
    if isinstance(value, Fraction):
        # A value between two representable ones: strict and non-strict bounds coincide.
        if op in ("eq", "ne"):
            return _opaque(e, "the column can never equal this value", never=True) if op == "eq" \
                else Pred(col, "not_null")
        return Pred(col, "ge", value.ceil) if op in ("gt", "ge") else Pred(col, "le", value.floor)
    return Pred(col, op, value)


def _in(e: exp.In, bind: Binder, neg: bool) -> Node | None:
    col = _column(e.this, bind)
    if col is None or e.args.get("query") is not None or e.args.get("unnest") is not None:
        return None
    raw = [typed_value(col, x) for x in e.expressions]
    if neg and any(v is None for v in raw):
        return _opaque(e, "NOT IN with a NULL selects no row", never=True)
    values: list[Any] = []
    for v in raw:
        if v is None or v is NEVER or isinstance(v, Fraction) or v in values:
            continue  # NULLs and impossible values cannot select a row
        values.append(v)
    if not values:
        return Pred(col, "not_null") if neg else _opaque(e, "IN list that can select no row", never=True)
    if len(values) == 1:
        return Pred(col, "ne" if neg else "eq", values[0])
    return Pred(col, "not_in" if neg else "in", tuple(values))


def _between(col: Column, low: Any, high: Any, neg: bool) -> Node | None:
    if low is NEVER or high is NEVER:
        return None
    lo = low.ceil if isinstance(low, Fraction) else low
    hi = high.floor if isinstance(high, Fraction) else high
    return Pred(col, "not_between" if neg else "between", (lo, hi))


def _like(e: exp.Like | exp.ILike, bind: Binder, neg: bool, escape: str | None) -> Node | None:
    col = _column(e.this, bind)
    pat = e.expression
    if col is None or not pa.types.is_string(col.arrow):
        return None
    if not (isinstance(pat, exp.Literal) and pat.is_string):
        return None
    op = "ilike" if isinstance(e, exp.ILike) else "like"
    if e.args.get("negate"):  # newer sqlglot keeps NOT LIKE on the node itself
        neg = not neg
    return Pred(col, NEGATE[op] if neg else op, pat.this, escape)
