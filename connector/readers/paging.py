"""Paginators, dlt style: small objects that know how one API pages, so the readers do not.

A reader's loop is the same for every API::

    while pager.has_next_page:
        request = pager.update_request(request)   # where the next page starts
        response = fetch(request)
        rows = pager.update_state(response)       # where the one after starts; the rows to keep
        yield convert(rows)

``update_state`` returns the rows of the page the read keeps (an exact LIMIT
may cut the last page). The limits each paginator pages around are Zoho's:

* :class:`PageTokenPaginator` — the list API: ``page_token`` chaining, which
  ends at 100,000 records (records.md section 1); past it ``handoff_after`` is
  the last id read, and the REST reader goes on with COQL keyset paging.
* :class:`CoqlKeysetPaginator` — COQL: ``id > <last id>`` ordered by id, no
  OFFSET, so no 100,000 ceiling (search-and-coql.md B.2); the first call asks
  for 200 rows (1 credit), later ones for 2,000 (3 credits).
* :class:`SearchPaginator` — Search: page numbers of 200 up to its 2,000-record
  cap; ``capped`` says more matched than search can list (A.4).
* :class:`BulkJobPaginator` — Bulk Read: one job per 200,000-row page, the
  next one asked for by ``next_page_token`` (else ``page + 1``) (bulk-read.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol, Self, TypeVar

from connector.api import coql as coql_api
from connector.api.records import MAX_PER_PAGE, PAGE_TOKEN_LIMIT, Page
from connector.http.client import ZohoHttp
from connector.schema.json_page import PageDecoder, RecordPage

from .dialects.coql import MAX_LIMIT, CoqlQuery

Row = dict[str, Any]


class _Cuttable(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> Self: ...


R = TypeVar("R", bound=_Cuttable)


def coql_page(http: ZohoHttp, select_query: str, decoder: PageDecoder | None = None) -> RecordPage:
    """One COQL statement's page, decoded by ``decoder`` (Arrow where the values allow:
    :mod:`connector.schema.json_page`), by ``json`` without one; a 204 is an empty page."""
    r = coql_api.ask(http, select_query)
    if r.empty:
        return RecordPage([])
    return (decoder or PageDecoder(None)).page(r.content, lambda: r.body)

#: COQL charges 1 credit up to LIMIT 200 and 3 up to 2,000 (search-and-coql.md B.7): most filtered
#: reads and deltas are small, so a keyset read starts with a 200-row call
CHEAP_LIMIT = 200
#: the LIMITs at which COQL's charge steps up (1, 2, 3 credits)
CREDIT_STEPS = (CHEAP_LIMIT, 1_000, MAX_LIMIT)
SEARCH_CAP = 2_000
BULK_PAGE_ROWS = 200_000


def first_coql_page(expected: int | None) -> int:
    """The LIMIT of a keyset read's first call. Unknown size: 200 (1 credit; most filtered reads and
    deltas are small). A known size that fits in one call: the cheapest step above it, so the read is
    one call (945 rows: LIMIT 1,000, 2 credits, instead of 200 then 2,000: 4 credits, a round trip
    more). A longer one: 2,000 where the rows past its last full page of 2,000 number 200 or more, since
    the pages after a first page of 200 would then be as many as the pages without it (21,000 rows: 11
    calls and 33 credits, not 12 and 34); else 200, the same calls for fewer credits. The size is an
    estimate; a read longer than it goes on with pages of 2,000 as ever."""
    if expected is None:
        return CHEAP_LIMIT
    if expected >= MAX_LIMIT:
        return MAX_LIMIT if expected % MAX_LIMIT >= CHEAP_LIMIT else CHEAP_LIMIT
    # one more than expected: a full page would mean another call to learn that nothing follows
    return next((step for step in CREDIT_STEPS if expected + 1 <= step), CHEAP_LIMIT)


class RowLimit:
    """Rows an exact LIMIT still allows (None: no limit)."""

    def __init__(self, limit: int | None, already: int = 0) -> None:
        self.limit = limit
        self.fetched = already

    @property
    def room(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.fetched)

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.fetched >= self.limit

    def take(self, rows: R) -> R:
        room = self.room
        kept = rows if room is None else rows[:room]
        self.fetched += len(kept)
        return kept


class PageTokenPaginator:
    """``GET /{module}`` sorted by id, chained by ``page_token`` until 100,000 records."""

    def __init__(self, limit: int | None = None, *, ceiling: int = PAGE_TOKEN_LIMIT) -> None:
        self.rows = RowLimit(limit)
        self.ceiling = ceiling
        self.token: str | None = None
        self.last_id: str | None = None
        self.has_next_page = True
        #: the last id read when page tokens ran out with records left: go on by COQL keyset from here
        self.handoff_after: str | None = None

    def update_request(self, request: dict[str, Any]) -> dict[str, Any]:
        request["page_token"] = self.token
        return request

    def update_state(self, page: Page) -> list[Row]:
        kept = self.rows.take(page.records)
        if not kept:
            self.has_next_page = False
            return kept
        self.last_id = str(kept[-1]["id"])
        self.has_next_page = False
        if self.rows.reached or not page.more:
            return kept
        if self.rows.fetched >= self.ceiling or not page.next_page_token:
            # Tokens end at 100,000 records (or Zoho sent none): the rest is read by id, which has no ceiling.
            self.handoff_after = self.last_id
            return kept
        self.token = page.next_page_token
        self.has_next_page = True
        return kept


class CoqlKeysetPaginator:
    """``where ... and id > <last id> order by id limit n``: every row once, however many there are."""

    def __init__(self, limit: int | None = None, *, after_id: str | None = None, already: int = 0,
                 first_page: int = CHEAP_LIMIT, page: int = MAX_LIMIT) -> None:
        self.rows = RowLimit(limit, already)
        self.after_id = after_id
        self.page = page
        self.want = self._want(first_page)
        self.has_next_page = self.want > 0

    def _want(self, size: int) -> int:
        room = self.rows.room
        return size if room is None else min(size, room)

    def update_request(self, query: CoqlQuery) -> CoqlQuery:
        return replace(query, after_id=self.after_id, limit=self.want, order_by=(("id", True),))

    def update_state(self, rows: RecordPage) -> RecordPage:
        asked = self.want
        kept = self.rows.take(rows)
        if not kept:
            self.has_next_page = False
            return kept
        self.after_id = kept.ids[-1]
        self.want = self._want(self.page)
        self.has_next_page = self.want > 0 and (len(rows) >= asked or rows.more)
        return kept


class SearchPaginator:
    """``GET /{module}/search`` page numbers; at most 2,000 records are reachable."""

    def __init__(self, *, per_page: int = MAX_PER_PAGE, cap: int = SEARCH_CAP) -> None:
        self.per_page = per_page
        self.cap = cap
        self.page = 1
        self.has_next_page = True
        #: more records matched than search can list: the answer must come from elsewhere
        self.capped = False

    def update_request(self, params: dict[str, Any]) -> dict[str, Any]:
        params["page"] = self.page
        params["per_page"] = self.per_page
        return params

    def update_state(self, records: list[Row], more: bool) -> list[Row]:
        self.has_next_page = False
        if not records or not more:
            return records
        if self.page * self.per_page >= self.cap:
            self.capped = True
            return records
        self.page += 1
        self.has_next_page = True
        return records


class BulkJobPaginator:
    """One Bulk Read job per page of 200,000 rows; the next job continues where the last one ended."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.page = 1
        self.token: str | None = None
        self.exported = 0
        self.has_next_page = True

    def update_request(self, request: dict[str, Any]) -> dict[str, Any]:
        # A token is bound to the query and continues after the last exported row; it wins over `page`.
        request["page"] = self.page
        request["page_token"] = self.token
        return request

    def update_state(self, page: int, count: int, more: bool, next_page_token: str | None) -> None:
        """What the completed job said: its page number, rows, ``more_records`` and ``next_page_token``."""
        self.exported += count
        self.has_next_page = more and (self.limit is None or self.exported < self.limit)
        if self.has_next_page:
            self.page = page + 1
            self.token = next_page_token
