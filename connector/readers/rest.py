"""REST list reader: ``GET /{module}`` with page tokens, every field, joined by id.

* ``fields`` takes at most 50 names per call, so a wide module is read as one
  paginated pass over the first 50 fields plus, per page, ``?ids=`` calls for
  the other field groups (100 ids each), joined by id — rows can never be
  misaligned by concurrent writes. A page's ``?ids=`` calls are sent at once (MaxConcurrency).
* Sorted by id ascending with ``page_token`` chaining
  (:class:`~.paging.PageTokenPaginator`; page numbers stop at 2,000 records). When the caller
  knows the read's size, the pages it needs within those 2,000 are asked by number at once.
  Page tokens stop at 100,000 records; past that the reader continues with
  COQL keyset paging (``id > last``), which has no ceiling.
* Leads are read with ``converted=both``: the table holds every record.
* ``modified_since`` becomes ``If-Modified-Since`` (:mod:`.dialects.rest`).
* :meth:`RestReader.by_ids` reads given ids only (a partition's slice).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from functools import partial
from typing import Any

import pyarrow as pa

from connector.api import records as api
from connector.http.concurrency import HEAVY_LIMIT
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch

from .base import ReaderContext, resolve_columns
from .concurrent import at_once
from .coql import CoqlReader
from .dialects import rest as dialect
from .paging import PageTokenPaginator

ID_BATCH = dialect.MAX_IDS
#: page numbers reach this many records; past them only page tokens do (records.md section 1)
NUMBERED_ROWS = 2_000


def field_groups(fields: list[str], size: int = api.MAX_FIELDS_PER_CALL) -> list[list[str]]:
    if not fields:
        return [["id"]]
    return [fields[i:i + size] for i in range(0, len(fields), size)]


def converted_param(module: str) -> str | None:
    return "both" if module == "Leads" else None  # converted leads belong to the table too


class RestReader:
    name = "REST"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def batches(self, module: str, columns: list[str] | None = None,
                pushdown: Pushdown | None = None) -> Iterator[pa.RecordBatch]:
        pd = pushdown or NO_PUSHDOWN
        ts = self.ctx.catalog.table(module)
        module = ts.module
        cols = resolve_columns(ts, columns)
        groups = field_groups(ts.fields_for(cols))
        converted = converted_param(module)
        request: dict[str, Any] = {
            "per_page": self.ctx.config.page_size, "sort_by": dialect.SORT[0], "sort_order": dialect.SORT[1],
            "converted": converted,
            "if_modified_since": dialect.if_modified_since(pd.modified_since) if pd.modified_since else None}
        pager = PageTokenPaginator(pd.limit if pd.exact else None)
        numbered = self._numbered(module, groups[0], request, pd)
        ahead = _PageAhead(self.ctx.config.max_concurrency >= 2)
        try:
            while True:
                if numbered:
                    if not pager.has_next_page:
                        break  # fewer rows than counted: the serial read would have stopped here too
                    page = numbered.pop(0)
                elif ahead.pending:
                    page = ahead.take()
                elif pager.has_next_page:
                    page = api.list_page(self.ctx.http, module, groups[0], **pager.update_request(request))
                else:
                    break
                recs = pager.update_state(page)
                if not recs:
                    return
                if not numbered and pager.has_next_page:
                    # Past the numbered pages a token comes only with the page before: the next page's call
                    # goes out now, while this page's other field groups are fetched and it is converted.
                    ahead.start(partial(api.list_page, self.ctx.http, module, groups[0],
                                        **dict(pager.update_request(request))))
                if len(groups) > 1:
                    self.join_groups(module, groups[1:], recs)
                yield records_to_batch(ts, cols, recs)
                self.ctx.report(module, pager.rows.fetched)
        finally:
            ahead.close()
        if pager.handoff_after is not None:
            # Past 100,000 records page tokens end; continue by id with COQL keyset paging.
            yield from CoqlReader(self.ctx).batches(module, cols, pd, after_id=pager.handoff_after,
                                                    already=pager.rows.fetched)

    def _numbered(self, module: str, fields: list[str], request: dict[str, Any], pd: Pushdown) -> list[api.Page]:
        """Pages 1..n asked at once, when the caller knows the read's size (``expected_rows``).

        Page numbers reach the first 2,000 records (records.md section 1), so up to that many the pages a
        serial read would chain by token (one credit each, until ``more_records`` is false) are asked
        together instead; the last one's ``next_page_token`` goes on. Past 2,000 a token comes only with
        the page before it: those pages wait in turn (the list API takes no id range to split by).
        """
        per = max(1, int(request["per_page"]))
        known, slots = pd.expected_rows, min(self.ctx.config.max_concurrency, HEAVY_LIMIT)
        if known is None or (pd.exact and pd.limit is not None) or slots < 2:
            return []
        n = min(NUMBERED_ROWS // per, math.ceil(known / per))
        if n < 2:
            return []
        return at_once([partial(api.list_page, self.ctx.http, module, fields, page=i,
                                **{**request, "page_token": None}) for i in range(1, n + 1)], slots, "zoho-rest")

    def by_ids(self, module: str, columns: list[str] | None, ids: Iterable[list[str]]) -> Iterator[pa.RecordBatch]:
        """The current rows of the given ids (chunks of at most 100); ids no longer there are left out."""
        ts = self.ctx.catalog.table(module)
        cols = resolve_columns(ts, columns)
        groups = field_groups(ts.fields_for(cols))
        fetched = 0
        for chunk in ids:
            if not chunk:
                continue
            recs = self._fetch_ids(ts.module, groups[0], chunk)
            if recs and len(groups) > 1:
                self.join_groups(ts.module, groups[1:], recs)
            if recs:
                fetched += len(recs)
                yield records_to_batch(ts, cols, recs)
                self.ctx.report(ts.module, fetched)

    def _fetch_ids(self, module: str, fields: list[str], ids: list[str]) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"fields": ",".join(fields), "ids": dialect.ids_param(ids)}
        r = self.ctx.http.get(f"/{module}", params=params, kind="list", what=f"list {module} by ids")
        return [] if r.empty else list(r.body.get("data", []))

    def join_groups(self, module: str, groups: list[list[str]], recs: list[dict[str, Any]]) -> None:
        """The other field groups of these records, by ``?ids=`` (100 a call), the calls sent at once."""
        by_id = {str(r["id"]): r for r in recs}
        ids = list(by_id)
        calls = [(fields, ids[i:i + ID_BATCH]) for fields in groups for i in range(0, len(ids), ID_BATCH)]
        for (fields, _), extras in zip(calls, self._fetch_all(module, calls), strict=True):
            for extra in extras:
                target = by_id.get(str(extra.get("id")))
                if target is not None:
                    target.update({k: v for k, v in extra.items() if k in fields})

    def _fetch_all(self, module: str, calls: list[tuple[list[str], list[str]]]) -> list[list[dict[str, Any]]]:
        """Each ``(fields, ids)`` call's records, in order; up to MaxConcurrency of them in flight."""
        return at_once([partial(self._fetch_ids, module, fields, chunk) for fields, chunk in calls],
                       self.ctx.config.max_concurrency, "zoho-rest")


class _PageAhead:
    """At most one list page in flight ahead of the one being used, on a thread of its own.

    The call runs in a copy of the caller's context: a statement's interrupt (or a run's stop) reaches it
    as it would reach the caller's own calls.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[api.Page] | None = None

    @property
    def pending(self) -> bool:
        return self._future is not None

    def start(self, call: Callable[[], api.Page]) -> None:
        if not self.enabled:
            return  # one call at a time: the reader asks for the next page when it needs it
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-rest-ahead")
        self._future = self._pool.submit(copy_context().run, call)

    def take(self) -> api.Page:
        assert self._future is not None
        future, self._future = self._future, None
        return future.result()

    def close(self) -> None:
        """The reader stopped (or is done): a page asked ahead and not used is not waited for."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

