"""COQL semantic checks: a parsed query against the module and Zoho's limits (search-and-coql.md B.3-B.7).

:func:`plan_coql` turns the :class:`~.coql.CoqlQuery` the parser produced into a
:class:`CoqlPlan`: every path resolved to canonical api names, operators and
literals checked per field type (values coerced in place), aliases, GROUP BY and
ORDER BY rules applied, and the documented limits enforced (LIMIT 2,000, OFFSET +
LIMIT 100,000, 25 conditions, 100 IN values, join and depth caps). The handler
(``handlers/coql.py``) turns the plan into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .coql import CoqlQuery, NumberLiteral, OrderItem
from .filters import (
    LOOKUP_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    BadValue,
    Condition,
    Group,
    Node,
    coerce_condition,
    count_conditions,
    filter_type,
)
from .query import UnknownField
from .schema import JSON_DOCUMENT_TYPES, MODULES_BY_NAME, FieldDef, ModuleDef
from .zoho_errors import ZohoError

MAX_LIMIT = 2_000
MAX_ROWS = 100_000  # OFFSET + LIMIT, v7/v8
MAX_COLUMNS = 500
MAX_CONDITIONS = 25
MAX_IN_VALUES = 100
MAX_ORDER_BY = 10
MAX_GROUP_BY = 4
MAX_AGGREGATES = 5
MAX_DEPTH = 2  # lookup hops (dots) in one path
MAX_JOINS_WHERE = 5
MAX_JOINS_SELECT = 15
#: the pseudo-column naming the module a record's polymorphic lookup points at (``What_Id`` of Tasks,
#: Calls, Events), as the records API's ``$se_module``; selectable single-quoted, answered under that key
SE_MODULE = "$se_module"
#: never usable in COQL (B.4): query the subform / linking module itself
NEVER = frozenset({"subform", "multiselectlookup", "multiuserlookup", "fileupload", "imageupload",
                   "participants"})
_TEXT_OPS = ("equal", "not_equal", "like", "not_like", "in", "not_in", "is_null", "is_not_null")
_LOOKUP_OPS = ("equal", "not_equal", "in", "not_in", "is_null", "is_not_null")
_RANGE_OPS = ("equal", "not_equal", "less_than", "less_equal", "greater_than", "greater_equal", "between",
              "not_between", "in", "not_in", "is_null", "is_not_null")


def coql_operators(vtype: str) -> tuple[str, ...]:
    """Operators COQL allows in WHERE for a filter type (B.3); () = not usable in WHERE."""
    if vtype in ("text", "email", "phone", "website", "picklist", "autonumber", "multiselectpicklist"):
        return _TEXT_OPS
    if vtype in LOOKUP_TYPES:
        return _LOOKUP_OPS
    if vtype in NUMBER_TYPES or vtype in ("date", "datetime", "id"):
        return _RANGE_OPS
    if vtype == "boolean":
        return ("equal", "not_equal")
    return ()  # textarea (rejected in WHERE per the limitations page), JSON documents, images ...


@dataclass
class Column:
    key: str  # the response key
    path: list[str]  # canonical api names
    func: str | None
    vtype: str
    field: FieldDef | None
    hops: tuple[tuple[str, ...], ...] = ()

    @property
    def ident(self) -> tuple[str | None, str]:
        return self.func, ".".join(self.path).lower()


@dataclass
class CoqlPlan:
    module: ModuleDef
    columns: list[Column]
    where: Node | None
    group_by: list[Column]
    order_by: list[tuple[Column, bool]]
    limit: int
    offset: int

    @property
    def aggregate(self) -> bool:
        return bool(self.group_by) or any(c.func for c in self.columns)


def invalid_query(message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", message, details)


def limit_exceeded(by: str, limit: int) -> ZohoError:
    return ZohoError(400, "LIMIT_EXCEEDED", f"the {by} limit of {limit} is exceeded", {"by": by, "limit": limit})


def resolve(module: ModuleDef, path: list[str], func: str | None = None, key: str | None = None) -> Column:
    """A written path -> canonical column; INVALID_QUERY for unknown or unsupported columns."""
    dotted = ".".join(path)
    if len(path) - 1 > MAX_DEPTH:
        raise limit_exceeded("relation_depth", MAX_DEPTH)
    try:
        vtype, f = filter_type(module, path)
    except UnknownField:
        raise invalid_query("column given seems to be invalid", column_name=dotted) from None
    if f is not None and f.data_type in NEVER:
        raise invalid_query("data type not supported", column_name=dotted, data_type=f.data_type)
    names: list[str] = []
    hops: list[tuple[str, ...]] = []
    m = module
    for i, part in enumerate(path):
        hop = m.field(part) if part != "id" else None
        names.append(hop.api_name if hop else part)
        if hop is None or i == len(path) - 1:
            continue
        hops.append(tuple(names))
        if hop.is_user_lookup:  # the rest are users-table columns (role.name ...)
            names += path[i + 1:]
            break
        m = MODULES_BY_NAME[hop.lookup or ""]
    text = key or (f"{func}({dotted})" if func else ".".join(names))
    return Column(text, names, func, vtype, f, tuple(hops))


def se_module_column(module: ModuleDef, alias: str | None) -> Column:
    """``'$se_module'`` in SELECT: the module of the record's polymorphic lookup (null when it points nowhere);
    a module without one has no such column."""
    poly = [f for f in module.fields if f.data_type == "lookup" and f.targets]
    if not poly:
        raise invalid_query("column given seems to be invalid", column_name=SE_MODULE)
    return Column(alias or SE_MODULE, [SE_MODULE], None, "text", poly[-1])


def plan_coql(q: CoqlQuery, module: ModuleDef) -> CoqlPlan:
    """Check a parsed query against the module (names, operators, values, limits)."""
    if q.cvid is not None:  # the emulator has no custom views
        raise invalid_query("invalid custom view id", cvid=q.cvid, module=module.api_name)
    if len(q.items) > MAX_COLUMNS:
        raise limit_exceeded("select_columns", MAX_COLUMNS)
    aliases: dict[str, Column] = {}
    columns: list[Column] = []
    for item in q.items:
        if item.func is None and len(item.path) == 1 and item.path[0].lower() == SE_MODULE:
            col = se_module_column(module, item.alias)
        else:
            col = resolve(module, item.path, item.func, item.alias)
        if item.alias is not None:
            if item.alias.lower() in aliases:
                raise ZohoError(400, "DUPLICATE_ALIAS", "duplicate alias given", {"alias": item.alias})
            aliases[item.alias.lower()] = col
        columns.append(col)
    aggregates = [c for c in columns if c.func]
    if len(aggregates) > MAX_AGGREGATES:
        raise limit_exceeded("aggregate_functions", MAX_AGGREGATES)
    _no_duplicates(aggregates)
    for c in aggregates:
        ok = c.vtype in NUMBER_TYPES if c.func != "COUNT" else (
            c.vtype in NUMBER_TYPES or c.vtype in LOOKUP_TYPES or c.vtype in ("id", "picklist"))
        if not ok:
            raise invalid_query("data type not supported", column_name=".".join(c.path), function=c.func,
                                data_type=c.vtype)
    if len({h for c in columns for h in c.hops}) > MAX_JOINS_SELECT:
        raise limit_exceeded("select_joins", MAX_JOINS_SELECT)
    where = _check_where(q.where, module, aliases) if q.where is not None else None
    group_by = [_plain(module, p, aliases, "group_by") for p, _ in q.group_by]
    if len(group_by) > MAX_GROUP_BY:
        raise limit_exceeded("group_by", MAX_GROUP_BY)
    _no_duplicates(group_by)
    for g in group_by:
        if g.vtype in ("multiselectpicklist", "textarea") or g.vtype in JSON_DOCUMENT_TYPES:
            raise invalid_query("data type not supported", column_name=g.key, data_type=g.vtype)
    plan = CoqlPlan(module, columns, where, group_by, [], q.limit, q.offset)
    grouped = {g.ident for g in group_by}
    if plan.aggregate:
        for c in columns:
            if not c.func and c.ident not in grouped:
                raise invalid_query("column given seems to be invalid", column_name=".".join(c.path),
                                    reason="a column outside the aggregate functions must be in GROUP BY")
    for o in q.order_by:
        plan.order_by.append((_order_column(o, module, aliases, plan, grouped), o.desc))
    if len(plan.order_by) > MAX_ORDER_BY:
        raise limit_exceeded("order_by", MAX_ORDER_BY)
    _no_duplicates([c for c, _ in plan.order_by])
    if q.limit < 1:
        raise invalid_query("value given seems to be invalid for the column", column_name="limit",
                            reason="LIMIT must be at least 1")
    if q.limit > MAX_LIMIT:
        raise limit_exceeded("limit", MAX_LIMIT)
    if q.offset + q.limit > MAX_ROWS:
        raise limit_exceeded("offset", MAX_ROWS)
    return plan


def _no_duplicates(cols: list[Column]) -> None:
    seen: set[tuple[str | None, str]] = set()
    for c in cols:
        if c.ident in seen:
            raise ZohoError(400, "DUPLICATE_DATA", "duplicate data given", {"column_name": c.key})
        seen.add(c.ident)


def _plain(module: ModuleDef, path: list[str], aliases: dict[str, Column], clause: str) -> Column:
    """A column of WHERE / GROUP BY, where aliases are not allowed (B.2)."""
    if len(path) == 1 and path[0].lower() in aliases and path[0] != "id" and module.field(path[0]) is None:
        raise ZohoError(400, "INVALID_ALIAS", "alias cannot be used in this clause", {"alias": path[0],
                                                                                        "clause": clause})
    return resolve(module, path)


def _order_column(o: OrderItem, module: ModuleDef, aliases: dict[str, Column], plan: CoqlPlan,
                  grouped: set[tuple[str | None, str]]) -> Column:
    if o.func is None and len(o.path) == 1 and o.path[0].lower() in aliases:
        return aliases[o.path[0].lower()]
    col = resolve(module, o.path, o.func)
    if col.func is not None:
        match = next((c for c in plan.columns if c.ident == col.ident), None)
        if match is None:
            raise invalid_query("column given seems to be invalid", column_name=col.key,
                                reason="ORDER BY an aggregate needs it in SELECT")
        return match
    if plan.aggregate and col.ident not in grouped:
        raise invalid_query("column given seems to be invalid", column_name=col.key,
                            reason="ORDER BY in an aggregate query takes GROUP BY columns")
    return col


def _check_where(node: Node, module: ModuleDef, aliases: dict[str, Column]) -> Node:
    if count_conditions(node) > MAX_CONDITIONS:
        raise limit_exceeded("criteria", MAX_CONDITIONS)
    hops: set[tuple[str, ...]] = set()
    _check_node(node, module, aliases, hops)
    if len(hops) > MAX_JOINS_WHERE:
        raise limit_exceeded("where_joins", MAX_JOINS_WHERE)
    return node


def _check_node(node: Node, module: ModuleDef, aliases: dict[str, Column], hops: set[tuple[str, ...]]) -> None:
    if isinstance(node, Group):
        for item in node.items:
            _check_node(item, module, aliases, hops)
        return
    assert isinstance(node, Condition)
    col = _plain(module, node.path, aliases, "where")
    hops.update(col.hops)
    name = ".".join(node.path)
    allowed = coql_operators(col.vtype)
    if not allowed:
        raise invalid_query("data type not supported", column_name=name, data_type=col.vtype)
    if node.op not in allowed:
        raise invalid_query("invalid operator found", column_name=name, operator=node.op, data_type=col.vtype)
    node.path = col.path
    values = node.value if isinstance(node.value, list) else [node.value]
    bad = invalid_query("value given seems to be invalid for the column", column_name=name,
                        expected_data_type=col.vtype)
    if node.op in ("is_null", "is_not_null"):
        return
    if node.op in ("in", "not_in") and len(values) > MAX_IN_VALUES:
        raise limit_exceeded("in_values", MAX_IN_VALUES)
    text_like = col.vtype in TEXT_TYPES or col.vtype == "multiselectpicklist"
    if any(v is None or (text_like and not isinstance(v, str)) or
           (text_like and isinstance(v, NumberLiteral)) for v in values):
        raise bad  # NULL needs IS NULL; text compares with quoted strings only
    if node.op == "not_like" and not (len(node.value) >= 2 and node.value[0] == node.value[-1] == "%"):
        raise invalid_query("value given seems to be invalid for the column", column_name=name,
                            operator="not like", reason="not like supports only '%value%'")
    if col.vtype == "multiselectpicklist" and node.op in ("equal", "not_equal") and ";" in node.value:
        node.value = node.value.split(";")  # 'A;B' = exactly these values (B.3)
    try:
        coerce_condition(node, col.vtype)
    except BadValue:
        raise bad from None
