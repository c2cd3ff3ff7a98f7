"""``col IN (...)`` / ``NOT IN``: Zoho takes at most 100 values per ``in``.

Longer lists are split into chunks of 100: ``IN`` becomes an OR of chunks,
``NOT IN`` an AND of them (the same rows). Each chunk is one condition, so a
long list may still not fit a target's condition budget; the caller then drops
the whole conjunct, which only widens the result.
"""

from __future__ import annotations

from connector.planning.predicates import Node, Pred
from connector.readers.dialects import dialect_for

from .base import Pushed, RuleContext, Target, combine, condition


def push_in_list(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if not isinstance(node, Pred) or node.op not in ("in", "not_in"):
        return None
    values = list(node.value)
    step = dialect_for(target).max_in_values
    parts: list[Pushed] = []
    for i in range(0, len(values), step):
        chunk = values[i:i + step]
        if len(chunk) == 1:
            got = condition(target, ctx, node.column, "eq" if node.op == "in" else "ne", chunk[0])
        else:
            got = condition(target, ctx, node.column, node.op, tuple(chunk))
        if got is None:
            return None
        parts.append(got)
    return combine(target, "or" if node.op == "in" else "and", parts)
