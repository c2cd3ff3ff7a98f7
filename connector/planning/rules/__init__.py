"""Pushdown rules, one pure function per module, applied in the order of ``RULES``.

Each rule takes a filter node (connector.planning.predicates), a target (Search,
COQL, Bulk) and a context, and returns the condition rendered by the target's
dialect (connector.readers.dialects), or None. The first rule that answers
wins. ``push_filter`` applies them to a WHERE clause's conjuncts under the
dialect's condition and join budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connector.planning.predicates import Node
from connector.readers.dialects import dialect_for
from connector.schema.types import TableSchema

from .base import KNOWN_DISPLAY_FIELDS, Pushed, Rule, RuleContext, Target, combine
from .boolean import push_boolean
from .comparison import push_comparison
from .equals import push_equals
from .in_list import push_in_list
from .is_null import push_is_null
from .modified_since import ModifiedSince, push_modified_since
from .starts_with import push_starts_with

RULES: tuple[Rule, ...] = (push_boolean, push_is_null, push_equals, push_starts_with, push_in_list,
                           push_comparison)


def make_context(table: TableSchema, display_field: Callable[[str], str | None] | None = None) -> RuleContext:
    def lookup(module: str) -> str | None:
        known = display_field(module) if display_field is not None else None
        return known or KNOWN_DISPLAY_FIELDS.get(module)

    return RuleContext(table, RULES, lookup)


@dataclass(frozen=True)
class FilterPushdown:
    """A WHERE clause's conjuncts rendered for one target."""

    target: Target
    value: Any  # Search criteria / COQL WHERE text / Bulk criteria dict; None when nothing was pushed
    exact: bool  # the pushed filter selects exactly the rows of all the conjuncts
    conditions: int
    pushed: tuple[bool, ...]  # per conjunct: was it pushed at all
    exact_units: tuple[bool, ...]  # per conjunct: was it pushed exactly


def push_filter(units: Sequence[Node], target: Target, ctx: RuleContext, budget: int | None = None
                ) -> FilterPushdown:
    """AND of the pushable conjuncts, in order, while they fit the target's limits.

    Conjuncts that cannot be pushed, or that no longer fit (15 Search
    conditions, 25 COQL/Bulk conditions, 5 COQL lookup joins; ``budget`` when the
    reader needs room for conditions of its own), are dropped: an AND with
    fewer terms selects a superset, which DuckDB then narrows.
    """
    dialect = dialect_for(target)
    budget = dialect.max_conditions if budget is None else min(budget, dialect.max_conditions)
    parts: list[Pushed] = []
    pushed: list[bool] = []
    exact_units: list[bool] = []
    used, joins = 0, frozenset[str]()
    for unit in units:
        got = ctx.render(unit, target)
        fits = got is not None and used + got.conditions <= budget and len(joins | got.joins) <= dialect.max_joins
        if got is None or not fits:
            pushed.append(False)
            exact_units.append(False)
            continue
        parts.append(got)
        used += got.conditions
        joins = joins | got.joins
        pushed.append(True)
        exact_units.append(got.exact)
    if not parts:
        return FilterPushdown(target, None, not units, 0, tuple(pushed), tuple(exact_units))
    got = combine(target, "and", parts)
    return FilterPushdown(target, got.value, all(exact_units), used, tuple(pushed), tuple(exact_units))


__all__ = ["RULES", "FilterPushdown", "ModifiedSince", "Pushed", "RuleContext", "Target", "make_context",
           "push_filter", "push_modified_since"]
