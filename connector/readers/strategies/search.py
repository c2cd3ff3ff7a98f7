"""The Search API as a read strategy: criteria of 15 conditions, at most 2,000 records per search.

Limits (search-and-coql.md A.2, A.4): 200 records a page, 2,000 reachable
(past that the reader answers from COQL), 15 conditions, 100 values per
``in``, 50 fields a call (further groups joined by ``?ids=`` like the list
API), 1 credit a call; the reader adds one COQL call for records modified
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

from .base import (
    IDS_PER_CALL,
    LIST_PAGE_CREDITS,
    NO_EXTRAS,
    SEARCH_PAGE_CREDITS,
    UNKNOWN,
    Cost,
    Extras,
    IdRange,
    Limits,
    Partition,
    keyset_cost,
)
from .coql import CoqlStrategy
from .partitions import bounds_cost, id_bounds, id_ranges

_COQL = CoqlStrategy()


class SearchStrategy:
    name = "Search"
    dialect: Dialect | None = SEARCH
    limits = Limits(fields_per_call=50, rows_per_call=200, reachable_rows=SEARCH_CAP, conditions=15, in_values=100)

    def reader(self, ctx: ReaderContext) -> Reader:
        return SearchReader(ctx)

    def cost(self, rows: int | None, fields: int = 0, limit: int | None = None, extras: Extras = NO_EXTRAS) -> Cost:
        """Pages of 200, ``?ids=`` calls for further field groups, one COQL call for recent records.

        The search reader takes no LIMIT. Past 2,000 matches it has read ten pages for nothing and answers
        from COQL (``extras.coql_rows`` rows, the LIMIT honoured there).
        """
        if rows is None:
            return UNKNOWN
        cap = self.limits.reachable_rows or rows
        if rows > cap:  # ten pages, then the whole answer again through COQL
            pages = math.ceil(cap / self.limits.rows_per_call)
            coql_rows = extras.coql_rows if extras.coql_rows is not None else rows
            return Cost(pages, pages * SEARCH_PAGE_CREDITS) + _COQL.cost(coql_rows, fields, limit, extras)
        pages = max(1, math.ceil(rows / self.limits.rows_per_call))
        extra_groups = max(1, math.ceil(fields / (self.limits.fields_per_call or 1))) - 1
        joins = extra_groups * math.ceil(rows / IDS_PER_CALL)
        price = Cost(pages + joins, pages * SEARCH_PAGE_CREDITS + joins * LIST_PAGE_CREDITS)
        # the records modified within SearchIndexLag, read by COQL (on a quiet module: one empty call)
        return price + keyset_cost(0) if extras.index_lag else price

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
