"""A model of how Zoho evaluates each target's filter, written as DuckDB SQL over our columns.

The equivalence tests read the planner's *rendered output* (search criteria
text, COQL WHERE text, Bulk criteria JSON) back through these parsers, so
escaping, grouping and typing are checked, not just the planner's intent.

Semantics follow the emulator's documented choices (connector/emulator/filters.py):
text compares case-insensitively in Search and exactly in COQL/Bulk; an empty
text counts as NULL; negations exclude empty values; lookups compare ids; a
COQL ``like`` has ``%`` as its only wildcard.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from connector.schema.types import Column, TableSchema

_SEARCH_OPS = {"equals": "equal", "not_equal": "not_equal", "starts_with": "starts_with", "in": "in",
               "greater_than": "gt", "greater_equal": "ge", "less_than": "lt", "less_equal": "le",
               "between": "between"}
_BULK_OPS = {"equal": "equal", "not_equal": "not_equal", "in": "in", "not_in": "not_in", "less_than": "lt",
             "less_equal": "le", "greater_than": "gt", "greater_equal": "ge", "between": "between",
             "not_between": "not_between", "starts_with": "starts_with"}
_CMP = {exp.EQ: "equal", exp.NEQ: "not_equal", exp.GT: "gt", exp.GTE: "ge", exp.LT: "lt", exp.LTE: "le"}
_SQL_CMP = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ZohoModel:
    def __init__(self, table: TableSchema, *, case_insensitive: bool) -> None:
        self.table = table
        self.ci = case_insensitive
        self.conditions = 0
        self.max_in = 0

    # ---- columns and values -------------------------------------------------------------------

    def column(self, path: str) -> Column:
        if path == "id":
            return self.table.by_name["id"]
        if "." in path:  # COQL dot notation to the lookup's display field: our <F>_Name column
            return self.table.by_name[path.split(".", 1)[0] + "_Name"]
        f = self.table.fields[path]
        return self.table.by_name[f"{path}_Id"] if f.is_lookup else self.table.by_name[path]

    def literal(self, col: Column, v: Any) -> str:
        t = col.arrow
        if pa.types.is_string(t):
            return quote(str(v))
        if pa.types.is_boolean(t):
            return "TRUE" if str(v).lower() == "true" else "FALSE"
        if pa.types.is_integer(t):
            return str(int(Decimal(str(v))))
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            return f"CAST({Decimal(str(v))} AS DOUBLE)" if pa.types.is_floating(t) else str(Decimal(str(v)))
        if pa.types.is_date(t):
            return f"DATE {quote(str(v))}"
        if pa.types.is_timestamp(t):
            return f"CAST({quote(str(v))} AS TIMESTAMPTZ)"
        raise AssertionError(f"a filter on {col.name} ({t}) should never have been pushed")

    def cond(self, col: Column, op: str, values: list[Any]) -> str:
        self.conditions += 1
        self.max_in = max(self.max_in, len(values))
        text = pa.types.is_string(col.arrow) and not (col.value_type == "id" or col.part == "id")
        x = f'"{col.name}"'
        lits = [self.literal(col, v) for v in values]
        if text:
            x = f"NULLIF({x}, '')"
            if self.ci:
                x, lits = f"lower({x})", [f"lower({v})" for v in lits]
        if op == "is_null":
            return f"({x} IS NULL)"
        if op == "not_null":
            return f"({x} IS NOT NULL)"
        if op == "equal":
            return f"({x} = {lits[0]})"
        if op == "not_equal":
            return f"({x} <> {lits[0]})"
        if op in ("in", "not_in"):
            return f"({x} {'NOT ' if op == 'not_in' else ''}IN ({', '.join(lits)}))"
        if op in _SQL_CMP:
            return f"({x} {_SQL_CMP[op]} {lits[0]})"
        if op in ("between", "not_between"):
            return f"({x} {'NOT ' if op == 'not_between' else ''}BETWEEN {lits[0]} AND {lits[1]})"
        if op == "starts_with":
            return f"starts_with({x}, {lits[0]})"
        if op == "like":  # COQL: % is the only wildcard
            pattern = str(values[0]).replace("\\", "\\\\").replace("_", "\\_")
            pat = quote(pattern)
            return f"({x} LIKE {f'lower({pat})' if self.ci else pat} ESCAPE '\\')"
        raise AssertionError(op)

    # ---- Search criteria ------------------------------------------------------------------------

    def search(self, criteria: str) -> str:
        sql, end = self._search_group(criteria, 0)
        assert end == len(criteria), f"trailing text in {criteria!r}"
        return sql

    def _search_group(self, s: str, i: int) -> tuple[str, int]:
        assert s[i] == "(", (s, i)
        if s[i + 1] != "(":
            return self._search_condition(s, i)
        parts, ops = [], []
        i += 1
        while True:
            sql, i = self._search_group(s, i)
            parts.append(sql)
            if s[i] == ")":
                break
            op = "and" if s.startswith("and", i) else "or"
            assert s.startswith(op, i), (s, i)
            ops.append(op)
            i += len(op)
        assert len(set(ops)) == 1, f"mixed and/or in one group: {s!r}"
        return "(" + f" {ops[0].upper()} ".join(parts) + ")", i + 1

    def _search_condition(self, s: str, i: int) -> tuple[str, int]:
        field_end = s.index(":", i)
        op_end = s.index(":", field_end + 1)
        field, op = s[i + 1:field_end], s[field_end + 1:op_end]
        values, cur, j = [], [], op_end + 1
        while True:
            ch = s[j]
            if ch == "\\":
                assert s[j + 1] in "(),\\", f"stray backslash in {s!r}"
                cur.append(s[j + 1])
                j += 2
                continue
            assert ch != "(", f"unescaped '(' in {s!r}"
            if ch in ",)":
                values.append("".join(cur))
                cur = []
                j += 1
                if ch == ")":
                    break
                continue
            cur.append(ch)
            j += 1
        return self.cond(self.column(field), _SEARCH_OPS[op], values), j

    # ---- COQL WHERE -------------------------------------------------------------------------------

    def coql(self, where: str) -> str:
        tree = sqlglot.parse_one(f"SELECT id FROM t WHERE {where}").find(exp.Where)
        assert tree is not None
        return self._coql(tree.this, False)

    def _coql(self, e: exp.Expression, neg: bool) -> str:
        if isinstance(e, exp.Paren):
            return self._coql(e.this, neg)
        if isinstance(e, exp.Not):
            return self._coql(e.this, not neg)
        if isinstance(e, (exp.And, exp.Or)):
            assert not neg
            joiner = " AND " if isinstance(e, exp.And) else " OR "
            return "(" + self._coql(e.this, False) + joiner + self._coql(e.expression, False) + ")"
        col = self.column(self._path(e.this))
        if type(e) in _CMP:
            assert not neg
            return self.cond(col, _CMP[type(e)], [self._value(e.expression)])
        if isinstance(e, exp.In):
            return self.cond(col, "not_in" if neg else "in", [self._value(v) for v in e.expressions])
        if isinstance(e, exp.Between):
            return self.cond(col, "not_between" if neg else "between",
                             [self._value(e.args["low"]), self._value(e.args["high"])])
        if isinstance(e, exp.Like):
            assert not neg
            return self.cond(col, "like", [self._value(e.expression)])
        if isinstance(e, exp.Is):
            return self.cond(col, "not_null" if neg else "is_null", [])
        raise AssertionError(f"unexpected COQL {e.sql()}")

    @staticmethod
    def _path(e: exp.Expression) -> str:
        assert isinstance(e, exp.Column), e
        return f"{e.table}.{e.name}" if e.table else e.name

    @staticmethod
    def _value(e: exp.Expression) -> Any:
        if isinstance(e, exp.Neg):
            return "-" + str(e.this.this)
        if isinstance(e, exp.Boolean):
            return "true" if e.this else "false"
        assert isinstance(e, exp.Literal), e
        return e.this

    # ---- Bulk criteria -----------------------------------------------------------------------------

    def bulk(self, node: dict[str, Any]) -> str:
        if "group" in node:
            assert node["group_operator"] in ("and", "or") and len(node["group"]) >= 2
            joiner = " AND " if node["group_operator"] == "and" else " OR "
            return "(" + joiner.join(self.bulk(g) for g in node["group"]) + ")"
        col = self.column(node["field"]["api_name"])
        comp, value = node["comparator"], node["value"]
        if value == "${EMPTY}":
            return self.cond(col, "is_null" if comp == "equal" else "not_null", [])
        op = _BULK_OPS[comp]
        return self.cond(col, op, list(value) if isinstance(value, list) else [value])
