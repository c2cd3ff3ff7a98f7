"""The list API as a read strategy: 200 rows a page, 50 fields a call, 100,000 records by page token.

Limits (records.md section 1): ``per_page`` 200, ``fields`` 50 per call (the
reader joins further field groups by ``?ids=``, 100 ids a call: a page of 200
rows of a wide module costs 1 + 2 x (groups - 1) calls), page tokens to 100,000
records (the reader goes on by COQL keyset), ``ids`` 100 per call, no filter
by value — only ``If-Modified-Since``. 1 credit per call. A whole module of a known size past 2,000
records is read from both ends of the id order at once, each end its share of the same pages; one
page more than :meth:`RestStrategy.cost` counts only when the count is a multiple of 200 (the ends
then share a page, asked beside the others, to meet on a row) or was low: not priced.

Partitions are id ranges. The list API cannot start at an id, so a slice
lists its ids with COQL (``select id``, 2,000 a call) and reads their rows
through the list API by ``?ids=`` (100 a call, per field group).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pyarrow as pa

from connector.model import NO_PUSHDOWN, Pushdown
from connector.readers.base import Reader, ReaderContext
from connector.readers.coql import CoqlReader, where_parts
from connector.readers.dialects import Dialect
from connector.readers.dialects.rest import MAX_IDS
from connector.readers.rest import RestReader

from .base import LIST_PAGE_CREDITS, NO_EXTRAS, UNKNOWN, Cost, Extras, IdRange, Limits, Partition, keyset_cost
from .coql import CoqlStrategy
from .partitions import bounds_cost, id_bounds, id_ranges

_COQL = CoqlStrategy()


class RestStrategy:
    name = "REST"
    #: none: the list API filters by nothing but ids and If-Modified-Since (connector.readers.dialects.rest)
    dialect: Dialect | None = None
    limits = Limits(fields_per_call=50, rows_per_call=200, reachable_rows=100_000, conditions=0, in_values=MAX_IDS)

    def reader(self, ctx: ReaderContext) -> Reader:
        return RestReader(ctx)

    def cost(self, rows: int | None, fields: int, limit: int | None = None, extras: Extras = NO_EXTRAS) -> Cost:
        """Pages of 200 for the first 50 fields, ``?ids=`` calls of 100 ids per further group, COQL past 100,000."""
        if limit is not None:
            rows = limit if rows is None else min(rows, limit)
        if rows is None:
            return UNKNOWN
        listed = min(rows, self.limits.reachable_rows or rows)
        extra_groups = max(1, math.ceil(fields / (self.limits.fields_per_call or 1))) - 1
        page = min(self.limits.rows_per_call, max(1, extras.page_size))
        full, rest = divmod(listed, page)
        joins = full * math.ceil(page / MAX_IDS) + math.ceil(rest / MAX_IDS)  # per page: its ids, 100 a call
        calls = max(1, math.ceil(listed / page)) + extra_groups * joins
        price = Cost(calls, calls * LIST_PAGE_CREDITS)
        if rows <= listed:
            return price
        # Past 100,000 records the reader goes on by COQL keyset (every field in one call).
        return price + keyset_cost(rows - listed, limit, listed)

    def partitions(self, ctx: ReaderContext, module: str, pushdown: Pushdown | None, n: int) -> list[Partition]:
        pd = pushdown or NO_PUSHDOWN
        module = ctx.catalog.table(module).module
        splittable = n > 1 and pd.limit is None
        ranges = id_ranges(id_bounds(ctx, module, _ids_where(pd), n) if splittable else [])
        return [Partition(self.name, module, pd, i, len(ranges), r) for i, r in enumerate(ranges)]

    def partition_cost(self, rows: int | None, fields: int, n: int) -> Cost:
        if n <= 1:
            return self.cost(rows, fields)
        if rows is None:
            return UNKNOWN
        groups = max(1, math.ceil(fields / (self.limits.fields_per_call or 1)))
        by_ids = math.ceil(rows / MAX_IDS) * groups + n
        listing = _COQL.cost(math.ceil(rows / n), 1).times(n)  # each slice lists its ids by COQL keyset
        return bounds_cost(rows, n) + listing + Cost(by_ids, by_ids * LIST_PAGE_CREDITS)

    def read_partition(self, ctx: ReaderContext, partition: Partition,
                       columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        bounds = partition.bounds
        assert isinstance(bounds, IdRange)
        reader = RestReader(ctx)
        if bounds.unbounded:
            return reader.batches(partition.module, columns, partition.pushdown)
        return reader.by_ids(partition.module, columns, _ids_in(ctx, partition.module, partition.pushdown, bounds))


def _ids_where(pd: Pushdown) -> tuple[str, ...]:
    # The list API applies modified_since and nothing else; a COQL WHERE in the pushdown is not its filter.
    return where_parts(Pushdown(modified_since=pd.modified_since))


def _ids_in(ctx: ReaderContext, module: str, pd: Pushdown, bounds: IdRange) -> Iterator[list[str]]:
    """The slice's ids, 100 at a time, listed by COQL keyset as the slice reads them."""
    ids = CoqlReader(ctx).batches(module, ["id"], Pushdown(modified_since=pd.modified_since),
                                  after_id=bounds.after, upto_id=bounds.upto, split=False)
    for batch in ids:
        column = [str(i) for i in batch.column("id").to_pylist()]
        for i in range(0, len(column), MAX_IDS):
            yield column[i:i + MAX_IDS]
