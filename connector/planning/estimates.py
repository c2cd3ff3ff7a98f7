"""How many rows a pushed filter selects: bounds from what is known, and a guess inside them.

What is known, from the cheapest to the dearest (:mod:`.statistics`):

* the filter alone: an equality on ``id`` or a unique field selects at most one
  row per value;
* the module's record count: no filter selects more;
* a field's group counts (a histogram, when the cache holds one): the rows of
  ``=``, ``IN``, ``IS NULL``, ``IS NOT NULL`` on that field, exactly when every
  value was listed;
* the count of the whole WHERE: exact (the planner looks that one up itself).

An AND selects at most what its most selective conjunct does. The bounds are
what the API choice reasons over (:mod:`.choice`); the guess inside them —
the product of the conjuncts' shares, textbook shares where nothing is known —
only orders APIs that tie and fills EXPLAIN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from connector.schema.types import TableSchema

from .choice import RowRange
from .predicates import And, Node, Opaque, Or, Pred

#: share of rows a predicate keeps when nothing is known of the column (textbook defaults): a guess, never a bound
SELECTIVITY = {"eq": 0.05, "in": 0.05, "like": 0.1, "ilike": 0.1, "lt": 1 / 3, "le": 1 / 3, "gt": 1 / 3,
               "ge": 1 / 3, "between": 0.25, "is_null": 0.1, "not_null": 0.9, "ne": 0.95, "not_in": 0.9,
               "not_between": 0.75, "not_like": 0.9, "not_ilike": 0.9}

#: (fewest, most) rows one predicate selects from what the cache holds, or None
Known = Callable[[Pred], tuple[int, int] | None]


def result_rows(nodes: list[Node], total: int | None, table: TableSchema, known: Known | None = None) -> int | None:
    """The guess: rows an AND of ``nodes`` selects; None when unknown (no total, no point lookup)."""
    return row_range(nodes, total, table, known).guess


def row_range(nodes: list[Node], total: int | None, table: TableSchema, known: Known | None = None) -> RowRange:
    """Bounds and a guess for the rows an AND of ``nodes`` selects."""
    if not nodes:
        return RowRange.exactly(total)
    high = total
    low = 0
    for node in nodes:
        bound = _bound(node, total, table, known)
        if bound is not None:
            high = bound[1] if high is None else min(high, bound[1])
            if len(nodes) == 1:
                low = bound[0]
    est = _rows(And(tuple(nodes)) if len(nodes) > 1 else nodes[0], total, table, known)
    guess = None if est is None else max(0, math.ceil(est))
    if guess is not None:
        guess = max(low, guess if high is None else min(high, guess))
    elif high is not None and high == low:
        guess = high
    return RowRange(low, high, guess)


def _point(p: Pred, table: TableSchema) -> int | None:
    """Rows of an equality on a unique key: one per value."""
    if p.op not in ("eq", "in"):
        return None
    f = table.fields.get(p.column.field)
    unique = p.column.name == "id" or (f is not None and f.unique and p.column.part == "value")
    if not unique:
        return None
    return len(p.value) if p.op == "in" else 1


def _bound(node: Node, total: int | None, table: TableSchema, known: Known | None) -> tuple[int, int] | None:
    if not isinstance(node, Pred):
        return None
    got = known(node) if known is not None else None
    point = _point(node, table)
    if got is not None and point is not None:
        return got[0], min(got[1], point)
    if point is not None:
        return 0, point if total is None else min(point, total)
    return got


def _rows(node: Node, total: int | None, table: TableSchema, known: Known | None) -> float | None:
    if isinstance(node, Pred):
        bound = _bound(node, total, table, known)
        if bound is not None and (bound[0] == bound[1] or _point(node, table) is not None):
            return bound[1]
        if total is None:
            return None
        sel = SELECTIVITY.get(node.op, 1.0)
        if node.op == "eq" and node.column.value_type == "boolean":
            sel = 0.5
        elif node.op in ("in", "not_in"):
            sel = min(1.0, sel * len(node.value)) if node.op == "in" else sel
        est = total * sel
        return est if bound is None else min(max(est, bound[0]), bound[1])
    if isinstance(node, Opaque):
        return total
    if isinstance(node, Or):
        parts = [_rows(x, total, table, known) for x in node.items]
        if any(p is None for p in parts):
            return None
        s = sum(p for p in parts if p is not None)
        return s if total is None else min(total, s)
    if isinstance(node, And):
        parts = [_rows(x, total, table, known) for x in node.items]
        found = [p for p in parts if p is not None]
        if total is None:
            return min(found) if found else None
        if total == 0:
            return 0
        est = float(total)
        for p in found:
            est *= p / total
        return est
    return total
