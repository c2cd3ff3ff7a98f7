"""The Search API's criteria language -> filter tree (search-and-coql.md A.2, A.3).

Grammar (URL decoding is done by the framework)::

    criteria  := expr ( ("and" | "or") expr )*     -- one operator per level
    expr      := "(" condition ")" | "(" criteria ")"
    condition := field ":" operator ":" value

Values end at the first unescaped ``)``. A literal ``(``, ``)``, ``,`` or ``\\``
inside a value is escaped with a backslash; an unescaped ``,`` separates the
values of ``in`` and ``between`` and is rejected anywhere else (Zoho says it must
be escaped; rejecting catches clients that forgot). A backslash before any
other character is kept as a literal backslash.

Choices where the reference is silent: ``and``/``or`` are accepted in any case;
mixing ``and`` and ``or`` at one level without parentheses is ``INVALID_QUERY``
(the grammar is binary, "each group combines exactly the conditions inside
it"); ``${EMPTY}`` with ``equals``/``not_equal`` tests for an empty value.
Text, picklist and multi-select comparisons are case-insensitive (the search
index, A.3); NULLs never match ``not_equal``.
"""

from __future__ import annotations

import re
from typing import Any

from .filters import (
    EMPTY,
    NUMBER_TYPES,
    BadValue,
    Condition,
    Group,
    Node,
    coerce_condition,
    count_conditions,
    filter_type,
)
from .query import UnknownField
from .schema import ModuleDef
from .zoho_errors import ZohoError

#: conditions per criteria: 10 in the v7 docs, 15 in the v8 spec's error text
CONDITION_LIMITS = {"v7": 10, "v8": 15}
IN_LIMIT = 100
OPERATORS = {"equals": "equal", "not_equal": "not_equal", "starts_with": "starts_with", "in": "in",
             "greater_than": "greater_than", "greater_equal": "greater_equal", "less_than": "less_than",
             "less_equal": "less_equal", "between": "between"}
_TEXT_OPS = ("equals", "not_equal", "starts_with", "in")
_RANGE_OPS = ("equals", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal", "between", "in")
_LOGIC = re.compile(r"\s*(and|or)\s*(?=\()", re.IGNORECASE)
_FIELD = re.compile(r"[A-Za-z0-9_$.]+")
_OPERATOR = re.compile(r"[A-Za-z_]+")


def search_operators(vtype: str) -> tuple[str, ...]:
    """Operators the Search API allows for a filter type (the A.3 table)."""
    if vtype in ("text", "email", "phone", "website"):
        return _TEXT_OPS
    if vtype == "textarea":
        return ("equals", "not_equal", "starts_with")
    if vtype in ("picklist", "autonumber"):
        return ("equals", "not_equal", "in")
    if vtype == "multiselectpicklist":
        return ("equals", "not_equal", "in", "starts_with")
    if vtype in ("lookup", "ownerlookup", "userlookup", "id"):
        return ("equals", "not_equal", "in")
    if vtype in NUMBER_TYPES or vtype in ("date", "datetime"):
        return _RANGE_OPS
    if vtype == "boolean":
        return ("equals", "not_equal")
    return ()


def invalid_query(api_name: str, reason: str, message: str = "Invalid query formed", **extra: Any) -> ZohoError:
    # A.4: details always carry api_name and reason, plus what is relevant.
    return ZohoError(400, "INVALID_QUERY", message, {"api_name": api_name, "reason": reason, **extra})


def parse_criteria(text: str, module: ModuleDef, version: str = "v8") -> Node:
    """Parse and check a criteria string against a module's fields; raises ZohoError."""
    node = _Parser(text, module).parse()
    limit = CONDITION_LIMITS.get(version, CONDITION_LIMITS["v8"])
    if count_conditions(node) > limit:
        raise ZohoError(400, "CRITERIA_LIMIT_EXCEEDED",
                        f"no of criterium that can be given exceed the limit {limit}", {"limit": limit})
    return node


class _Parser:
    def __init__(self, text: str, module: ModuleDef) -> None:
        self.s = text
        self.i = 0
        self.module = module

    def fail(self, reason: str, api_name: str = "criteria") -> ZohoError:
        # Syntax errors name no field; "criteria" stands in for api_name (unconfirmed).
        return invalid_query(api_name, reason, position=self.i)

    def parse(self) -> Node:
        self.s = self.s.strip()
        if not self.s:
            raise self.fail("criteria is empty")
        node = self.sequence(self.expr())
        if self.i != len(self.s):
            raise self.fail(f"unexpected text at position {self.i}")
        return node

    def expr(self) -> Node:
        s = self.s
        while self.i < len(s) and s[self.i].isspace():
            self.i += 1
        if self.i >= len(s) or s[self.i] != "(":
            raise self.fail("expected '('")
        self.i += 1
        if self.i < len(s) and s[self.i] == "(":
            node = self.sequence(self.expr())
            if self.i >= len(s) or s[self.i] != ")":
                raise self.fail("expected ')'")
            self.i += 1
            return node
        return self.condition()

    def sequence(self, first: Node) -> Node:
        items, op = [first], None
        while True:
            m = _LOGIC.match(self.s, self.i)
            if not m:
                break
            word = m.group(1).lower()
            if op is not None and word != op:
                raise self.fail("'and' and 'or' at one level need parentheses")
            op = word
            self.i = m.end()
            items.append(self.expr())
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1
        return items[0] if op is None else Group(op, items)

    def condition(self) -> Condition:
        s = self.s
        m = _FIELD.match(s, self.i)
        if not m or m.end() >= len(s) or s[m.end()] != ":":
            raise self.fail("expected (field:operator:value)")
        name = m.group(0)
        self.i = m.end() + 1
        m = _OPERATOR.match(s, self.i)
        if not m or m.end() >= len(s) or s[m.end()] != ":":
            raise self.fail("expected (field:operator:value)", name)
        operator = m.group(0)
        self.i = m.end() + 1
        values = self.values(name)
        return self.check(name, operator, values)

    def values(self, name: str) -> list[str]:
        """Comma-separated values up to the closing ``)``, with backslash escapes resolved."""
        s, out, cur = self.s, [], []
        while True:
            if self.i >= len(s):
                raise self.fail("missing ')' after the value", name)
            ch = s[self.i]
            if ch == "\\" and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                if nxt in "(),\\":
                    cur.append(nxt)
                    self.i += 2
                    continue
                cur.append(ch)
            elif ch == ")":
                self.i += 1
                out.append("".join(cur))
                return out
            elif ch == "(":
                raise self.fail("'(' in a value must be escaped as '\\('", name)
            elif ch == ",":
                out.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
            self.i += 1

    def check(self, name: str, operator: str, values: list[str]) -> Condition:
        if "." in name:
            raise invalid_query(name, "lookup fields are searched by id, not by their fields")
        try:
            vtype, f = filter_type(self.module, [name])
        except UnknownField:
            raise invalid_query(name, "invalid field api_name") from None
        api_name = f.api_name if f else name
        allowed = search_operators(vtype)
        if f is not None and not f.searchable or not allowed:
            raise invalid_query(api_name, "the field is not searchable", expected_data_type=vtype)
        if operator not in allowed:
            raise invalid_query(api_name, "the operator is not supported for the field", operator=operator,
                                expected_data_type=vtype)
        op = OPERATORS[operator]
        if values == [EMPTY] and op in ("equal", "not_equal"):
            return Condition([api_name], op, EMPTY)
        if op == "in":
            if len(values) > IN_LIMIT:
                raise invalid_query(api_name, "too many values", 'Only 100 values are allowed in "IN" criteria',
                                    param_name="criteria")
            value: Any = values
        elif op == "between":
            if len(values) != 2:
                raise invalid_query(api_name, "between takes two values", operator=operator)
            value = values
        elif len(values) != 1:
            raise invalid_query(api_name, "',' in a value must be escaped as '\\,'", operator=operator)
        else:
            value = values[0]
        if any(v == "" for v in (value if isinstance(value, list) else [value])):
            raise invalid_query(api_name, "the value is empty", operator=operator)
        text_like = vtype not in NUMBER_TYPES and vtype not in ("date", "datetime", "boolean", "id", "lookup",
                                                                 "ownerlookup", "userlookup")
        cond = Condition([api_name], op, value, case_insensitive=text_like)
        try:
            coerce_condition(cond, "text" if vtype == "multiselectpicklist" else vtype)
        except BadValue as e:
            raise invalid_query(api_name, "invalid value for the field type", expected_data_type=e.expected,
                                operator=operator, value=value) from None
        return cond
