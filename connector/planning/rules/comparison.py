"""``<``, ``<=``, ``>``, ``>=``, ``BETWEEN`` and ``NOT BETWEEN`` on numbers, dates and datetimes.

Where a target has no ``between`` for the type (Bulk numbers), the same rows
are asked for with two bounds. An empty range (``BETWEEN 5 AND 1``) is left to
DuckDB rather than sent to Zoho, which may reject it.
"""

from __future__ import annotations

from connector.planning.predicates import Node, Pred

from .base import Pushed, RuleContext, Target, combine, condition

_RANGE = ("lt", "le", "gt", "ge")


def push_comparison(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if not isinstance(node, Pred):
        return None
    if node.op in _RANGE:
        return condition(target, ctx, node.column, node.op, node.value)
    if node.op not in ("between", "not_between"):
        return None
    low, high = node.value
    if low > high:
        return None
    got = condition(target, ctx, node.column, node.op, (low, high))
    if got is not None:
        return got
    if node.op == "between":
        parts = [condition(target, ctx, node.column, "ge", low), condition(target, ctx, node.column, "le", high)]
        joiner = "and"
    else:
        parts = [condition(target, ctx, node.column, "lt", low), condition(target, ctx, node.column, "gt", high)]
        joiner = "or"
    if any(p is None for p in parts):
        return None
    return combine(target, joiner, [p for p in parts if p is not None])
