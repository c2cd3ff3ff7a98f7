"""``IS NULL`` / ``IS NOT NULL``: COQL ``is null``, Bulk ``equal ${EMPTY}``; Search has no null test.

``IS NOT NULL`` on text is never pushed (see base.CAPABILITIES): Zoho calls an
empty string empty, SQL does not.
"""

from __future__ import annotations

from connector.planning.predicates import Node, Pred

from .base import Pushed, RuleContext, Target, condition


def push_is_null(node: Node, target: Target, ctx: RuleContext) -> Pushed | None:
    if not isinstance(node, Pred) or node.op not in ("is_null", "not_null"):
        return None
    return condition(target, ctx, node.column, node.op)
