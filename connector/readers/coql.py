"""COQL reader: keyset pagination by id, so there is no OFFSET ceiling.

COQL caps LIMIT at 2,000 and OFFSET+LIMIT at 100,000 (search-and-coql.md
B.2), so the reader never uses OFFSET: :class:`~.paging.CoqlKeysetPaginator`
asks for ``id > <last id>`` ordered by id until a short page. The statement is
written by :class:`~.dialects.coql.CoqlQuery`. Lookups come back as
``{"name", "id"}`` like the list API, so the same converter applies.

COQL does not say which module a polymorphic lookup (``What_Id``) points at
(the list API's ``$se_module``); when a ``<Field>_Module`` column is asked
for, :class:`~.names.LookupNames` finds it by looking the ids up in the
field's target modules (extra COQL calls, only for such reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa

from connector.api import coql as api
from connector.http.concurrency import HEAVY_LIMIT
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch

from .base import ReaderContext, resolve_columns
from .concurrent import round_robin
from .dialects import COQL
from .dialects.coql import MAX_LIMIT, CoqlQuery
from .names import LookupNames
from .paging import CoqlKeysetPaginator
from .records_only import complete, split_columns


def where_parts(pd: Pushdown) -> tuple[str, ...]:
    """The pushed WHERE and ``Modified_Time >= modified_since``, as COQL conditions to AND."""
    parts = [pd.coql_where or ""]
    if pd.modified_since is not None:
        parts.append(COQL.at_or_after("Modified_Time", pd.modified_since))
    return tuple(p for p in parts if p)


class CoqlReader:
    name = "COQL"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def batches(self, module: str, columns: list[str] | None = None, pushdown: Pushdown | None = None, *,
                after_id: str | None = None, upto_id: str | None = None, already: int = 0, split: bool = True
                ) -> Iterator[pa.RecordBatch]:
        """Rows of ``module``; ``after_id < id <= upto_id`` when given (a partition, the REST hand-off).

        ``split``: a read that goes on past its second page continues in id slices read at once
        (:meth:`_split`); a partition (already one slice of a split read) passes False.
        """
        pd = pushdown or NO_PUSHDOWN
        ts = self.ctx.catalog.table(module)
        module = ts.module
        cols = resolve_columns(ts, columns)
        own, extra = split_columns(ts, cols)
        if extra:  # Tag, file uploads, Participants: COQL refuses them, the list API fills them in by id
            yield from complete(self.ctx, ts, cols, extra, self.batches(
                module, own, pd, after_id=after_id, upto_id=upto_id, already=already, split=split))
            return
        # Polymorphic lookups whose module COQL leaves out (What_Id): filled in before conversion.
        module_fields = [ts.by_name[c].field for c in cols if ts.by_name[c].part == "module"]
        names = LookupNames(self.ctx) if module_fields else None

        def convert(rows: list[dict[str, Any]]) -> pa.RecordBatch:
            if names is not None:
                names.fill_record_modules(module, module_fields, rows)
            return records_to_batch(ts, cols, rows)

        query = CoqlQuery(module, tuple(ts.fields_for(cols) or ["id"]), where_parts(pd), upto_id=upto_id)
        limit = pd.limit if (pd.exact and pd.limit is not None) else None
        if pd.order_by and limit is not None and limit <= MAX_LIMIT:
            # One sorted call; id last, so rows tied on the keys come in one order.
            rows, _ = api.run(self.ctx.http, CoqlQuery(module, query.fields, query.where, after_id, upto_id,
                                                       (*pd.order_by, ("id", True)), limit).text())
            if rows:
                yield convert(rows)
            return
        pager = CoqlKeysetPaginator(limit, after_id=after_id, already=already)
        # A whole read (no LIMIT, no upper bound) still going after its first two pages (200, then 2,000 rows)
        # goes on in id slices read at once, within the connection's heavy slots (COQL is heavy).
        split = split and limit is None and upto_id is None and names is None and heavy_slots(self.ctx) > 1
        pages = 0
        while pager.has_next_page:
            rows, more = api.run(self.ctx.http, pager.update_request(query).text())
            kept = pager.update_state(rows, more)
            if not kept:
                return
            yield convert(kept)
            self.ctx.report(module, pager.rows.fetched)
            pages += 1
            if split and pages == SPLIT_AFTER_PAGES and pager.has_next_page:
                yield from self._split(module, query, pager.after_id, pager.rows.fetched, convert)
                return

    def _split(self, module: str, query: CoqlQuery, after: str | None, fetched: int,
               convert: Callable[[list[dict[str, Any]]], pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The rest of the read (``id > after``): its id slices at once, their batches in a fixed order."""
        from .strategies.partitions import page_slices  # imported here: the strategies import this reader

        ranges = page_slices(self.ctx, module, query.where, after, heavy_slots(self.ctx), MAX_LIMIT)
        for batch in round_robin([self._slice(query, r.after, r.upto, convert) for r in ranges]):
            fetched += batch.num_rows
            yield batch
            self.ctx.report(module, fetched)

    def _slice(self, query: CoqlQuery, after: str | None, upto: str | None,
               convert: Callable[[list[dict[str, Any]]], pa.RecordBatch]) -> Callable[[], Iterator[pa.RecordBatch]]:
        """One id range of a split read: pages of 2,000, ending at its upper bound without an empty call."""
        def read() -> Iterator[pa.RecordBatch]:
            pager = CoqlKeysetPaginator(None, after_id=after, first_page=MAX_LIMIT)
            sliced = replace(query, upto_id=upto)
            while pager.has_next_page:
                rows, more = api.run(self.ctx.http, pager.update_request(sliced).text())
                kept = pager.update_state(rows, more)
                if not kept:
                    return
                yield convert(kept)
                if upto is not None and pager.after_id == upto:
                    return  # the slice's last record: asking again would only find nothing
        return read


#: a read splits once it has read this many pages and goes on (200 + 2,000 rows: small reads never pay a COUNT)
SPLIT_AFTER_PAGES = 2


def heavy_slots(ctx: ReaderContext) -> int:
    """COQL calls the connection may have in flight at once (MaxConcurrency, at most Zoho's 10 heavy)."""
    return min(ctx.config.max_concurrency, HEAVY_LIMIT)
