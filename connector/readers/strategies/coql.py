"""COQL as a read strategy: keyset pages of 2,000 rows, a WHERE of 25 conditions, id-range partitions.

Limits (search-and-coql.md B.2, B.7): LIMIT 2,000 per call, OFFSET+LIMIT
100,000 (never used: the reader pages by ``id > last``), 25 conditions per
WHERE (the reader adds up to three: the keyset, a partition's upper bound and
``Modified_Time >= since``), 100 values per ``in``, 500 columns. Credits by
LIMIT: 1 up to 200, 2 up to 1,000, 3 up to 2,000; the reader's first call asks
for 200 rows, later ones for 2,000, and the module of a polymorphic lookup
costs look-ups (:func:`.base.lookup_cost`). Fields cost nothing: one call
selects up to 500.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from connector.model import NO_PUSHDOWN, Pushdown
from connector.readers.base import Reader, ReaderContext
from connector.readers.coql import CoqlReader, where_parts
from connector.readers.dialects import COQL, Dialect
from connector.readers.dialects.coql import MAX_LIMIT

from .base import (
    NO_EXTRAS,
    UNKNOWN,
    Cost,
    Extras,
    IdRange,
    Limits,
    Partition,
    coql_call_credits,
    fill_in_cost,
    keyset_batches,
    keyset_cost,
    lookup_cost,
)
from .partitions import id_bounds, id_ranges, sliced_cost


class CoqlStrategy:
    name = "COQL"
    dialect: Dialect | None = COQL
    limits = Limits(fields_per_call=500, rows_per_call=MAX_LIMIT, reachable_rows=None, conditions=25,
                    reserved_conditions=3, in_values=100)

    def reader(self, ctx: ReaderContext) -> Reader:
        return CoqlReader(ctx)

    def cost(self, rows: int | None, fields: int = 0, limit: int | None = None, extras: Extras = NO_EXTRAS,
             *, sorted_limit: bool = False) -> Cost:
        """The keyset reader's calls (:func:`.base.keyset_cost`); ``sorted_limit``: one sorted call of LIMIT rows."""
        if limit is not None:
            rows = limit if rows is None else min(rows, limit)
        if rows is None:
            return UNKNOWN
        if sorted_limit and limit is not None and limit <= self.limits.rows_per_call:
            read = Cost(1, coql_call_credits(limit)) + fill_in_cost([rows], extras)
        else:
            read = keyset_cost(rows, limit) + fill_in_cost(keyset_batches(rows), extras)
        return read + lookup_cost(rows, extras, module_only=True)

    def partitions(self, ctx: ReaderContext, module: str, pushdown: Pushdown | None, n: int) -> list[Partition]:
        pd = pushdown or NO_PUSHDOWN
        module = ctx.catalog.table(module).module
        # A LIMIT or ORDER BY is a property of the whole read: it is not split.
        splittable = n > 1 and pd.limit is None and not pd.order_by
        ranges = id_ranges(id_bounds(ctx, module, where_parts(pd), n) if splittable else [])
        return [Partition(self.name, module, pd, i, len(ranges), r) for i, r in enumerate(ranges)]

    def partition_cost(self, rows: int | None, fields: int, n: int) -> Cost:
        return sliced_cost(self.cost, rows, fields, n)

    def read_partition(self, ctx: ReaderContext, partition: Partition,
                       columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        bounds = partition.bounds
        assert isinstance(bounds, IdRange)
        return CoqlReader(ctx).batches(partition.module, columns, partition.pushdown, after_id=bounds.after,
                                       upto_id=bounds.upto, split=False)
