"""AND/OR trees (the predicates are already in negation normal form).

* AND: push the children that can be pushed and drop the rest. The rows of
  ``a AND b`` are a subset of the rows of ``a``, so the pushed filter selects a
  superset; it is exact only when every child was pushed exactly.
* OR: all or nothing. Dropping a branch of ``a OR b`` would lose the rows only
  ``b`` selects, so one unpushable branch makes the whole OR unpushable.
"""

from __future__ import annotations

from dataclasses import replace

from connector.planning.predicates import And, Node, Or

from .base import Pushed, RuleContext, Target, combine


def push_boolean(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if isinstance(node, And):
        parts = [p for p in (ctx.render(x, target) for x in node.items) if p is not None]
        if not parts:
            return None
        got = combine(target, "and", parts)
        return got if len(parts) == len(node.items) else replace(got, exact=False)
    if isinstance(node, Or):
        branches: list[Pushed] = []
        for x in node.items:
            p = ctx.render(x, target)
            if p is None:
                return None
            branches.append(p)
        return combine(target, "or", branches)
    return None
