"""What every pushdown rule shares: the three targets, their syntax, and what each can filter.

A rule decides *which* condition a predicate becomes; this module knows *how*
that condition is spelled for the Search API (``(Field:equals:value)``), for a
COQL WHERE (``Field = 'value'``) and for a Bulk Read criteria object, and
which (column kind, operator) pairs each target accepts
(search-and-coql.md A.3 and B.3, bulk-read.md section 1).

Safety lives in three tables here:

* ``CAPABILITIES`` never lists a negation (``ne``, ``not_in``) for text-like
  kinds: Zoho compares text case-insensitively, so a pushed ``<> 'x'`` would
  drop rows where SQL keeps ``'X'``; nor ``not_null`` on text, because Zoho
  treats an empty string as empty (null) while SQL keeps ``''``.
* ``column_kind`` refuses what a target cannot filter: textarea, JSON and
  multi-select columns, fields with ``searchable=False``, formula and rollup
  fields in Search and Bulk, polymorphic lookups.
* ``is_exact`` says when a target's answer equals SQL's: numbers, dates,
  datetimes and ids, never text (case-insensitive), never a negation that Zoho
  may answer with NULLs included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from connector.schema.types import Column, TableSchema

if TYPE_CHECKING:
    from connector.planning.predicates import Node


class Target(StrEnum):
    SEARCH = "Search"
    COQL = "COQL"
    BULK = "Bulk"


#: conditions per request: Search 15 (v8), COQL WHERE 25, Bulk criteria 25
MAX_CONDITIONS = {Target.SEARCH: 15, Target.COQL: 25, Target.BULK: 25}
#: values in one IN (Search, COQL from v7 on); Bulk's limit is unconfirmed, so the same
MAX_IN_VALUES = 100
#: distinct lookups followed with dot notation in one COQL WHERE
MAX_COQL_JOINS = 5
#: display fields of modules the catalog does not list (COQL ``Owner.full_name``)
KNOWN_DISPLAY_FIELDS = {"Users": "full_name"}

TEXT_KINDS = frozenset({"text", "picklist", "lookup_name"})
_ALL_CMP = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between", "in"})
_COQL_RANGE = _ALL_CMP | {"not_between", "not_in", "is_null", "not_null"}
_BULK_RANGE = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "not_null"})

CAPABILITIES: dict[Target, dict[str, frozenset[str]]] = {
    Target.SEARCH: {
        "text": frozenset({"eq", "in", "starts_with"}),
        "picklist": frozenset({"eq", "in"}),
        "lookup_id": frozenset({"eq", "ne", "in"}),
        "number": _ALL_CMP, "date": _ALL_CMP, "datetime": _ALL_CMP,
        "boolean": frozenset({"eq"}),
    },
    Target.COQL: {
        "id": frozenset({"eq", "ne", "in", "not_in"}),
        "text": frozenset({"eq", "in", "starts_with", "is_null"}),
        "picklist": frozenset({"eq", "in", "starts_with", "is_null"}),
        "lookup_name": frozenset({"eq", "in", "starts_with"}),
        "lookup_id": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
        "number": _COQL_RANGE, "date": _COQL_RANGE, "datetime": _COQL_RANGE,
        "boolean": frozenset({"eq"}),
    },
    Target.BULK: {
        "text": frozenset({"eq", "in", "starts_with", "is_null"}),
        "picklist": frozenset({"eq", "in", "starts_with", "is_null"}),
        "lookup_id": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
        "number": _BULK_RANGE, "date": _BULK_RANGE | {"between", "not_between"},
        "datetime": _BULK_RANGE | {"between", "not_between"},
        "boolean": frozenset({"eq"}),
    },
}

_SEARCH_OP = {"eq": "equals", "ne": "not_equal", "lt": "less_than", "le": "less_equal", "gt": "greater_than",
              "ge": "greater_equal", "between": "between", "in": "in", "starts_with": "starts_with"}
_COQL_OP = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in", "not_in": "not in",
            "between": "between", "not_between": "not between", "starts_with": "like", "is_null": "is null",
            "not_null": "is not null"}
_BULK_OP = {"eq": "equal", "ne": "not_equal", "lt": "less_than", "le": "less_equal", "gt": "greater_than",
            "ge": "greater_equal", "in": "in", "not_in": "not_in", "between": "between",
            "not_between": "not_between", "starts_with": "starts_with", "is_null": "equal", "not_null": "not_equal"}
_NUMBER_TYPES = frozenset({"integer", "bigint", "double", "percent", "currency", "decimal"})
_LOOKUPS = frozenset({"lookup", "ownerlookup", "userlookup"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEARCH_SPECIAL = re.compile(r"([\\(),])")
EMPTY = "${EMPTY}"  # Bulk Read's value for empty/non-empty checks


@dataclass(frozen=True, slots=True)
class Pushed:
    """One rendered filter: Search/COQL text or a Bulk criteria dict."""

    target: Target
    value: Any
    conditions: int
    exact: bool
    joins: frozenset[str] = frozenset()


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
    if target is not Target.COQL and f.data_type in ("formula", "rollup_summary"):
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


def is_exact(kind: str, op: str, value: Any = None) -> bool:
    if kind in TEXT_KINDS:
        return False  # Zoho compares text case-insensitively: a superset of SQL's rows
    if kind == "boolean":
        return value is True  # Zoho may answer `= false` with empty (null) flags too
    if kind == "id":
        return True  # ids are never null and compare exactly
    return op not in ("ne", "not_in", "not_between")  # Zoho may include empty values in negations


def field_ref(col: Column, kind: str, target: Target, ctx: RuleContext) -> tuple[str, frozenset[str]] | None:
    """The field name the target filters on, and the COQL lookups it joins through."""
    if kind != "lookup_name":
        return col.field, frozenset()
    f = ctx.table.fields[col.field]
    display = ctx.display_field(f.lookup_module) if f.lookup_module else None
    if target is not Target.COQL or not display:
        return None  # lookups are matched by id, except COQL's dot notation to a known display field
    return f"{col.field}.{display}", frozenset({col.field})


def _number(v: Any) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


def _text_ok(v: str, target: Target) -> bool:
    # Empty means null to Zoho; padding may be trimmed; control characters break the criteria
    # grammar; COQL documents no backslash handling, so a backslash could change the literal.
    if not v or v != v.strip() or _CONTROL.search(v):
        return False
    return not (target is Target.COQL and "\\" in v)


def format_value(target: Target, kind: str, v: Any) -> Any:
    """The value as the target writes it; None when it cannot be written safely."""
    if kind in ("id", "lookup_id"):
        # Digits only (the predicate builder saw to it); COQL takes them unquoted like the readers do.
        return v if isinstance(v, str) and v.isdigit() else None
    if kind in TEXT_KINDS:
        if not isinstance(v, str) or not _text_ok(v, target):
            return None
        if target is Target.SEARCH:
            return _SEARCH_SPECIAL.sub(r"\\\1", v)
        if target is Target.COQL:
            return "'" + v.replace("'", "''") + "'"
        return v
    if kind == "number":
        if target is Target.BULK:
            return int(v) if v == int(v) else float(v)
        return _number(v)
    if kind == "boolean":
        return v if target is Target.BULK else ("true" if v else "false")
    if isinstance(v, datetime):
        text = v.strftime("%Y-%m-%dT%H:%M:%S+00:00")  # values are UTC already
    elif isinstance(v, date):
        text = v.isoformat()
    else:
        return None
    return f"'{text}'" if target is Target.COQL else text


def condition(target: Target, ctx: RuleContext, col: Column, op: str, value: Any = None) -> Pushed | None:
    """One condition on one column, or None when the target cannot express it exactly or as a superset."""
    kind = column_kind(col, target, ctx)
    if kind is None or op not in CAPABILITIES[target].get(kind, ()):
        return None
    ref = field_ref(col, kind, target, ctx)
    if ref is None:
        return None
    name, joins = ref
    if op in ("is_null", "not_null"):
        return Pushed(target, _null_check(target, name, op), 1, is_exact(kind, op), joins)
    if op == "starts_with":
        return _starts_with(target, kind, name, value, joins)
    many = op in ("in", "not_in", "between", "not_between")
    raw = list(value) if many else [value]
    if op in ("in", "not_in") and len(raw) > MAX_IN_VALUES:
        return None
    vals = [format_value(target, kind, v) for v in raw]
    if any(v is None for v in vals):
        return None
    return Pushed(target, _spell(target, name, op, vals, many), 1, is_exact(kind, op, value), joins)


def _spell(target: Target, name: str, op: str, vals: list[Any], many: bool) -> Any:
    if target is Target.BULK:
        return {"field": {"api_name": name}, "comparator": _BULK_OP[op], "value": vals if many else vals[0]}
    if target is Target.SEARCH:
        return f"({name}:{_SEARCH_OP[op]}:{','.join(str(v) for v in vals)})"
    if op in ("between", "not_between"):
        return f"{name} {_COQL_OP[op]} {vals[0]} and {vals[1]}"
    if many:
        return f"{name} {_COQL_OP[op]} ({', '.join(str(v) for v in vals)})"
    return f"{name} {_COQL_OP[op]} {vals[0]}"


def _null_check(target: Target, name: str, op: str) -> Any:
    if target is Target.BULK:
        return {"field": {"api_name": name}, "comparator": _BULK_OP[op], "value": EMPTY}
    return f"{name} {_COQL_OP[op]}"


def _starts_with(target: Target, kind: str, name: str, prefix: str, joins: frozenset[str]) -> Pushed | None:
    if target is Target.COQL:
        lit = format_value(target, kind, prefix)
        value = None if lit is None else f"{name} like {lit[:-1]}%'"
    else:
        v = format_value(target, kind, prefix)
        value = None if v is None else _spell(target, name, "starts_with", [v], False)
    return None if value is None else Pushed(target, value, 1, False, joins)


def combine(target: Target, op: str, parts: list[Pushed]) -> Pushed:
    """AND/OR several rendered filters; binary groups keep COQL's parentheses rule satisfied."""
    if len(parts) == 1:
        return parts[0]
    exact = all(p.exact for p in parts)
    conditions = sum(p.conditions for p in parts)
    joins = frozenset().union(*(p.joins for p in parts))
    if target is Target.BULK:
        group: list[Any] = []
        for p in parts:
            same = isinstance(p.value, dict) and p.value.get("group_operator") == op
            group.extend(p.value["group"] if same else [p.value])
        return Pushed(target, {"group_operator": op, "group": group}, conditions, exact, joins)
    acc = str(parts[0].value)
    for p in parts[1:]:
        # More than two COQL conditions need explicit parentheses: nest every pair.
        acc = f"({acc}{op}{p.value})" if target is Target.SEARCH else f"({acc} {op} {p.value})"
    return Pushed(target, acc, conditions, exact, joins)
