"""Rough row, call and credit estimates per API (limits-and-errors.md section 2).

They rank APIs and fill EXPLAIN; they are not promises. Credits per call:

* REST list: 1 per page of 200 records, per group of 50 fields (Zoho's
  ``fields`` takes at most 50 names, the reader joins the groups by id);
* Search: 1 per page of 200 (at most 2,000 results), plus the one COQL call
  the reader makes for records modified within SearchIndexLag; past 2,000
  results the reader falls back to COQL for the whole result;
* COQL: 1/2/3 by the call's LIMIT (<= 200 / <= 1,000 / <= 2,000); the keyset
  reader asks for LIMIT 2,000, so 3 per call of 2,000 rows;
* Bulk Read: 50 per job of up to 200,000 rows, plus (assumed) two status polls
  and one download per job at 1 credit each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from connector.schema.types import TableSchema

from .predicates import And, Node, Opaque, Or, Pred

LIST_PAGE = 200
FIELDS_PER_CALL = 50
SEARCH_CAP = 2_000
COQL_PAGE = 2_000
BULK_PAGE = 200_000
BULK_JOB_CREDITS = 50
BULK_POLLS = 2
#: fraction of rows a predicate keeps when nothing better is known (textbook defaults)
SELECTIVITY = {"eq": 0.05, "in": 0.05, "like": 0.1, "ilike": 0.1, "lt": 1 / 3, "le": 1 / 3, "gt": 1 / 3,
               "ge": 1 / 3, "between": 0.25, "is_null": 0.1, "not_null": 0.9, "ne": 0.95, "not_in": 0.9,
               "not_between": 0.75, "not_like": 0.9, "not_ilike": 0.9}


@dataclass(frozen=True)
class Cost:
    calls: int | None
    credits: int | None


UNKNOWN = Cost(None, None)


def coql_credits(limit: int) -> int:
    return 1 if limit <= 200 else 2 if limit <= 1_000 else 3


def rest_cost(rows: int | None, fields: int) -> Cost:
    if rows is None:
        return UNKNOWN
    calls = max(1, math.ceil(rows / LIST_PAGE)) * max(1, math.ceil(fields / FIELDS_PER_CALL))
    return Cost(calls, calls)


def search_cost(rows: int | None) -> Cost:
    if rows is None:
        return UNKNOWN
    pages = max(1, math.ceil(min(rows, SEARCH_CAP) / LIST_PAGE))
    if rows > SEARCH_CAP:  # past the cap the reader reads the whole result again through COQL
        again = coql_cost(rows)
        return Cost(pages + (again.calls or 0), pages + (again.credits or 0))
    return Cost(pages + 1, pages + 1)


def coql_cost(rows: int | None, limit: int | None = None) -> Cost:
    if limit is not None:
        rows = limit if rows is None else min(rows, limit)
    if rows is None:
        return UNKNOWN
    calls = max(1, math.ceil(rows / COQL_PAGE))
    if limit is None:
        return Cost(calls, 3 * calls)
    last = rows - (calls - 1) * COQL_PAGE
    return Cost(calls, 3 * (calls - 1) + coql_credits(max(1, last)))


def bulk_cost(rows: int | None) -> Cost:
    if rows is None:
        return UNKNOWN
    jobs = max(1, math.ceil(rows / BULK_PAGE))
    return Cost(jobs * (2 + BULK_POLLS), jobs * (BULK_JOB_CREDITS + BULK_POLLS + 1))


def result_rows(nodes: list[Node], total: int | None, table: TableSchema) -> int | None:
    """Estimated rows an AND of ``nodes`` selects; None when unknown (no total, no point lookup)."""
    if not nodes:
        return total
    est = _rows(And(tuple(nodes)) if len(nodes) > 1 else nodes[0], total, table)
    return None if est is None else max(0, math.ceil(est))


def _point(p: Pred, table: TableSchema) -> int | None:
    """Rows of an equality on a unique key: one per value."""
    if p.op not in ("eq", "in"):
        return None
    f = table.fields.get(p.column.field)
    unique = p.column.name == "id" or (f is not None and f.unique and p.column.part == "value")
    if not unique:
        return None
    return len(p.value) if p.op == "in" else 1


def _rows(node: Node, total: int | None, table: TableSchema) -> float | None:
    if isinstance(node, Pred):
        point = _point(node, table)
        if point is not None:
            return point if total is None else min(point, total)
        if total is None:
            return None
        sel = SELECTIVITY.get(node.op, 1.0)
        if node.op == "eq" and node.column.value_type == "boolean":
            sel = 0.5
        elif node.op in ("in", "not_in"):
            sel = min(1.0, sel * len(node.value)) if node.op == "in" else sel
        return total * sel
    if isinstance(node, Opaque):
        return total
    if isinstance(node, Or):
        parts = [_rows(x, total, table) for x in node.items]
        if any(p is None for p in parts):
            return None
        s = sum(p for p in parts if p is not None)
        return s if total is None else min(total, s)
    if isinstance(node, And):
        parts = [_rows(x, total, table) for x in node.items]
        known = [p for p in parts if p is not None]
        if total is None:
            return min(known) if known else None
        if total == 0:
            return 0
        est = float(total)
        for p in known:
            est *= p / total
        return est
    return total
