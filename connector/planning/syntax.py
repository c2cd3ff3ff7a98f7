"""Parse one SQL statement (DuckDB's dialect), or say in words what is wrong and where.

sqlglot's own messages name its classes and tokens (``Required keyword: 'this' missing for <class
'sqlglot.expressions.query.Where'>``); users get the position, the text near it and what was
expected instead (``syntax error at line 1, column 25 near 'WHERE': something is missing after
'WHERE'``). An empty statement, several statements, and a statement nested deeper than the parser
can follow are :class:`~connector.errors.PlanningError` too, never an internal error.
"""

from __future__ import annotations

import re

from sqlglot import Token, exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, SqlglotError, TokenError

from connector.errors import PlanningError

_DIALECT = DuckDB()
NEAR_CHARS = 40  # how much of the statement an error quotes around the place it stopped
_HINT = "the SQL is DuckDB's dialect"
_MISSING = re.compile(r"Required keyword: '\w+' missing for <class '[\w.]+'>")
_GOT_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+.*?>", re.DOTALL)
_CLASS = re.compile(r"<class '(?:[\w]+\.)*(\w+)'>")
_TOKENIZING = re.compile(r"^Error tokenizing '(.*)'$", re.DOTALL)


def too_deep() -> PlanningError:
    return PlanningError("the statement nests too deeply to be read (parentheses, subqueries or NOT "
                         "nested dozens of levels)", hint="flatten it, for example with WITH ... AS (...) "
                                                          "for inner queries")


def empty_statement() -> PlanningError:
    return PlanningError("the SQL statement is empty", hint="give one statement, e.g. SELECT * FROM Leads LIMIT 10")


def parse_statement(sql: str) -> exp.Expr:
    """The one statement in ``sql`` as a sqlglot tree; PlanningError in words otherwise."""
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as exc:
        raise token_error(sql, exc) from None
    return parse_tokens(tokens, sql)


def parse_tokens(tokens: list[Token], sql: str) -> exp.Expr:
    """The one statement DuckDB's ``tokens`` of ``sql`` hold, as a sqlglot tree; PlanningError in words otherwise."""
    try:
        trees = [t for t in _DIALECT.parser().parse(tokens, sql) if t is not None]
    except RecursionError:
        raise too_deep() from None
    except ParseError as exc:
        raise parse_error(sql, exc) from None
    except TokenError as exc:
        raise token_error(sql, exc) from None
    except SqlglotError as exc:  # any other complaint of the parser: its text, without class names
        raise PlanningError(f"cannot read the SQL statement: {_plain(str(exc))}", hint=_HINT) from None
    if not trees:
        raise empty_statement()
    if len(trees) != 1:
        raise PlanningError(f"expected one SQL statement, got {len(trees)}", hint="run statements one at a time")
    return trees[0]


def _near(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NEAR_CHARS else text[:NEAR_CHARS - 3] + "..."


def _plain(description: str) -> str:
    """A sqlglot description without its internals (token and class reprs)."""
    description = _GOT_TOKEN.sub(lambda m: "the end of the statement" if m.group(1) == "SENTINEL"
                                 else repr(m.group(2)), description)
    return _CLASS.sub(lambda m: m.group(1), description)


def parse_error(sql: str, exc: ParseError) -> PlanningError:
    """``syntax error at line L, column C near 'X': what was expected``."""
    first = exc.errors[0] if exc.errors else {}
    description = str(first.get("description") or exc)
    highlight = str(first.get("highlight") or "").strip()
    line, col = first.get("line"), first.get("col")
    if _MISSING.search(description):
        words = f"something is missing after {highlight!r}" if highlight else "the statement is incomplete"
    elif description.startswith("Invalid expression / Unexpected token"):
        words = f"unexpected {highlight!r}" if highlight else "unexpected text"
    elif description.startswith("Expecting "):
        words = f"expected {description[len('Expecting '):].strip()!r}"
    else:
        words = _plain(description).replace("Expected", "expected", 1)
        words = words[0].lower() + words[1:] if words else "unexpected text"
    where = f" at line {line}, column {col}" if line and col else ""
    near = f" near {_near(highlight)!r}" if highlight else ""
    return PlanningError(f"syntax error{where}{near}: {words}", hint=_HINT)


def _unterminated(sql: str) -> tuple[int, str] | None:
    """Where an unterminated string, quoted name or block comment starts in ``sql``, and what it is."""
    i, n = 0, len(sql)
    while i < n:
        two = sql[i:i + 2]
        if two == "--":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif two == "/*":
            end = sql.find("*/", i + 2)
            if end < 0:
                return i, "comment"
            i = end + 2
        elif sql[i] in "'\"":
            quote, j = sql[i], i + 1
            while True:
                j = sql.find(quote, j)
                if j < 0:
                    return i, "string" if quote == "'" else "quoted name"
                if sql[j + 1:j + 2] != quote:
                    break
                j += 2  # a doubled quote inside the text
            i = j + 1
        else:
            i += 1
    return None


def _position(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def token_error(sql: str, exc: TokenError) -> PlanningError:
    """Text that is not SQL at all: an unterminated string, quoted name or comment, or a stray character."""
    open_at = _unterminated(sql)
    if open_at is not None:
        offset, what = open_at
        line, col = _position(sql, offset)
        return PlanningError(f"syntax error at line {line}, column {col} near {_near(sql[offset:])!r}: "
                             f"this {what} is never closed", hint=_HINT)
    m = _TOKENIZING.match(str(exc))
    read = m.group(1) if m is not None and sql.startswith(m.group(1)) else ""
    offset = len(read)
    while offset < len(sql) and sql[offset].isspace():
        offset += 1
    line, col = _position(sql, offset)
    near = f" near {_near(sql[offset:])!r}" if sql[offset:].strip() else ""
    return PlanningError(f"syntax error at line {line}, column {col}{near}: a character SQL does not use here",
                         hint=_HINT)
