"""What every pushdown rule shares: which columns a target can filter, and one condition on one column.

A rule decides *which* condition a predicate becomes; how that condition is
spelled for the Search API, a COQL WHERE or a Bulk Read criteria object is the
target's dialect (:mod:`connector.readers.dialects`, one generator each), which
also declares the operators it accepts per column kind and its limits.

Safety lives in three places:

* the dialects' ``capabilities`` never list a negation (``ne``, ``not_in``) for
  text-like kinds: Zoho compares text case-insensitively, so a pushed
  ``<> 'x'`` would drop rows where SQL keeps ``'X'``; nor ``not_null`` on text,
  because Zoho treats an empty string as empty (null) while SQL keeps ``''``;
* ``column_kind`` here refuses what a target cannot filter: textarea, JSON and
  multi-select columns, fields with ``searchable=False``, formula and rollup
  fields where the dialect does not filter them, polymorphic lookups;
* the dialects' ``exact`` says when a target's answer equals SQL's: numbers,
  dates, datetimes and ids, never text, never a negation Zoho may answer with
  NULLs included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connector.readers.dialects import TEXT_KINDS, Pushed, Target, dialect_for
from connector.schema.types import Column, TableSchema

if TYPE_CHECKING:
    from connector.planning.predicates import Node

#: display fields of modules the catalog does not list (COQL ``Owner.full_name``)
KNOWN_DISPLAY_FIELDS = {"Users": "full_name"}

_NUMBER_TYPES = frozenset({"integer", "bigint", "double", "percent", "currency", "decimal"})
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})

Rule = Callable[["Node", Target, "RuleContext"], Pushed | None]


@dataclass(frozen=True)
class RuleContext:
    table: TableSchema
    rules: tuple[Rule, ...] = ()
    #: display field api_name of a lookup's target module, None when unknown
    display_field: Callable[[str], str | None] = KNOWN_DISPLAY_FIELDS.get

    def render(self, node: Node, target: Target) -> Pushed | None:
        """The first rule that can push ``node`` to ``target`` wins (None: not pushable)."""
        for rule in self.rules:
            got = rule(node, target, self)
            if got is not None:
                return got
        return None


def column_kind(col: Column, target: Target, ctx: RuleContext) -> str | None:
    """How ``target`` can filter this column, or None when it cannot."""
    if col.value_type == "id":
        return "id"
    f = ctx.table.fields.get(col.field)
    if f is None or not f.searchable:
        return None
    if f.data_type in ("formula", "rollup_summary") and not dialect_for(target).filters_computed:
        return None
    if col.value_type == "lookup":
        if f.data_type not in _LOOKUPS or f.polymorphic:
            return None
        return {"id": "lookup_id", "name": "lookup_name"}.get(col.part)
    vt = col.value_type
    if vt in ("text", "email", "phone", "website"):
        return "text"
    if vt in ("picklist", "autonumber"):
        return "picklist"
    if vt in _NUMBER_TYPES:
        return "number"
    return vt if vt in ("date", "datetime", "boolean") else None


def field_ref(col: Column, kind: str, target: Target, ctx: RuleContext) -> tuple[str, frozenset[str]] | None:
    """The field name the target filters on, and the lookups it follows by dot notation."""
    if kind != "lookup_name":
        return col.field, frozenset()
    f = ctx.table.fields[col.field]
    display = ctx.display_field(f.lookup_module) if f.lookup_module else None
    if not dialect_for(target).max_joins or not display:
        return None  # lookups are matched by id, except through dot notation to a known display field
    return f"{col.field}.{display}", frozenset({col.field})


def condition(target: Target, ctx: RuleContext, col: Column, op: str, value: Any = None) -> Pushed | None:
    """One condition on one column, or None when the target cannot express it exactly or as a superset."""
    dialect = dialect_for(target)
    kind = column_kind(col, target, ctx)
    if kind is None or not dialect.can(kind, op):
        return None
    ref = field_ref(col, kind, target, ctx)
    if ref is None:
        return None
    name, joins = ref
    if op in ("is_null", "not_null"):
        return Pushed(target, dialect.null_check(name, op), 1, dialect.exact(kind, op), joins)
    many = op in ("in", "not_in", "between", "not_between")
    raw = list(value) if many else [value]
    if op in ("in", "not_in") and len(raw) > dialect.max_in_values:
        return None
    vals = [dialect.literal(kind, v) for v in raw]
    if any(v is None for v in vals):
        return None
    if op == "starts_with":
        return Pushed(target, dialect.starts_with(name, vals[0]), 1, False, joins)  # case may be ignored
    return Pushed(target, dialect.compare(name, op, vals, many), 1, dialect.exact(kind, op, value), joins)


def combine(target: Target, op: str, parts: list[Pushed]) -> Pushed:
    """AND/OR several rendered filters in the target's dialect."""
    return dialect_for(target).combine(op, parts)


__all__ = ["KNOWN_DISPLAY_FIELDS", "TEXT_KINDS", "Pushed", "Rule", "RuleContext", "Target", "column_kind",
           "combine", "condition", "field_ref"]
