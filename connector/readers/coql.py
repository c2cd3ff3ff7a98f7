"""COQL reader: keyset pagination by id, so there is no OFFSET ceiling.

COQL caps LIMIT at 2,000 and OFFSET+LIMIT at 100,000 (search-and-coql.md
B.2), so the reader never uses OFFSET: :class:`~.paging.CoqlKeysetPaginator`
asks for ``id > <last id>`` ordered by id until a short page. The statement is
written by :class:`~.dialects.coql.CoqlQuery`. Lookups come back as
``{"name", "id"}`` like the list API, so the same converter applies.

A polymorphic lookup's value (``What_Id``) does not say which module it points at.
When a ``<Field>_Module`` column is asked for, the read selects ``'$se_module'``
too (single-quoted: the pseudo-column the records API returns beside the record),
which names it for the module's one such lookup (``What_Id`` of Tasks, Calls,
Events); any other such lookup, a row whose ``$se_module`` is empty, or a Zoho that
refuses the column (asked once a session, then not again), has
:class:`~.names.LookupNames` find the module by looking the ids up in the field's
target modules (extra COQL calls, only for such reads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa

from connector.errors import ApiError
from connector.http.client import cancellable
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch
from connector.schema.json_page import PageDecoder, RecordPage
from connector.schema.types import TableSchema

from .base import ReaderContext, heavy_slots, resolve_columns
from .concurrent import one_ahead, round_robin
from .coql_slices import Slice, first_pages, next_of, plan, plan_after_head
from .dialects import COQL
from .dialects.coql import MAX_LIMIT, CoqlQuery, quote
from .names import LookupNames
from .paging import CoqlKeysetPaginator, coql_page, first_coql_page
from .records_only import complete, split_columns

#: the records API's name for the module a polymorphic lookup points at; COQL takes it single-quoted
SE_MODULE = "$se_module"


def refuses_se_module(exc: ApiError) -> bool:
    """Whether Zoho's answer names the query's ``'$se_module'`` column as the one it does not know."""
    return SE_MODULE in str(exc.details)


def take_se_module(rows: list[dict[str, Any]], field: str) -> None:
    """Move each record's ``$se_module`` into its ``field`` value as ``module`` (the list API's shape); a row
    without one keeps its value as it came, for the look-ups to fill."""
    for r in rows:
        named = r.pop(SE_MODULE, None)
        v = r.get(field)
        if named and isinstance(v, dict) and v.get("id") is not None and not isinstance(v.get("module"), dict):
            v["module"] = {"api_name": str(named)}


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

        ``split``: a whole read whose size the caller knows (``Pushdown.expected_rows``) goes on after its
        first page in id slices read at once (:mod:`.coql_slices`); a partition (already one slice of a
        split read) passes False.
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
        se_field = ts.se_module_field if ts.se_module_field in module_fields and \
            SE_MODULE not in self.ctx.catalog.refused else None
        started = False
        try:
            for batch in self._read(module, ts, cols, pd, module_fields, se_field, after_id, upto_id, already, split):
                started = True
                yield batch
        except ApiError as exc:
            if se_field is None or started or exc.code not in ("INVALID_QUERY", "SYNTAX_ERROR"):
                raise
            # Refused before any row: asked again without '$se_module' (the look-ups then say the module).
            # When that works, or Zoho named the column, this Zoho does not answer it: not asked again.
            if refuses_se_module(exc):
                self.ctx.catalog.refused.add(SE_MODULE)
            for batch in self._read(module, ts, cols, pd, module_fields, None, after_id, upto_id, already, split):
                self.ctx.catalog.refused.add(SE_MODULE)
                yield batch

    def _read(self, module: str, ts: TableSchema, cols: list[str], pd: Pushdown, module_fields: list[str],
              se_field: str | None, after_id: str | None, upto_id: str | None, already: int, split: bool
              ) -> Iterator[pa.RecordBatch]:
        names = LookupNames(self.ctx) if module_fields else None

        def convert(page: RecordPage) -> pa.RecordBatch:
            if names is None:
                return page.to_batch(ts, cols)
            rows = page.records
            if se_field is not None:
                self.ctx.catalog.answered.add(SE_MODULE)
                take_se_module(rows, se_field)
            names.fill_record_modules(module, module_fields, rows)
            return records_to_batch(ts, cols, rows)

        fields = tuple(ts.fields_for(cols) or ["id"]) + ((quote(SE_MODULE),) if se_field is not None else ())
        query = CoqlQuery(module, fields, where_parts(pd), upto_id=upto_id)
        decoder = PageDecoder.for_columns(ts, cols)  # json with polymorphic names: their rows are filled in
        limit = pd.limit if (pd.exact and pd.limit is not None) else None
        if pd.order_by and limit is not None and limit <= MAX_LIMIT:
            # One sorted call; id last, so rows tied on the keys come in one order.
            page = coql_page(self.ctx.http, CoqlQuery(module, query.fields, query.where, after_id, upto_id,
                                                      (*pd.order_by, ("id", True)), limit).text(), decoder)
            if page:
                yield convert(page)
            return
        # A whole read (no LIMIT, no upper bound) whose size the caller knows goes on, after its first page, in
        # id slices read at once within the connection's heavy slots (COQL is heavy), for the same pages;
        # one that fits in a call is read in one. A polymorphic lookup's module comes with each page where Zoho
        # answers '$se_module' (the slices fill their own pages; :class:`.names.LookupNames` holds what one looked
        # up for the others); where it does not, its ids are looked up page by page, 100 a call, and pages cut
        # otherwise would group them otherwise: that read goes in turn, for the serial read's calls exactly.
        whole = pd.expected_rows if split and limit is None and upto_id is None else None
        known = whole if names is None or se_field is not None else None
        pager = CoqlKeysetPaginator(limit, after_id=after_id, already=already, first_page=first_coql_page(whole))
        # (not before this Zoho has answered a query with '$se_module' once: the first wave would be refused whole)
        if known is not None and heavy_slots(self.ctx) > 2 and (se_field is None
                                                               or SE_MODULE in self.ctx.catalog.answered):
            left = known - pager.rows.fetched
            # a first page of 2,000 (first_coql_page): slices of whole pages from the read's start, the serial
            # read's pages; else the first page's cheap LIMIT and the slices after it, for no credit more
            starts = plan(left, heavy_slots(self.ctx)) if pager.want >= MAX_LIMIT else [0]
            if len(starts) > 1:
                yield from self._split(module, query, pager, starts, decoder, convert, total=left)
                return
            starts = plan_after_head(left, pager.want, heavy_slots(self.ctx) - 1)
            if starts:  # (their positions count from the head's last row)
                yield from self._split(module, query, pager, starts, decoder, convert, head=pager.want,
                                       total=left - pager.want + 1)
                return
        for page in self._pages(query, pager, decoder):
            yield convert(page)
            self.ctx.report(module, pager.rows.fetched)
            if known is not None and pager.has_next_page and heavy_slots(self.ctx) > 1:
                left = known - pager.rows.fetched
                starts = plan(left, heavy_slots(self.ctx))
                if len(starts) > 1:
                    yield from self._split(module, query, pager, starts, decoder, convert, total=left)
                    return
                known = None

    def _pages(self, query: CoqlQuery, pager: CoqlKeysetPaginator, decoder: PageDecoder
               ) -> Iterator[RecordPage]:
        """Keyset pages of ``query`` until a short page, the LIMIT, or its upper bound (no empty call past it)."""
        while pager.has_next_page:
            kept = pager.update_state(coql_page(self.ctx.http, pager.update_request(query).text(), decoder))
            if not kept:
                return
            yield kept
            if query.upto_id is not None and pager.after_id == query.upto_id:
                return  # the range's last record: asking again would only find nothing

    def _split(self, module: str, query: CoqlQuery, pager: CoqlKeysetPaginator, starts: list[int],
               decoder: PageDecoder, convert: Callable[[RecordPage], pa.RecordBatch], head: int = 0,
               total: int | None = None) -> Iterator[pa.RecordBatch]:
        """The rest of the read (``id > pager.after_id``): its slices at once, their batches in a fixed order;
        ``head``: the read's first page (that many rows) is one of them (:func:`.coql_slices.plan_after_head`);
        ``total``: the rows expected, counted as ``starts`` are."""
        fetched = pager.rows.fetched
        stop = threading.Event()  # a second page asked ahead and not taken is not asked again once the read ends
        try:
            slices = cancellable(stop, first_pages, self.ctx, query, pager.after_id, starts, decoder, MAX_LIMIT,
                                 head, total)
            for batch in round_robin([self._slice(query, s, decoder, convert) for s in slices]):
                fetched += batch.num_rows
                yield batch
                self.ctx.report(module, fetched)
        finally:
            stop.set()

    def _slice(self, query: CoqlQuery, part: Slice, decoder: PageDecoder,
               convert: Callable[[RecordPage], pa.RecordBatch]) -> Callable[[], Iterator[pa.RecordBatch]]:
        """One slice: the rows its first page brought, then its next pages of 2,000 up to its upper bound."""
        def read() -> Iterator[pa.RecordBatch]:
            if part.done or not part.rows:
                if part.rows:
                    yield convert(part.rows)
                return

            def pages() -> Iterator[RecordPage]:
                yield part.rows
                after = part.rows.ids[-1]
                ahead = next_of(part)  # the second page, asked as the first came in
                if ahead is not None:
                    rows, done = ahead
                    if rows:
                        yield rows
                        after = rows.ids[-1]
                    if done:
                        return
                pager = CoqlKeysetPaginator(None, after_id=after, first_page=MAX_LIMIT)
                yield from self._pages(replace(query, upto_id=part.upto), pager, decoder)

            # each page's next call is on the wire while the page is converted
            for page in one_ahead(pages()):
                yield convert(page)
        return read
