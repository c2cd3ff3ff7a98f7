"""Splitting one read into independent slices, and what "exactly once" means while records change.

A partition is a range of a key that never changes:

* ``id`` (COQL, REST, Search): bounds are ids taken from the module when the
  partitions are made, and the ranges tile the whole id line — ``id <= b1``,
  ``b1 < id <= b2``, ..., ``id > b(n-1)`` — so every record, whatever happens
  to it later, belongs to exactly one slice;
* ``Created_Time`` (Bulk Read, whose criteria document no comparison on ids):
  ``< t1``, ``[t1, t2)``, ..., ``>= t(n-1)``; Zoho sets it once, when the
  record is created, and a record created during the read lands in the last
  slice.

A Modified_Time split would not be safe: a record edited while the slices run
moves from one range to another and can be read twice or not at all.

The guarantee, with records created, edited and deleted while slices run:
every record that exists when ``partitions()`` is called and still exists
when its slice reads it is returned exactly once (when it matches the read's
filter at that moment); a record created or deleted meanwhile is returned at
most once; each row holds the values its slice saw. With nothing changing, the
slices together return exactly the rows of one full read, values included.

Bounds cost one COQL ``COUNT(id)`` and one 1-credit ``limit 1 offset k`` call
per bound (an offset reaches at most 100,000 rows, so a longer step takes
several hops). They only balance the slices: a poor guess costs time, never
correctness — except in credits for Bulk, where a slice is a job stream: its
bounds fall on whole pages (:func:`time_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from connector.api import coql as api
from connector.readers.base import ReaderContext
from connector.readers.dialects import COQL
from connector.readers.dialects.coql import MAX_OFFSET_PLUS_LIMIT, CoqlQuery, datetime_literal

from .base import UNKNOWN, Cost, IdRange, TimeRange

#: Zoho sets it when a record is created and never again: a key that cannot move a record between slices
IMMUTABLE_TIME = "Created_Time"


def count_rows(ctx: ReaderContext, module: str, where: Sequence[str]) -> int:
    rows, _ = api.run(ctx.http, CoqlQuery(module, where=tuple(where)).count())
    return int(rows[0].get("COUNT(id)", 0)) if rows else 0


def _step(ctx: ReaderContext, module: str, where: tuple[str, ...], n: int) -> int:
    if "COQL" not in ctx.catalog.table(module).read_apis:
        return 0  # bounds are COQL calls, and COQL does not take this module (Notes): one slice
    total = count_rows(ctx, module, where)
    return math.ceil(total / n) if total > n else 0


def id_bounds(ctx: ReaderContext, module: str, where: Sequence[str], n: int) -> list[str]:
    """Up to ``n - 1`` ids cutting the matching records into runs of about equal size, ascending."""
    where = tuple(where)
    step = _step(ctx, module, where, n) if n > 1 else 0
    bounds: list[str] = []
    last: str | None = None
    for _ in range(n - 1 if step else 0):
        left = step
        while left > 0:
            hop = min(left, MAX_OFFSET_PLUS_LIMIT)
            query = CoqlQuery(module, ("id",), where, after_id=last, limit=1, offset=hop - 1)
            rows, _ = api.run(ctx.http, query.text())
            if not rows:
                return bounds  # fewer records than counted (some were deleted): fewer slices
            last = str(rows[0]["id"])
            left -= hop
        bounds.append(str(last))
    return bounds


def time_bounds(ctx: ReaderContext, module: str, field: str, where: Sequence[str], n: int,
                page: int) -> list[datetime]:
    """Up to ``n - 1`` whole seconds of ``field`` cutting the matching records into slices of whole pages.

    Each slice is one job stream that exports ``page`` rows a job, so every slice but the last holds a
    whole number of pages and no slice is cut in more pieces than the read has pages: the slices then
    cost the jobs of one read. Records sharing a second cannot be split by a ``field`` bound, so a cut
    that falls inside a second moves the ties after it (its slice ends short, never over) and is taken
    only while the last slice's room (pages x ``page`` - rows) absorbs every such shortfall; otherwise
    a nearby page boundary that falls between two seconds is taken, or no more cuts are made (fewer
    slices, never an extra job). One COUNT, then about one ``limit`` call per 100,000 rows walked.
    """
    where = tuple(where)
    if n <= 1 or page < 1 or "COQL" not in ctx.catalog.table(module).read_apis:
        return []  # bounds are COQL calls, and COQL does not take every module (Notes): one slice
    total = count_rows(ctx, module, where)
    pages = math.ceil(total / page)
    slices = min(n, pages)
    room = pages * page - total  # rows the last slice can take beyond its whole pages without a job more
    bounds: list[datetime] = []
    start: datetime | None = None  # the slice being cut holds the records at or after this second
    left = pages
    for k in range(slices - 1):
        want = math.ceil(left / (slices - k))
        cut = None
        for m in (want, want - 1, want + 1):  # the even share first, then a page less or more
            if not 1 <= m < left:
                continue
            seen = _cut_at(ctx, module, field, where, start, m * page)
            if seen is None:
                break  # fewer records than counted (some were deleted): the rest is one slice
            at, ties = seen
            if ties == 0 or ties <= room:
                cut = (at, m, ties)
                break
        if cut is None:
            break  # no cut without a job more: the rest is one slice
        at, m, ties = cut
        if bounds and at <= bounds[-1]:
            break
        bounds.append(at)
        room -= ties
        start, left = at, left - m
    return bounds


#: rows one call looks back from a cut to count the records sharing its second (a 1-credit LIMIT)
TIE_WINDOW = 200


def _cut_at(ctx: ReaderContext, module: str, field: str, where: tuple[str, ...], start: datetime | None,
            offset: int) -> tuple[datetime, int] | None:
    """The ``field`` second of the record ``offset`` places after ``start``'s first (in ``field``, id order)
    and how many records before it share that second (a cut there leaves them to the next slice); None
    when there is no such record. Hops of up to 100,000 rows (COQL's reach) follow a (field, id) keyset.
    """
    since = (COQL.at_or_after(field, start),) if start is not None else ()
    order = ((field, True), ("id", True))
    after: tuple[str, str] | None = None  # (field text, id) of the record the next hop counts from
    left = offset  # records between the hop's start and the cut record
    while True:
        keyset = (f"({field} > {_literal(after[0])}) or (({field} = {_literal(after[0])}) and (id > "
                  f"{int(after[1])}))",) if after is not None else ()
        cond = (*where, *since, *keyset)
        if left < MAX_OFFSET_PLUS_LIMIT - TIE_WINDOW:
            back = min(left, TIE_WINDOW - 1)
            rows, _ = api.run(ctx.http, CoqlQuery(module, (field, "id"), cond, order_by=order,
                                                  limit=back + 1, offset=left - back).text())
            if len(rows) < back + 1 or not rows[-1].get(field):
                return None
            at = _instant(str(rows[-1][field]))
            ties = 0
            for row in reversed(rows[:-1]):
                if _instant(str(row[field])) != at:
                    break
                ties += 1
            else:
                if back < left or after is not None:  # all looked at share the second: maybe more before
                    ties = offset
            return at, ties
        hop = MAX_OFFSET_PLUS_LIMIT - 1
        rows, _ = api.run(ctx.http, CoqlQuery(module, (field, "id"), cond, order_by=order, limit=1,
                                              offset=hop - 1).text())
        if not rows or not rows[0].get(field):
            return None
        after = (str(rows[0][field]), str(rows[0]["id"]))
        left -= hop


def _literal(text: str) -> str:
    return datetime_literal(_instant(text))


def _instant(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def id_ranges(bounds: Sequence[str]) -> list[IdRange]:
    """``id <= b1``, ``b1 < id <= b2``, ..., ``id > bn``: the whole id line, each id in one range."""
    edges: list[str | None] = [None, *bounds, None]
    return [IdRange(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def time_ranges(field: str, bounds: Sequence[datetime]) -> list[TimeRange]:
    """``< t1``, ``[t1, t2)``, ..., ``>= tn``: every instant in one range."""
    edges: list[datetime | None] = [None, *bounds, None]
    return [TimeRange(field, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def sliced_cost(cost: Callable[[int, int], Cost], rows: int | None, fields: int, n: int) -> Cost:
    """The bounds and ``n`` slices of about ``rows / n`` rows each, each priced by ``cost(rows, fields)``."""
    if rows is None:
        return UNKNOWN
    return bounds_cost(rows, n) + cost(math.ceil(rows / max(1, n)), fields).times(max(1, n))


def bounds_cost(rows: int | None, n: int) -> Cost:
    """The COUNT and the ``limit 1 offset k`` hops that find ``n - 1`` bounds (1 credit each)."""
    if n <= 1:
        return Cost(0, 0)
    if rows is None:
        return Cost(None, None)
    hops = max(1, math.ceil(math.ceil(rows / n) / MAX_OFFSET_PLUS_LIMIT))
    calls = 1 + (n - 1) * hops
    return Cost(calls, calls)
