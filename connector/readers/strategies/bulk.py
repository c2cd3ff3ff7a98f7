"""Bulk Read as a read strategy: one asynchronous job per 200,000 rows, 50 credits a job.

Limits (bulk-read.md): 200,000 rows per page (job), 200 fields, 25 criteria
conditions (the reader adds ``Modified_Time >= since``, a partition two
``Created_Time`` bounds). Credits: 50 per job, plus (assumed) two status polls
and one download at 1 credit each; the CSV holds ids only, so user and layout
names cost a call each per read and polymorphic lookups their look-ups.

Partitions are ``Created_Time`` ranges (the criteria document no comparison on
ids; Created_Time never changes): one job stream per slice, each slice but the
last a whole number of pages, so a partitioned read costs the jobs of one read
(:func:`.partitions.time_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa

from connector.model import NO_PUSHDOWN, Pushdown
from connector.readers.base import Reader, ReaderContext
from connector.readers.bulk import BulkReader
from connector.readers.coql import where_parts
from connector.readers.dialects import BULK, Dialect
from connector.readers.paging import BULK_PAGE_ROWS

from .base import (
    BULK_DOWNLOAD_CREDITS,
    BULK_JOB_CREDITS,
    BULK_POLL_CREDITS,
    NO_EXTRAS,
    UNKNOWN,
    Cost,
    Extras,
    Limits,
    Partition,
    TimeRange,
    fill_in_cost,
    lookup_cost,
)
from .partitions import IMMUTABLE_TIME, bounds_cost, time_bounds, time_ranges

#: status polls a job is assumed to need (the reader backs off from 0.5 s)
POLLS_PER_JOB = 2


class BulkStrategy:
    name = "Bulk"
    dialect: Dialect | None = BULK
    limits = Limits(fields_per_call=200, rows_per_call=BULK_PAGE_ROWS, reachable_rows=None, conditions=25,
                    reserved_conditions=3, in_values=100)

    def reader(self, ctx: ReaderContext) -> Reader:
        return BulkReader(ctx)

    def cost(self, rows: int | None, fields: int = 0, limit: int | None = None, extras: Extras = NO_EXTRAS) -> Cost:
        """A job per 200,000 rows (create, polls, download), plus the name look-ups a CSV of ids needs."""
        if limit is not None and rows is not None:
            rows = min(rows, limit)
        if rows is None:
            return UNKNOWN
        jobs = max(1, math.ceil(rows / self.limits.rows_per_call))
        per_job = BULK_JOB_CREDITS + POLLS_PER_JOB * BULK_POLL_CREDITS + BULK_DOWNLOAD_CREDITS
        names = int(extras.users) + int(extras.layouts)  # the users list, the module's layouts: a call each
        # records-only columns: filled in by id, 100 a call, over the decoded batches (about one per page)
        return Cost(jobs * (2 + POLLS_PER_JOB) + names, jobs * per_job + names) + \
            lookup_cost(rows, extras, module_only=False) + fill_in_cost([rows], extras)

    def partitions(self, ctx: ReaderContext, module: str, pushdown: Pushdown | None, n: int) -> list[Partition]:
        pd = pushdown or NO_PUSHDOWN
        ts = ctx.catalog.table(module)
        used = BULK.conditions(pd.bulk_criteria) + (pd.modified_since is not None)
        splittable = (n > 1 and pd.limit is None and IMMUTABLE_TIME in ts.fields
                      and used + 2 <= self.limits.conditions)
        bounds = (time_bounds(ctx, ts.module, IMMUTABLE_TIME, where_parts(pd), n, self.limits.rows_per_call)
                  if splittable else [])
        ranges = time_ranges(IMMUTABLE_TIME, bounds)
        return [Partition(self.name, ts.module, pd, i, len(ranges), r) for i, r in enumerate(ranges)]

    def partition_cost(self, rows: int | None, fields: int, n: int) -> Cost:
        """The jobs of one read (slices hold whole pages: no job more), plus the walk that finds the cuts."""
        if rows is None:
            return UNKNOWN
        slices = min(max(1, n), max(1, math.ceil(rows / self.limits.rows_per_call)))
        return bounds_cost(rows, slices) + self.cost(rows, fields)

    def read_partition(self, ctx: ReaderContext, partition: Partition, columns: list[str] | None = None,
                       first_job: str | None = None) -> Iterator[pa.RecordBatch]:
        """The slice's rows; ``first_job``: what :meth:`start_partition` returned for it."""
        return BulkReader(ctx).batches(partition.module, columns, _slice_pushdown(partition), first_job)

    def start_partition(self, ctx: ReaderContext, partition: Partition, columns: list[str] | None = None) -> str:
        """Create the slice's first job now (Zoho runs it while the slice's reader is being started)."""
        return BulkReader(ctx).start(partition.module, columns, _slice_pushdown(partition))


def _slice_pushdown(partition: Partition) -> Pushdown:
    """The read's pushdown with the slice's Created_Time bounds added to its criteria."""
    bounds = partition.bounds
    assert isinstance(bounds, TimeRange)
    pd = partition.pushdown
    start = BULK.since(bounds.field, bounds.start) if bounds.start is not None else None
    end = BULK.before(bounds.field, bounds.end) if bounds.end is not None else None
    return replace(pd, bulk_criteria=BULK.conjoin([pd.bulk_criteria, start, end]))
