"""Hypothesis strategies for filter trees over an exported org, their three renderings, and an oracle.

A tree here is plain test data, independent of ``connector.emulator.filters``::

    ("cond", field, op, value)          op: eq ne in lt le gt ge between starts_with is_null not_null
    ("and" | "or", [tree, tree, ...])

The same tree renders as a Search API criteria string, a COQL WHERE clause and
a Bulk Read criteria object; :func:`matches` evaluates it in Python against the
records of ``/__emulator/export``, so each API can be checked against an
evaluation that shares no code with the emulator's compiler.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from connector.emulator import schema

Tree = tuple[Any, ...]

RANGE_OPS = ["eq", "ne", "in", "lt", "le", "gt", "ge", "between", "is_null", "not_null"]
OPS = {
    "text": ["eq", "ne", "in", "starts_with", "is_null", "not_null"],
    "picklist": ["eq", "ne", "in", "is_null", "not_null"],
    "multi": ["eq", "ne", "in", "is_null", "not_null"],
    "number": RANGE_OPS, "date": RANGE_OPS, "datetime": RANGE_OPS,
    "bool": ["eq", "ne"],
    "lookup": ["eq", "ne", "in", "is_null", "not_null"],
}
#: strings no record holds, with every character the grammars must escape
AWKWARD = ["a%b_c", "x\\y (z)", "it's, ok", "Ünïcødé ☕", "(", ",", ")", "\\", "O''Brien", "50% off_", "日本語"]
TIME_ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7)),
              timezone(timedelta(hours=9))]
#: fields whose value moves with the clock (the export and the query would disagree)
UNSTABLE = {"Days_Open"}


def category(f: schema.FieldDef) -> str | None:
    t = f.value_type
    if f.api_name in UNSTABLE or not f.searchable or f.targets:
        return None
    if t in ("text", "email", "phone", "website"):
        return "text"
    if t in ("picklist", "autonumber"):
        return "picklist"
    return {"multiselectpicklist": "multi", "integer": "number", "bigint": "number", "double": "number",
            "currency": "number", "percent": "number", "date": "date", "datetime": "datetime",
            "boolean": "bool", "lookup": "lookup", "ownerlookup": "lookup", "userlookup": "lookup"}.get(t)


def filterable_fields(module: str) -> dict[str, str]:
    m = schema.MODULES_BY_NAME[module]
    return {f.api_name: c for f in m.fields if (c := category(f)) is not None}


def norm(cat: str, raw: Any) -> Any:
    """An export value or a tree literal -> a comparable Python value (empty -> None)."""
    if raw is None or raw == "" or raw == []:
        return None
    if cat == "multi":
        return list(raw) if isinstance(raw, list) else raw
    if cat == "number":
        return Decimal(str(raw))
    if cat == "date":
        return raw if isinstance(raw, date) else date.fromisoformat(raw)
    if cat == "datetime":
        return raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    if cat == "lookup":
        return int(raw["id"]) if isinstance(raw, dict) else int(raw)
    return raw


def sample_values(records: list[dict[str, Any]], fields: dict[str, str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, cat in fields.items():
        seen: set[Any] = set()
        for r in records:
            v = r.get(name)
            if v is None or v == "" or v == []:
                continue
            if cat == "multi":
                seen.update(v)
            elif cat == "lookup":
                seen.add(v["id"])
            else:
                seen.add(v)
        out[name] = sorted(seen, key=str)
    return out


def _literal(cat: str, known: list[Any]) -> st.SearchStrategy[Any]:
    existing = st.sampled_from(known) if known else st.nothing()
    if cat in ("text", "picklist", "multi"):
        swapped = existing.map(lambda s: s.swapcase())  # the Search API matches these case-insensitively
        return st.one_of(existing, existing, swapped, st.sampled_from(AWKWARD))
    if cat == "number":
        return st.one_of(existing, existing, st.integers(-5, 10**6))
    if cat == "date":
        return st.one_of(existing, st.dates(date(2023, 6, 1), date(2026, 6, 1)).map(date.isoformat))
    if cat == "datetime":
        moments = st.one_of(existing.map(datetime.fromisoformat),
                            st.datetimes(datetime(2023, 6, 1), datetime(2026, 6, 1)).map(
                                lambda d: d.replace(microsecond=0, tzinfo=UTC)))
        # the same instant written with another offset: the emulator must compare in UTC
        return st.tuples(moments, st.sampled_from(TIME_ZONES)).map(lambda p: p[0].astimezone(p[1]))
    if cat == "bool":
        return st.booleans()
    return st.one_of(existing, existing, st.just("5843104139999999999"))  # lookup ids; the last one is nobody


def condition(fields: dict[str, str], values: dict[str, list[Any]]) -> st.SearchStrategy[Tree]:
    @st.composite
    def build(draw: st.DrawFn) -> Tree:
        name = draw(st.sampled_from(sorted(fields)))
        cat = fields[name]
        known = values[name]
        op = draw(st.sampled_from(OPS[cat]))
        lit = _literal(cat, known)
        if op in ("is_null", "not_null"):
            return ("cond", name, op, None)
        if op == "in":
            return ("cond", name, op, draw(st.lists(lit, min_size=1, max_size=4)))
        if op == "between":
            a, b = draw(lit), draw(lit)
            lo, hi = sorted([a, b], key=lambda v: norm(cat, v))
            return ("cond", name, op, [lo, hi])
        if op == "starts_with":
            # COQL's LIKE has no escape for a literal %: prefixes come from values without one
            words = [k for k in known if "%" not in k] or ["a_b\\(c"]
            word = draw(st.sampled_from(words))
            return ("cond", name, op, word[:draw(st.integers(1, len(word)))])
        return ("cond", name, op, draw(lit))

    return build()


def trees(fields: dict[str, str], values: dict[str, list[Any]], max_leaves: int = 6) -> st.SearchStrategy[Tree]:
    return st.recursive(
        condition(fields, values),
        lambda kids: st.tuples(st.sampled_from(["and", "or"]), st.lists(kids, min_size=2, max_size=3)),
        max_leaves=max_leaves)


# -- the oracle -----------------------------------------------------------------------------------

def matches(tree: Tree, rec: dict[str, Any], fields: dict[str, str], *, ci: bool) -> bool:
    """Does a record satisfy the tree? ``ci``: text, picklists and multi-selects ignore case (Search API)."""
    if tree[0] in ("and", "or"):
        results = [matches(t, rec, fields, ci=ci) for t in tree[1]]
        return all(results) if tree[0] == "and" else any(results)
    _, name, op, value = tree
    cat = fields[name]
    x = norm(cat, rec.get(name))
    if op == "is_null":
        return x is None
    if op == "not_null":
        return x is not None
    if x is None:
        return False  # NULL matches no comparison, negated or not
    fold = (lambda s: s.lower()) if ci and cat in ("text", "picklist", "multi") else (lambda s: s)
    elems = [fold(e) for e in x] if cat == "multi" else None

    def eq(v: Any) -> bool:
        lit = norm(cat, v)
        if elems is not None:
            return fold(lit) in elems
        return fold(x) == fold(lit) if cat in ("text", "picklist") else x == lit

    if op == "eq":
        return eq(value)
    if op == "ne":
        return not eq(value)
    if op == "in":
        return any(eq(v) for v in value)
    if op == "starts_with":
        return fold(x).startswith(fold(value))
    if op == "between":
        return norm(cat, value[0]) <= x <= norm(cat, value[1])
    lit = norm(cat, value)
    return {"lt": x < lit, "le": x <= lit, "gt": x > lit, "ge": x >= lit}[op]


# -- renderings -----------------------------------------------------------------------------------

def _text(cat: str, v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def criteria_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")


SEARCH_OPS = {"eq": "equals", "ne": "not_equal", "in": "in", "lt": "less_than", "le": "less_equal",
              "gt": "greater_than", "ge": "greater_equal", "between": "between", "starts_with": "starts_with"}


def to_criteria(tree: Tree, fields: dict[str, str]) -> str:
    if tree[0] in ("and", "or"):
        return "(" + tree[0].join(to_criteria(t, fields) for t in tree[1]) + ")"
    _, name, op, value = tree
    cat = fields[name]
    if op in ("is_null", "not_null"):
        return f"({name}:{'equals' if op == 'is_null' else 'not_equal'}:${{EMPTY}})"
    vals = value if isinstance(value, list) else [value]
    return f"({name}:{SEARCH_OPS[op]}:{','.join(criteria_escape(_text(cat, v)) for v in vals)})"


def coql_literal(cat: str, v: Any) -> str:
    if cat == "number" or (cat == "lookup" and str(v).endswith("1")) or isinstance(v, bool):
        return _text(cat, v)  # ids may be quoted or not: both forms get exercised
    return "'" + _text(cat, v).replace("'", "''") + "'"


COQL_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def to_coql(tree: Tree, fields: dict[str, str]) -> str:
    if tree[0] in ("and", "or"):
        # at most two conditions per level: fold left, parenthesizing each side (B.4)
        parts = [to_coql(t, fields) for t in tree[1]]
        acc = parts[0]
        for p in parts[1:]:
            acc = f"({acc}) {tree[0]} ({p})"
        return acc
    _, name, op, value = tree
    cat = fields[name]
    if op == "is_null":
        return f"{name} is null"
    if op == "not_null":
        return f"{name} is not null"
    if op == "in":
        return f"{name} in ({', '.join(coql_literal(cat, v) for v in value)})"
    if op == "between":
        return f"{name} between {coql_literal(cat, value[0])} and {coql_literal(cat, value[1])}"
    if op == "starts_with":
        return f"{name} like " + "'" + value.replace("'", "''") + "%'"
    return f"{name} {COQL_OPS[op]} {coql_literal(cat, value)}"


BULK_OPS = {"eq": "equal", "ne": "not_equal", "in": "in", "lt": "less_than", "le": "less_equal",
            "gt": "greater_than", "ge": "greater_equal", "starts_with": "starts_with"}


def _bulk_value(cat: str, v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def to_bulk(tree: Tree, fields: dict[str, str]) -> dict[str, Any]:
    if tree[0] in ("and", "or"):
        return {"group_operator": tree[0], "group": [to_bulk(t, fields) for t in tree[1]]}
    _, name, op, value = tree
    cat = fields[name]

    def cond(comparator: str, v: Any) -> dict[str, Any]:
        return {"field": {"api_name": name}, "comparator": comparator, "value": v}

    if op in ("is_null", "not_null"):
        return cond("equal" if op == "is_null" else "not_equal", "${EMPTY}")
    if op == "between":  # Bulk Read has between for dates only: numbers get ge AND le
        if cat in ("date", "datetime"):
            return cond("between", [_bulk_value(cat, v) for v in value])
        return {"group_operator": "and", "group": [cond("greater_equal", value[0]), cond("less_equal", value[1])]}
    if cat == "bool" and op == "ne":  # Bulk Read compares booleans with equal only
        return cond("equal", not value)
    if op == "in":
        return cond("in", [_bulk_value(cat, v) for v in value])
    return cond(BULK_OPS[op], _bulk_value(cat, value))
