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

:func:`parse_coql` checks syntax only; :func:`.coql_plan.plan_coql` checks the
parsed query against the module's fields and Zoho's limits (B.3-B.7); the
handler (``handlers/coql.py``) turns a plan into SQL and renders the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .filters import Condition, Group, Node
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
