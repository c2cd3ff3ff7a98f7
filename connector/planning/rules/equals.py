"""``col = v`` and ``col <> v`` (the latter only where a negation is safe: numbers, dates, ids).

Search ``(F:equals:v)``, COQL ``F = v``, Bulk ``equal``. Lookups are compared by
id through their ``<F>_Id`` column; ``<F>_Name`` goes to COQL as
``F.<display field>`` when the target module's display field is known.
"""

from __future__ import annotations

from connector.planning.predicates import Node, Pred

from .base import Pushed, RuleContext, Target, condition


def push_equals(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if not isinstance(node, Pred) or node.op not in ("eq", "ne"):
        return None
    return condition(target, ctx, node.column, node.op, node.value)
