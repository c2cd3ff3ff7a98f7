"""COQL: tokenizer and recursive-descent parser (search-and-coql.md B.2-B.4).

::

    SELECT col [AS alias] {, col}  FROM Module
    [WHERE cond] [GROUP BY path {, path}] [ORDER BY ref [ASC|DESC] {, ...}]
    [LIMIT n [OFFSET m] | LIMIT m, n | OFFSET m]

A column is a dotted field path (``Account_Name.Parent_Account.Account_Name``,
``Owner.role.name``; a single-quoted string is read as a path, the way Zoho
quotes reserved words) or an aggregate ``COUNT|SUM|MAX|MIN|AVG(path)``.
Keywords are case-insensitive; aggregate names are upper case only (Zoho's
FAQ calls them case-sensitive). A WHERE level holds one or two conditions: a
third one needs parentheses (``(a and b) and c``), else ``SYNTAX_ERROR`` with
``{"clause": "where"}``.

:func:`parse_coql` checks syntax; :func:`plan_coql` checks the parsed query
against the module's fields and Zoho's limits (B.3-B.7); the handler
(``handlers/coql.py``) turns a plan into SQL and renders the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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

KEYWORDS = frozenset({"select", "from", "where", "group", "order", "by", "asc", "desc", "limit", "offset", "and",
                      "or", "not", "like", "in", "between", "is", "null", "true", "false", "as"})
AGGREGATES = ("COUNT", "SUM", "MAX", "MIN", "AVG")
COMPARISONS = {"=": "equal", "!=": "not_equal", "<>": "not_equal", "<": "less_than", "<=": "less_equal",
               ">": "greater_than", ">=": "greater_equal"}
DEFAULT_LIMIT = 200

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.*#;-])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | number | op | punct | eof
    text: str
    line: int
    column: int

    def kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


class NumberLiteral(str):
    """An unquoted number in a query: numeric fields take it, text fields reject it."""


def syntax_error(tok: Token) -> ZohoError:
    return ZohoError(400, "SYNTAX_ERROR", "invalid query formed",
                     {"line": tok.line, "column": tok.column, "near": tok.text or "<end of query>"})


def where_syntax_error() -> ZohoError:
    return ZohoError(400, "SYNTAX_ERROR", "invalid query formed", {"clause": "where"})


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = text[pos]
            if bad == "'":
                bad = text[pos:pos + 20]
            raise syntax_error(Token("error", bad, line, pos - line_start + 1))
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, m.group(0), line, pos - line_start + 1))
        for i, ch in enumerate(m.group(0)):
            if ch == "\n":
                line, line_start = line + 1, pos + i + 1
        pos = m.end()
    out.append(Token("eof", "", line, pos - line_start + 1))
    return out


@dataclass
class SelectItem:
    path: list[str]  # the column, or the aggregate's argument
    func: str | None
    alias: str | None
    token: Token

    @property
    def text(self) -> str:
        """The response key Zoho uses when there is no alias: ``"COUNT(id)"``, ``"Owner.last_name"``."""
        dotted = ".".join(self.path)
        return f"{self.func}({dotted})" if self.func else dotted


@dataclass
class OrderItem:
    path: list[str]
    func: str | None
    desc: bool
    token: Token


@dataclass
class CoqlQuery:
    items: list[SelectItem]
    module: str
    module_token: Token
    cvid: str | None = None
    where: Node | None = None
    group_by: list[tuple[list[str], Token]] = field(default_factory=list)
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_coql(text: str) -> CoqlQuery:
    """Parse a ``select_query``; raises ZohoError ``SYNTAX_ERROR`` on malformed input."""
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0

    # -- token helpers ---------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def punct(self, ch: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == ch:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str) -> None:
        if not self.punct(ch):
            raise syntax_error(self.tok)

    def keyword(self, *words: str) -> bool:
        if self.tok.kw(*words):
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.keyword(word):
            raise syntax_error(self.tok)

    def integer(self) -> int:
        t = self.next()
        if t.kind != "number" or "." in t.text:
            raise syntax_error(t)
        return int(t.text)

    # -- clauses ---------------------------------------------------------------------

    def query(self) -> CoqlQuery:
        self.expect_kw("select")
        items = [self.select_item()]
        while self.punct(","):
            items.append(self.select_item())
        self.expect_kw("from")
        mt = self.next()
        if mt.kind != "word" or mt.text.lower() in KEYWORDS:
            raise syntax_error(mt)
        q = CoqlQuery(items, mt.text, mt)
        if self.punct("#"):
            t = self.next()
            if t.kind != "number":
                raise syntax_error(t)
            q.cvid = t.text
        if self.keyword("where"):
            q.where = self.where_expr()
        if self.keyword("group"):
            self.expect_kw("by")
            q.group_by.append((self.path(), self.toks[self.i - 1]))
            while self.punct(","):
                start = self.tok
                q.group_by.append((self.path(), start))
        if self.keyword("order"):
            self.expect_kw("by")
            q.order_by.append(self.order_item())
            while self.punct(","):
                q.order_by.append(self.order_item())
        if self.keyword("limit"):
            first = self.integer()
            if self.punct(","):  # MySQL style "LIMIT offset, count" (unconfirmed; accepted)
                q.offset, q.limit = first, self.integer()
            else:
                q.limit = first
                if self.keyword("offset"):
                    q.offset = self.integer()
        elif self.keyword("offset"):
            q.offset = self.integer()
        self.punct(";")
        if self.tok.kind != "eof":
            raise syntax_error(self.tok)
        return q

    def path(self) -> list[str]:
        t = self.next()
        if t.kind == "string":  # 'Reserved_Word' or 'Lookup.Field' quoted as a column
            parts = t.text[1:-1].replace("''", "'").split(".")
            if not all(parts):
                raise syntax_error(t)
            return parts
        if t.kind != "word" or t.text.lower() in KEYWORDS:
            raise syntax_error(t)
        parts = [t.text]
        while self.punct("."):
            w = self.next()
            if w.kind != "word":
                raise syntax_error(w)
            parts.append(w.text)
        return parts

    def aggregate(self) -> tuple[str | None, list[str]]:
        """``FUNC(path)`` when the next tokens are a function call, else a plain path."""
        t = self.tok
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else t
        if t.kind == "word" and nxt.kind == "punct" and nxt.text == "(":
            if t.text not in AGGREGATES:  # unknown function, or a lower-case aggregate name
                raise syntax_error(t)
            self.i += 2
            if self.tok.kind == "punct" and self.tok.text == "*":
                raise syntax_error(self.tok)
            p = self.path()
            self.expect_punct(")")
            return t.text, p
        return None, self.path()

    def select_item(self) -> SelectItem:
        start = self.tok
        if start.kind == "punct" and start.text == "*":  # SELECT * is not supported (B.2)
            raise syntax_error(start)
        func, p = self.aggregate()
        alias = None
        if self.keyword("as"):
            a = self.next()
            if a.kind == "string":
                alias = a.text[1:-1].replace("''", "'")
            elif a.kind == "word" and a.text.lower() not in KEYWORDS:
                alias = a.text
            else:
                raise syntax_error(a)
        return SelectItem(p, func, alias, start)

    def order_item(self) -> OrderItem:
        start = self.tok
        func, p = self.aggregate()
        desc = False
        if self.keyword("desc"):
            desc = True
        else:
            self.keyword("asc")
        return OrderItem(p, func, desc, start)

    # -- WHERE -----------------------------------------------------------------------

    def where_expr(self) -> Node:
        left = self.where_term()
        if self.tok.kw("and", "or"):
            op = self.next().text.lower()
            right = self.where_term()
            if self.tok.kw("and", "or"):  # a third condition needs parentheses (B.4)
                raise where_syntax_error()
            return Group(op, [left, right])
        return left

    def where_term(self) -> Node:
        if self.punct("("):
            node = self.where_expr()
            self.expect_punct(")")
            return node
        return self.condition()

    def condition(self) -> Condition:
        start = self.tok
        func, p = self.aggregate()
        if func is not None:  # HAVING-like conditions on aggregates are not COQL
            raise syntax_error(start)
        t = self.next()
        negate = False
        if t.kind == "op":
            cond = Condition(p, COMPARISONS[t.text], self.literal())
        elif t.kw("is"):
            negate = self.keyword("not")
            self.expect_kw("null")
            cond = Condition(p, "is_not_null" if negate else "is_null")
        else:
            if t.kw("not"):
                negate = True
                t = self.next()
            if t.kw("like"):
                cond = Condition(p, "not_like" if negate else "like", self.literal())
            elif t.kw("in"):
                self.expect_punct("(")
                values = [self.literal()]
                while self.punct(","):
                    values.append(self.literal())
                self.expect_punct(")")
                cond = Condition(p, "not_in" if negate else "in", values)
            elif t.kw("between"):
                low = self.literal()
                self.expect_kw("and")
                cond = Condition(p, "not_between" if negate else "between", [low, self.literal()])
            else:
                raise syntax_error(t)
        return cond

    def literal(self) -> Any:
        t = self.next()
        if t.kind == "string":
            return t.text[1:-1].replace("''", "'")
        if t.kind == "number":
            return NumberLiteral(t.text)
        if t.kind == "punct" and t.text == "-" and self.tok.kind == "number":
            return NumberLiteral("-" + self.next().text)
        if t.kw("true", "false"):
            return t.text.lower() == "true"
        if t.kw("null"):
            return None
        raise syntax_error(t)


# -- semantic checks (B.3-B.7) -----------------------------------------------------------------

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
#: never usable in COQL (B.4): query the subform / linking module itself
NEVER = frozenset({"subform", "multiselectlookup", "multiuserlookup", "fileupload", "imageupload"})
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


def plan_coql(q: CoqlQuery, module: ModuleDef) -> CoqlPlan:
    """Check a parsed query against the module (names, operators, values, limits)."""
    if q.cvid is not None:  # the emulator has no custom views
        raise invalid_query("invalid custom view id", cvid=q.cvid, module=module.api_name)
    if len(q.items) > MAX_COLUMNS:
        raise limit_exceeded("select_columns", MAX_COLUMNS)
    aliases: dict[str, Column] = {}
    columns: list[Column] = []
    for item in q.items:
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
