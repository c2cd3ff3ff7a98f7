"""One filter tree for every API that filters records, and its SQL compiler.

The Search API criteria (:mod:`.criteria`), COQL's WHERE clause (:mod:`.coql`)
and Bulk Read's criteria object (:mod:`.bulk_criteria`) all parse into
:class:`Condition` / :class:`Group` / :class:`Not` trees, and
:func:`compile_filter` turns a tree into one DuckDB boolean expression over a
:class:`~.query.Selection`, so a field filters the same way everywhere.

Operators (``Condition.op``) use Bulk Read's comparator names plus the COQL
extras: ``equal not_equal in not_in less_than less_equal greater_than
greater_equal between not_between starts_with ends_with contains not_contains
like not_like is_null is_not_null``.

Semantics chosen here (search-and-coql.md, bulk-read.md section 1):

* Text compares exactly and case-sensitively unless ``case_insensitive`` is set;
  the Search API sets it (its index matches ``equals`` case-insensitively, A.3),
  COQL and Bulk Read compare exactly (they read the database).
* An empty text or an empty multi-select list counts as NULL. NULL matches only
  the null checks (``is_null`` or ``equal ${EMPTY}``): every negated operator
  (``not_equal``, ``not_in``, ``not_like`` ...) excludes empty values, as SQL's
  three-valued logic does (unconfirmed for Zoho; documented choice).
* Multi-select picklists: a single value matches when the list contains it;
  a list value (COQL's ``'A;B'`` literal) matches exactly that set of values.
  ``in`` matches when the list contains any of the values; ``like``,
  ``starts_with`` ... match when any element matches.
* Lookups compare their ids; datetimes compare in UTC (literals carry offsets).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .query import Selection
from .schema import FieldDef, ModuleDef

EMPTY = "${EMPTY}"  # Zoho's "no value" marker in criteria (bulk-read.md section 1)

OPS = frozenset({
    "equal", "not_equal", "in", "not_in", "less_than", "less_equal", "greater_than", "greater_equal",
    "between", "not_between", "starts_with", "ends_with", "contains", "not_contains", "like", "not_like",
    "is_null", "is_not_null",
})
NEGATED = {"not_equal": "equal", "not_in": "in", "not_between": "between", "not_contains": "contains",
           "not_like": "like", "is_not_null": "is_null"}
COMPARE = {"less_than": "<", "less_equal": "<=", "greater_than": ">", "greater_equal": ">="}

TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "website", "picklist", "autonumber",
                        "profileimage", "event_reminder"})
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal", "rollup_summary"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"})
#: users-table columns holding ids (``Owner.id``, ``Owner.role`` ...); the others are text
USER_ID_COLUMNS = frozenset({"id", "zuid", "role_id", "profile_id"})
MAX_ID = 2**63 - 1
_EPOCH = datetime(2000, 1, 1)

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Zoho wants the offset on every datetime (``Z`` is unconfirmed: rejected here).
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass
class Condition:
    path: list[str]
    op: str
    value: Any = None
    #: compare text case-insensitively (the Search API's index does; COQL and Bulk Read do not)
    case_insensitive: bool = False


@dataclass
class Group:
    op: str  # "and" | "or"
    items: list[Node]


@dataclass
class Not:
    item: Node


Node = Condition | Group | Not


def count_conditions(node: Node) -> int:
    if isinstance(node, Condition):
        return 1
    if isinstance(node, Not):
        return count_conditions(node.item)
    return sum(count_conditions(i) for i in node.items)


# -- field types ---------------------------------------------------------------------------

def filter_type(module: ModuleDef, path: list[str]) -> tuple[str, FieldDef | None]:
    """The type a (possibly dotted) path filters as, and its field; raises ``UnknownField``.

    Types are data types (formulas as their return type, rollups as currency), plus
    ``"id"`` for record ids and user-table id columns, ``"text"`` for other user columns.
    """
    sql, f, kind = Selection(module, _EPOCH).path_expr(path)
    if kind == "id":
        return "id", None
    if kind == "user":
        return ("id" if sql.rsplit(".", 1)[-1] in USER_ID_COLUMNS else "text"), None
    assert f is not None
    return f.value_type, f


class BadValue(ValueError):
    """A literal that does not fit the field type; ``expected`` names the type wanted."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _number(raw: Any, expected: str) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue(expected)
    if isinstance(raw, Decimal):
        raw = str(raw)
    if isinstance(raw, (int, float)):
        raw = repr(raw)
    if not isinstance(raw, str) or not _NUMBER_RE.fullmatch(raw.strip()):
        raise BadValue(expected)
    try:
        d = Decimal(raw.strip())
    except InvalidOperation:
        raise BadValue(expected) from None
    if not d.is_finite() or abs(d) >= Decimal(10) ** 20:  # ids have 19 digits; columns are at most BIGINT
        raise BadValue(expected)
    return d


def coerce_value(vtype: str, raw: Any) -> Any:
    """A literal (string from criteria, JSON value, COQL literal) -> the Python value compared.

    Raises :class:`BadValue`. Strings are accepted for every type, because Search
    criteria are text and Zoho's own Bulk Read samples quote numbers.
    """
    if vtype in TEXT_TYPES or vtype == "multiselectpicklist":
        if isinstance(raw, (list, tuple)) and vtype == "multiselectpicklist":
            return [coerce_value("text", x) for x in raw]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise BadValue(vtype)
        return raw if isinstance(raw, str) else str(raw)
    if vtype in ("integer", "bigint", "id") or vtype in LOOKUP_TYPES:
        d = _number(raw, vtype)
        if d != d.to_integral_value() or abs(d) > MAX_ID or "." in str(raw) or "e" in str(raw).lower():
            raise BadValue(vtype)
        return int(d)
    if vtype in ("currency", "rollup_summary", "decimal"):
        d = _number(raw, vtype)
        if abs(d) >= Decimal(10) ** 16:  # DECIMAL(18,2) holds 16 integer digits
            raise BadValue(vtype)
        return d
    if vtype in ("double", "percent"):
        return float(_number(raw, vtype))
    if vtype == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise BadValue("boolean")
    if vtype == "date":
        if isinstance(raw, date) and not isinstance(raw, datetime):  # already coerced
            return raw
        if isinstance(raw, str) and _DATE_RE.fullmatch(raw):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise BadValue("date")
    if vtype == "datetime":
        if isinstance(raw, datetime):  # already coerced: naive UTC, or aware
            return raw.astimezone(UTC).replace(tzinfo=None) if raw.tzinfo else raw
        if isinstance(raw, str) and _DATETIME_RE.fullmatch(raw):
            try:
                return datetime.fromisoformat(raw).astimezone(UTC).replace(tzinfo=None)
            except ValueError:
                pass
        raise BadValue("datetime")
    raise BadValue(vtype)


def coerce_condition(cond: Condition, vtype: str) -> None:
    """Coerce a condition's value(s) in place for its field type (raises :class:`BadValue`)."""
    op, v = cond.op, cond.value
    if op in ("is_null", "is_not_null") or v == EMPTY:
        return
    if op in ("in", "not_in", "between", "not_between"):
        cond.value = [coerce_value(vtype, x) for x in v]
    elif op in ("starts_with", "ends_with", "contains", "not_contains", "like", "not_like"):
        cond.value = coerce_value("text", v)
    else:
        cond.value = coerce_value(vtype, v)


# -- SQL ------------------------------------------------------------------------------------

def escape_like(text: str) -> str:
    """A literal for LIKE ... ESCAPE '\\': ``%``, ``_`` and ``\\`` lose their meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def zoho_like(pattern: str) -> str:
    """COQL's LIKE pattern -> SQL LIKE: ``%`` is the only wildcard (``_`` is a plain character)."""
    return "%".join(escape_like(p) for p in pattern.split("%"))


def _pattern(op: str, value: str) -> str:
    if op == "like":
        return zoho_like(value)
    lit = escape_like(value)
    return {"starts_with": lit + "%", "ends_with": "%" + lit, "contains": "%" + lit + "%"}[op]


def compile_filter(node: Node, sel: Selection, module: ModuleDef, clock: Any = None) -> tuple[str, list[Any]]:
    """SQL boolean expression (and its parameters) for a filter tree over ``sel``.

    Fields resolve through ``sel.path_expr`` so dotted lookup paths add their joins
    to ``sel``; build the FROM clause after compiling. Raw values are coerced
    here too, so callers may build conditions from plain strings.
    """
    del module, clock  # the Selection knows both; kept in the signature other code relies on
    params: list[Any] = []
    return _compile(node, sel, params), params


def _compile(node: Node, sel: Selection, params: list[Any]) -> str:
    if isinstance(node, Group):
        if not node.items:
            return "TRUE" if node.op == "and" else "FALSE"
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(_compile(i, sel, params) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {_compile(node.item, sel, params)})"
    return _condition(node, sel, params)


def _condition(c: Condition, sel: Selection, params: list[Any]) -> str:
    sql, f, kind = sel.path_expr(c.path)
    vtype = filter_type(sel.module, c.path)[0]
    op, value = c.op, c.value
    if value == EMPTY and op in ("equal", "not_equal"):
        op = "is_null" if op == "equal" else "is_not_null"
    if op not in OPS:
        raise ValueError(f"unknown filter operator {op!r}")
    cond = Condition(c.path, op, value, c.case_insensitive)
    coerce_condition(cond, vtype)
    positive = NEGATED.get(op, op)
    multi = vtype == "multiselectpicklist"
    text = vtype in TEXT_TYPES
    if multi:
        x = f"(CASE WHEN len({sql}) = 0 THEN NULL ELSE {sql} END)"
    elif text:
        x = f"nullif({sql}, '')"
    else:
        x = sql
    expr = _positive(positive, x, cond, multi, text, params)
    if positive != op:
        expr = f"NOT ({expr})"
    # Every condition is total (never NULL), so NOT and OR above it behave two-valued.
    return f"coalesce(({expr}), FALSE)" if positive not in ("is_null",) else f"({expr})"


def _positive(op: str, x: str, c: Condition, multi: bool, text: bool, params: list[Any]) -> str:
    ci = c.case_insensitive and (text or multi)
    lo: Callable[[str], str] = (lambda s: f"lower({s})") if ci else (lambda s: s)
    if op == "is_null":
        return f"{x} IS NULL"
    if multi:
        if op == "equal" and isinstance(c.value, list):
            params.append(c.value)
            return (f"(list_sort(list_distinct({x})) = list_sort(list_distinct(CAST(? AS VARCHAR[]))) "
                    f"AND {x} IS NOT NULL)")
        if op in ("equal", "in"):
            values = c.value if op == "in" else [c.value]
            params.extend(values)
            marks = ", ".join("lower(?)" if ci else "?" for _ in values)
            return f"len(list_filter({x}, lambda e: {lo('e')} IN ({marks}))) > 0"
        if op in ("starts_with", "ends_with", "contains", "like"):
            params.append(_pattern(op, c.value))
            return f"len(list_filter({x}, lambda e: {lo('e')} LIKE {lo('?')} ESCAPE '\\')) > 0"
        raise ValueError(f"operator {op} does not apply to multi-select picklists")
    if op == "equal":
        params.append(c.value)
        return f"{lo(x)} = {lo('?')}"
    if op == "in":
        params.extend(c.value)
        return f"{lo(x)} IN ({', '.join(lo('?') for _ in c.value)})"
    if op in COMPARE:
        params.append(c.value)
        return f"{x} {COMPARE[op]} ?"
    if op == "between":
        params.extend(c.value)
        return f"{x} BETWEEN ? AND ?"
    if op in ("starts_with", "ends_with", "contains", "like"):
        params.append(_pattern(op, c.value))
        return f"CAST({lo(x)} AS VARCHAR) LIKE {lo('?')} ESCAPE '\\'"
    raise ValueError(f"unknown filter operator {op!r}")
