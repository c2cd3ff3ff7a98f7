"""Estimated result rows of a filter, from the module's row count and textbook selectivities.

The per-API calls and credits those rows cost are the read strategies' business
(:mod:`connector.readers.strategies`); this module only guesses how many rows a
pushed filter selects. The guesses rank APIs and fill EXPLAIN; they are not
promises, and a unique field's equality counts one row per value.
"""

from __future__ import annotations

import math

from connector.schema.types import TableSchema

from .predicates import And, Node, Opaque, Or, Pred

#: fraction of rows a predicate keeps when nothing better is known (textbook defaults)
SELECTIVITY = {"eq": 0.05, "in": 0.05, "like": 0.1, "ilike": 0.1, "lt": 1 / 3, "le": 1 / 3, "gt": 1 / 3,
               "ge": 1 / 3, "between": 0.25, "is_null": 0.1, "not_null": 0.9, "ne": 0.95, "not_in": 0.9,
               "not_between": 0.75, "not_like": 0.9, "not_ilike": 0.9}


def result_rows(nodes: list[Node], total: int | None, table: TableSchema) -> int | None:
    """Estimated rows an AND of ``nodes`` selects; None when unknown (no total, no point lookup)."""
    if not nodes:
        return total
    est = _rows(And(tuple(nodes)) if len(nodes) > 1 else nodes[0], total, table)
    return None if est is None else max(0, math.ceil(est))


def _point(p: Pred, table: TableSchema) -> int | None:
    """Rows of an equality on a unique key: one per value."""
    if p.op not in ("eq", "in"):
        return None
    f = table.fields.get(p.column.field)
    unique = p.column.name == "id" or (f is not None and f.unique and p.column.part == "value")
    if not unique:
        return None
    return len(p.value) if p.op == "in" else 1


def _rows(node: Node, total: int | None, table: TableSchema) -> float | None:
    if isinstance(node, Pred):
        point = _point(node, table)
        if point is not None:
            return point if total is None else min(point, total)
        if total is None:
            return None
        sel = SELECTIVITY.get(node.op, 1.0)
        if node.op == "eq" and node.column.value_type == "boolean":
            sel = 0.5
        elif node.op in ("in", "not_in"):
            sel = min(1.0, sel * len(node.value)) if node.op == "in" else sel
        return total * sel
    if isinstance(node, Opaque):
        return total
    if isinstance(node, Or):
        parts = [_rows(x, total, table) for x in node.items]
        if any(p is None for p in parts):
            return None
        s = sum(p for p in parts if p is not None)
        return s if total is None else min(total, s)
    if isinstance(node, And):
        parts = [_rows(x, total, table) for x in node.items]
        known = [p for p in parts if p is not None]
        if total is None:
            return min(known) if known else None
        if total == 0:
            return 0
        est = float(total)
        for p in known:
            est *= p / total
        return est
    return total
