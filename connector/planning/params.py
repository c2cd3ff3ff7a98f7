"""Query parameters: DuckDB's ``?``, ``$1`` and ``$name`` bound as literals for the analysis.

The DuckDB statement keeps its placeholders (DuckDB binds the real values); the
planner only needs the values to type and push predicates. ``?`` is numbered in
text order from the tokens, so binding never depends on how sqlglot orders a tree.
Values without a SQL literal form (lists, bytes...) stay placeholders, and the
predicates using them stay in DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import Token, exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError

_DIALECT = DuckDB()


def tokens_with(sql: str, marker: str) -> list[Token]:
    """DuckDB's tokens of ``sql`` when the text holds ``marker``; none when it does not, or does not tokenize.

    Placeholders are found from the tokens, so a ``?`` or ``:`` inside a string or a comment is
    never taken for one; text that does not tokenize goes to DuckDB as it is, to report.
    """
    if marker not in sql:
        return []
    try:
        return _DIALECT.tokenize(sql)
    except SqlglotError:
        return []


def splice(sql: str, edits: Iterable[tuple[Token, str]]) -> str:
    """``sql`` with each token of ``edits`` (in text order) replaced by its text; the rest untouched."""
    out, last = [], 0
    for tok, text in edits:
        out += [sql[last:tok.start], text]
        last = tok.end + 1
    return "".join(out) + sql[last:] if out else sql


def number_placeholders(sql: str) -> str:
    """``?`` -> ``$1``, ``$2``... in text order, so binding never depends on tree order."""
    marks = [tok for tok in tokens_with(sql, "?") if tok.token_type.name == "PLACEHOLDER" and tok.text == "?"]
    return splice(sql, [(tok, f"${n}") for n, tok in enumerate(marks, 1)])


def param_literal(value: Any) -> exp.Expr | None:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat()), kind)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return None  # lists, bytes...: the predicate stays Opaque


def bind_params(tree: exp.Expr, params: Sequence[Any] | Mapping[str, Any] | None) -> None:
    if params is None:
        return
    for ph in list(tree.find_all(exp.Placeholder)):
        key = ph.this
        try:
            if isinstance(params, Mapping):
                value = params[str(key)]
            elif key is not None and str(key).isdigit():
                value = params[int(key) - 1]
            else:
                continue
        except (KeyError, IndexError):
            continue  # DuckDB will report the missing parameter
        lit = param_literal(value)
        if lit is not None:
            ph.replace(lit)
