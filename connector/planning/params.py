"""Query parameters: DuckDB's ``?``, ``$1`` and ``$name`` bound as literals for the analysis.

The DuckDB statement keeps its placeholders (DuckDB binds the real values); the
planner only needs the values to type and push predicates. ``?`` is numbered in
text order from the tokens when the statement is read (:mod:`.statement`), so
binding never depends on how sqlglot orders a tree.
Values without a SQL literal form (lists, bytes...) stay placeholders, and the
predicates using them stay in DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from .statement import bind_form


def number_placeholders(sql: str) -> str:
    """``?`` -> ``$1``, ``$2``... in text order, so binding never depends on tree order."""
    return bind_form(sql, [])[0]


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
