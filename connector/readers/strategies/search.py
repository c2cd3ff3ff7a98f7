"""The Search API as a read strategy: criteria of 15 conditions, at most 2,000 records per search.

Limits (search-and-coql.md A.2, A.4): 200 records a page, 2,000 reachable
(past that the reader answers from COQL), 15 conditions, 100 values per
``in``, 1 credit a call; the reader adds one COQL call for records modified
within SearchIndexLag (the index trails writes).

Partitions are id ranges applied to the search's rows (Search criteria have no
id comparison) and to the reader's COQL calls; each slice runs the whole
search again, which is at most ten calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pyarrow as pa

from connector.model import NO_PUSHDOWN, Pushdown
from connector.readers.base import Reader, ReaderContext
from connector.readers.coql import where_parts
from connector.readers.dialects import SEARCH, Dialect
from connector.readers.paging import SEARCH_CAP
from connector.readers.search import SearchReader

from .base import SEARCH_PAGE_CREDITS, UNKNOWN, Cost, IdRange, Limits, Partition, coql_call_credits
from .coql import CoqlStrategy
from .partitions import bounds_cost, id_bounds, id_ranges

_COQL = CoqlStrategy()


class SearchStrategy:
    name = "Search"
    dialect: Dialect | None = SEARCH
    limits = Limits(fields_per_call=50, rows_per_call=200, reachable_rows=SEARCH_CAP, conditions=15, in_values=100)

    def reader(self, ctx: ReaderContext) -> Reader:
        return SearchReader(ctx)

    def cost(self, rows: int | None, fields: int = 0, limit: int | None = None) -> Cost:
        if rows is None:
            return UNKNOWN
        cap = self.limits.reachable_rows or rows
        pages = max(1, math.ceil(min(rows, cap) / self.limits.rows_per_call))
        searched = Cost(pages, pages * SEARCH_PAGE_CREDITS)
        if rows > cap:  # past the cap the reader reads the whole result again through COQL
            return searched + _COQL.cost(rows)
        return searched + Cost(1, coql_call_credits(200))  # the records modified within SearchIndexLag

    def partitions(self, ctx: ReaderContext, module: str, pushdown: Pushdown | None, n: int) -> list[Partition]:
        pd = pushdown or NO_PUSHDOWN
        module = ctx.catalog.table(module).module
        splittable = n > 1 and pd.limit is None
        ranges = id_ranges(id_bounds(ctx, module, where_parts(pd), n) if splittable else [])
        return [Partition(self.name, module, pd, i, len(ranges), r) for i, r in enumerate(ranges)]

    def partition_cost(self, rows: int | None, fields: int, n: int) -> Cost:
        return bounds_cost(rows, n) + self.cost(rows, fields).times(max(1, n))

    def read_partition(self, ctx: ReaderContext, partition: Partition,
                       columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        bounds = partition.bounds
        assert isinstance(bounds, IdRange)
        return SearchReader(ctx).batches(partition.module, columns, partition.pushdown, after_id=bounds.after,
                                         upto_id=bounds.upto)
