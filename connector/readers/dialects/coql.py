"""COQL: the WHERE dialect and the one place a COQL statement is written.

search-and-coql.md part B: at most 25 conditions per WHERE, with explicit
parentheses past two (every pair is nested); 100 values per ``in``; strings
single-quoted with ``''`` for a quote (no backslash handling is documented, so
no literal holds one); datetimes quoted with an offset; lookups compared by
id, or through dot notation to the target's display field (at most 5 such
joins); ``like`` knows ``%`` but documents no escape.

:class:`CoqlQuery` writes every statement the connector sends — the readers'
keyset pages, the planner's ``COUNT(id)``, the sync source's boundary
queries, partition bounds — so LIMIT, ORDER BY and the keyset are spelled once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.api.coql import MAX_LIMIT, MAX_OFFSET_PLUS_LIMIT

from .base import Dialect, Target, zoho_datetime

_ALL_CMP = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between", "in"})
_RANGE = _ALL_CMP | {"not_between", "not_in", "is_null", "not_null"}
_UNSAFE_IN_LIKE = re.compile(r"[%_\\]")



class CoqlWhere(Dialect):
    target = Target.COQL
    max_conditions = 25
    max_joins = 5
    capabilities = {
        "id": frozenset({"eq", "ne", "in", "not_in"}),
        "text": frozenset({"eq", "in", "starts_with", "is_null"}),
        "picklist": frozenset({"eq", "in", "starts_with", "is_null"}),
        "lookup_name": frozenset({"eq", "in", "starts_with"}),
        "lookup_id": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
        "number": _RANGE, "date": _RANGE, "datetime": _RANGE,
        "boolean": frozenset({"eq"}),
    }
    filters_computed = True
    operators = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in",
                 "not_in": "not in", "between": "between", "not_between": "not between", "starts_with": "like",
                 "is_null": "is null", "not_null": "is not null"}

    def text_ok(self, v: str) -> bool:
        # COQL documents no backslash handling: a backslash could change what the literal means.
        return super().text_ok(v) and "\\" not in v

    def text_literal(self, v: str) -> Any:
        return quote(v)

    def temporal_literal(self, text: str) -> Any:
        return f"'{text}'"

    def compare(self, name: str, op: str, values: Sequence[Any], many: bool) -> Any:
        word = self.operators[op]
        if op in ("between", "not_between"):
            return f"{name} {word} {values[0]} and {values[1]}"
        if many:
            return f"{name} {word} ({', '.join(str(v) for v in values)})"
        return f"{name} {word} {values[0]}"

    def null_check(self, name: str, op: str) -> Any:
        return f"{name} {self.operators[op]}"

    def starts_with(self, name: str, literal: Any) -> Any:
        return f"{name} like {str(literal)[:-1]}%'"  # 'abc' -> 'abc%'

    def safe_prefix(self, prefix: str) -> str:
        # Whether `_` is a wildcard or `\` an escape in COQL's like is unconfirmed: cut before either
        # (and `%`), which is a superset under every reading.
        cut = _UNSAFE_IN_LIKE.search(prefix)
        return prefix[:cut.start()].rstrip() if cut else prefix

    def group(self, op: str, values: Sequence[Any]) -> Any:
        acc = str(values[0])
        for v in values[1:]:
            acc = f"({acc} {op} {v})"  # more than two conditions need explicit parentheses
        return acc

    # ---- conditions the readers, the sync source and partitions add ----------------------------

    def at_or_after(self, field: str, at: datetime) -> str:
        return f"{field} >= {datetime_literal(at)}"

    def at(self, field: str, at: datetime) -> str:
        return f"{field} = {datetime_literal(at)}"

    def before(self, field: str, at: datetime) -> str:
        return f"{field} < {datetime_literal(at)}"

    def not_taken_at(self, watermark: datetime, ids: Sequence[str]) -> str:
        """Rows modified after ``watermark``, or at it but not among ``ids`` (taken there already).

        Those ids are left out only *at* that second: one of them edited later has a later
        Modified_Time and must come back. Each ``not in`` holds at most 100 ids.
        """
        step = self.max_in_values
        chunks = [f"id not in ({', '.join(digits(i) for i in ids[k:k + step])})" for k in range(0, len(ids), step)]
        return f"(Modified_Time > {datetime_literal(watermark)}) or ({conjoin(chunks)})"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def datetime_literal(at: datetime) -> str:
    return f"'{zoho_datetime(at)}'"


def digits(record_id: str | int) -> str:
    """An id for a COQL statement: digits only, unquoted (ids compare as numbers)."""
    text = str(record_id)
    if not text.isdigit():
        raise ValueError(f"not a record id: {text!r}")
    return text


def conjoin(parts: Sequence[str]) -> str:
    """AND the parts with explicit parentheses (COQL wants them past two conditions); '' for none."""
    given = [p for p in parts if p]
    if len(given) <= 1:
        return given[0] if given else ""
    expr = f"({given[0]})"
    for p in given[1:]:
        expr = f"({expr} and ({p}))"
    return expr


@dataclass(frozen=True)
class CoqlQuery:
    """One COQL SELECT: fields, the AND of ``where`` conditions, an id window, order and LIMIT.

    ``after_id``/``upto_id`` bound ids (``id > after_id``, ``id <= upto_id``): the keyset of the
    readers' paging and a partition's id range. ``order_by`` defaults to ``id`` ascending, the
    keyset's order; sorted reads put their keys first and ``id`` last so ties stay in one order.
    """

    module: str
    fields: tuple[str, ...] = ("id",)
    where: tuple[str, ...] = ()
    after_id: str | None = None
    upto_id: str | None = None
    order_by: tuple[tuple[str, bool], ...] = (("id", True),)
    limit: int | None = None
    offset: int = 0

    def conditions(self) -> list[str]:
        out = list(self.where)
        if self.after_id is not None:
            out.append(f"id > {digits(self.after_id)}")
        if self.upto_id is not None:
            out.append(f"id <= {digits(self.upto_id)}")
        return out

    def text(self) -> str:
        where = conjoin(self.conditions()) or "id is not null"  # older COQL versions require a WHERE
        out = f"select {', '.join(self.fields)} from {self.module} where {where}"
        if self.order_by:
            out += " order by " + ", ".join(f"{f} {'asc' if asc else 'desc'}" for f, asc in self.order_by)
        if self.limit is not None:
            out += f" limit {self.limit}"
        if self.offset:
            out += f" offset {self.offset}"
        return out

    def count(self) -> str:
        """``select COUNT(id)`` over the same conditions (one call, answered in ``COUNT(id)``)."""
        where = conjoin(self.conditions()) or "id is not null"
        return f"select COUNT(id) from {self.module} where {where}"

    def group_count(self, field: str, limit: int) -> str:
        """Records per value of ``field`` (a picklist or lookup), the most frequent first, ``limit`` values."""
        where = conjoin(self.conditions()) or "id is not null"
        return (f"select {field}, COUNT(id) from {self.module} where {where} group by {field} "
                f"order by COUNT(id) desc limit {limit}")


def count_statement(module: str, where: str | None = None) -> str:
    return CoqlQuery(module, where=(where,) if where else ()).count()


__all__ = ["MAX_LIMIT", "MAX_OFFSET_PLUS_LIMIT", "CoqlQuery", "CoqlWhere", "conjoin", "count_statement",
           "datetime_literal", "digits", "quote"]
