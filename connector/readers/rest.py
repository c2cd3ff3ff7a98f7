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
* Past 2,000 records a token comes only with the page before it, so those pages wait in turn: a
  whole module of a known size over 2,000 is read from both ends at once (:class:`_Meeting`), the
  same pages by descending id on a thread of its own, until the two meet. Every id is kept by the
  end that reached it first; batches then come in no particular order.
* Leads are read with ``converted=both``: the table holds every record.
* ``modified_since`` becomes ``If-Modified-Since`` (:mod:`.dialects.rest`).
* :meth:`RestReader.by_ids` reads given ids only (a partition's slice).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.api import coql as coql_api
from connector.api import records as api
from connector.errors import ApiError, PermissionDenied, RetriableError
from connector.http.concurrency import HEAVY_LIMIT
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch

from .base import ReaderContext, resolve_columns
from .concurrent import at_once
from .coql import CoqlReader
from .dialects import COQL
from .dialects import rest as dialect
from .dialects.coql import MAX_LIMIT, CoqlQuery
from .paging import PageTokenPaginator

log = logging.getLogger("connector.readers")
ID_BATCH = dialect.MAX_IDS
#: page numbers reach this many records; past them only page tokens do (records.md section 1)
NUMBERED_ROWS = 2_000


def field_groups(fields: list[str], size: int = api.MAX_FIELDS_PER_CALL) -> list[list[str]]:
    if not fields:
        return [["id"]]
    return [fields[i:i + size] for i in range(0, len(fields), size)]


def converted_param(module: str) -> str | None:
    return "both" if module == "Leads" else None  # converted leads belong to the table too


def list_request(module: str, per_page: int, modified_since: datetime | None) -> dict[str, Any]:
    """The parameters of a read's list pages (beside ``fields`` and the page's place): what the reader asks,
    and what a page asked ahead for it must have asked to be taken (:attr:`.base.ReaderContext.first_pages`)."""
    return {"per_page": per_page, "sort_by": dialect.SORT[0], "sort_order": dialect.SORT[1],
            "converted": converted_param(module),
            "if_modified_since": dialect.if_modified_since(modified_since) if modified_since else None}


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
        request = list_request(module, self.ctx.config.page_size, pd.modified_since)
        pager = PageTokenPaginator(pd.limit if pd.exact else None)
        # the first pages asked ahead for exactly this request: the read's pages 1.. (numbered pages ask after them)
        given: list[api.Page] = (self.ctx.first_pages(module, groups[0], request) or []) \
            if self.ctx.first_pages is not None else []
        plan = None if given else self._ends_plan(pd, int(request["per_page"]))
        meeting = _Meeting() if plan is not None else None
        top = _TopEnd(self, module, groups, request, plan[1], meeting) \
            if plan is not None and meeting is not None else None
        numbered = self._numbered(module, groups[0], request, pd, given)
        if numbered:
            given = []  # they are its first pages
        # what a deletion while they were answered moved between two numbered pages: asked beside them
        checked = _Numbered(self, module, groups[0], numbered, int(request["per_page"]), pd) if numbered else None
        ahead = _PageAhead(self.ctx.config.max_concurrency >= 2)
        taken = 0  # pages of this end so far

        def strays() -> Iterator[pa.RecordBatch]:
            recs = checked.strays() if checked is not None else []
            if recs and meeting is not None:
                recs, _ = meeting.claim_low(recs)
            if recs:
                if len(groups) > 1:
                    self.join_groups(module, groups[1:], recs)
                yield records_to_batch(ts, cols, recs)

        def alone() -> bool:
            """This end reads on past its share: the high end is done and the two did not meet (fewer rows
            above than counted, or the count ran low)."""
            return top is None or (top.done.is_set() and not meeting_reached())

        def meeting_reached() -> bool:
            return meeting is not None and (meeting.met or meeting.over)

        try:
            while not meeting_reached():
                if plan is not None and top is not None and taken >= plan[0] and not top.done.is_set():
                    # This end's share is read: the high end's pages first, then on alone only if they did not meet.
                    yield from (records_to_batch(ts, cols, r) for r in top.rest())
                    if meeting_reached():
                        break
                from_numbered = bool(numbered)
                if numbered:
                    if not pager.has_next_page:
                        break  # fewer rows than counted: the serial read would have stopped here too
                    page = numbered.pop(0)
                elif given:
                    page = given.pop(0)
                elif ahead.pending:
                    page = ahead.take()
                elif pager.has_next_page:
                    page = api.list_page(self.ctx.http, module, groups[0], **pager.update_request(request))
                else:
                    break
                taken += 1
                recs = pager.update_state(page)
                if not recs:
                    break
                if from_numbered and checked is not None:
                    recs = checked.fresh(recs)  # a record on two numbered pages (a deletion between them): once
                met = False
                if meeting is not None:
                    recs, met = meeting.claim_low(recs)
                if not numbered and not given and pager.has_next_page and not met and \
                        (plan is None or taken < plan[0] or alone()):
                    # Past the numbered pages a token comes only with the page before: the next page's call
                    # goes out now, while this page's other field groups are fetched and it is converted.
                    ahead.start(partial(api.list_page, self.ctx.http, module, groups[0],
                                        **dict(pager.update_request(request))))
                if recs:
                    if len(groups) > 1:
                        self.join_groups(module, groups[1:], recs)
                    yield records_to_batch(ts, cols, recs)
                    self.ctx.report(module, pager.rows.fetched)
                if top is not None:
                    yield from (records_to_batch(ts, cols, r) for r in top.ready())
                if from_numbered and not numbered and checked is not None:
                    yield from strays()
                    checked.close()
                    checked = None
                if met:
                    break
            yield from strays()  # the numbered pages ended the read (fewer rows than counted)
            if meeting is not None:
                meeting.finish()  # this end is done: the other stops before its next page
            if top is not None:
                yield from (records_to_batch(ts, cols, r) for r in top.rest())
        finally:
            ahead.close()
            if checked is not None:
                checked.close()
            if top is not None:
                top.close()
        if pager.handoff_after is not None and not meeting_reached():
            # Past 100,000 records page tokens end; continue by id with COQL keyset paging.
            rest = CoqlReader(self.ctx).batches(module, cols, pd, after_id=pager.handoff_after,
                                                already=pager.rows.fetched)
            yield from (rest if meeting is None else meeting.below_top(rest))

    def _ends_plan(self, pd: Pushdown, per: int) -> tuple[int, int] | None:
        """The pages each end reads of a whole module read from both ends (None: from the low end only).

        A whole module (no filter, no LIMIT) of a known size past the numbered pages, with slots to spare.
        Together the two ends' shares are the pages a serial read makes, so in a still module their last pages
        share a few rows (kept once) and the read costs a serial read's credits. Where the count is a multiple
        of the page size, shares of the serial read's pages would tile the rows exactly, and only a page more,
        after both, could show that nothing lies between: the shares count that page in from the start (a
        round trip less, for the same calls), so the two ends overlap by a page. The low end reads on only
        when the two have not met: the count was low, or records went meanwhile.
        """
        known = pd.expected_rows
        if (known is None or not NUMBERED_ROWS < known <= api.PAGE_TOKEN_LIMIT or pd.limit is not None
                or pd.modified_since is not None or pd.keys or self.ctx.config.max_concurrency < 2):
            return None
        per = max(1, per)
        pages, numbered = known // per + 1, NUMBERED_ROWS // per  # (the page more, where ``per`` divides it)
        # The low end's numbered pages come in one round trip, then each end chains its tokens: shares that
        # end together. (The high end asks no numbered pages: a page number is an offset, and the newest
        # records, where it starts, are the likeliest to be deleted meanwhile, which shifts every later page
        # by one and would hide a record between two of them.)
        low = max(numbered, math.ceil((pages + numbered - 1) / 2))
        return low, pages - low

    def _numbered(self, module: str, fields: list[str], request: dict[str, Any], pd: Pushdown,
                  first: Sequence[api.Page] = ()) -> list[api.Page]:
        """Pages 1..n asked at once, when the caller knows the read's size (``expected_rows``).

        Page numbers reach the first 2,000 records (records.md section 1), so up to that many the pages a
        serial read would chain by token (one credit each, until ``more_records`` is false) are asked
        together instead; the last one's ``next_page_token`` goes on. Past 2,000 a token comes only with
        the page before it: those pages wait in turn (the list API takes no id range to split by).
        ``first``: pages 1.., asked already (:attr:`~.base.ReaderContext.first_pages`): the others are asked;
        none when they are all the read needs (the read takes them, then chains tokens if they say more).
        """
        n = self._numbered_pages(request, pd)
        if n < 2 or n <= len(first):
            return []
        slots = min(self.ctx.config.max_concurrency, HEAVY_LIMIT)
        pages = at_once([partial(api.list_page, self.ctx.http, module, fields, page=i,
                                 **{**request, "page_token": None}) for i in range(len(first) + 1, n + 1)],
                        slots, "zoho-rest")
        return [*first, *pages]

    def _numbered_pages(self, request: dict[str, Any], pd: Pushdown) -> int:
        """How many numbered pages :meth:`_numbered` asks at once (below 2: none, the read chains tokens)."""
        per = max(1, int(request["per_page"]))
        known, slots = pd.expected_rows, min(self.ctx.config.max_concurrency, HEAVY_LIMIT)
        if known is None or (pd.exact and pd.limit is not None) or slots < 2:
            return 0
        return min(NUMBERED_ROWS // per, math.ceil(known / per))

    def _strays(self, module: str, fields: list[str], pages: list[api.Page], per: int, pd: Pushdown
                ) -> list[dict[str, Any]]:
        """Records a deletion while the numbered pages were answered left between two of them.

        A page number is an offset: a record deleted after page k was answered and before page k+1 was
        shifts every later record up by one, so the record that moved onto page k's last place is on
        neither page (and one on both, which :class:`_Numbered` drops). A serial read chains tokens and
        never sees it happen. So once the pages are in, one COQL count over the gaps between consecutive
        pages (ids above the highest so far and below the next page's first; 1 credit) says whether
        anything lies there; when something does, its ids, then its rows by ``?ids=``.
        """
        gaps = _Numbered.gaps(pages, per)
        if not gaps or "COQL" not in self.ctx.catalog.table(module).read_apis:
            return []  # nothing between them; or a module COQL does not serve (no count to size it either)
        between = COQL.group("or", [f"(id > {a} and id < {b})" for a, b in gaps])
        # the pages were those of If-Modified-Since when it is set: the same rows here
        since = (COQL.at_or_after("Modified_Time", pd.modified_since),) if pd.modified_since is not None else ()
        query = CoqlQuery(module, ("id",), (*since, between), limit=MAX_LIMIT, order_by=(("id", True),))
        try:
            counted = coql_api.ask(self.ctx.http, query.count())
        except (ApiError, PermissionDenied) as exc:
            if isinstance(exc, RetriableError):
                raise  # Zoho is not answering: the read stops as with any of its calls
            log.warning("%s: cannot check the numbered list pages for a record moved between them (%s); a "
                        "record deleted while they were answered may hide another", module, exc)
            return []
        if counted.empty or not int((counted.body.get("data") or [{}])[0].get("COUNT(id)") or 0):
            return []
        ids: list[str] = []
        while True:  # keyset by id: as many as there are
            got = coql_api.ask(self.ctx.http, replace(query, after_id=ids[-1] if ids else None).text())
            page_ids = [] if got.empty else [str(r["id"]) for r in got.body.get("data") or []]
            ids += page_ids
            if len(page_ids) < MAX_LIMIT:
                break
        log.info("%s: %d record(s) moved between two numbered list pages while they were answered (a deletion "
                 "meanwhile); read by id", module, len(ids))
        return [r for k in range(0, len(ids), ID_BATCH) for r in self._fetch_ids(module, fields, ids[k:k + ID_BATCH])]

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


class _Numbered:
    """The numbered pages of a read (asked at once, each an offset into the module), made whole again.

    A record deleted while they were answered shifts the later pages by one: the record that moved
    across a page boundary is on neither page, and one is on both. :meth:`fresh` keeps each id once (pages
    come in ascending ids); :meth:`strays` gives the records between two pages, asked on a thread of its
    own as soon as the pages are in (:meth:`RestReader._strays`), so it rides beside the pages' conversion.
    """

    def __init__(self, reader: RestReader, module: str, fields: list[str], pages: list[api.Page], per: int,
                 pd: Pushdown) -> None:
        self.highest: int | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-rest-gaps")
        self._future = self._pool.submit(copy_context().run, reader._strays, module, fields, list(pages), per, pd)

    @staticmethod
    def gaps(pages: list[api.Page], per: int) -> list[tuple[int, int]]:
        """(highest id so far, next page's first new id) wherever something may lie between: after a full page."""
        out: list[tuple[int, int]] = []
        top: int | None = None
        full = False
        for page in pages:
            ids = [int(r["id"]) for r in page.records]
            fresh = [i for i in ids if top is None or i > top]
            if top is not None and full and fresh and fresh[0] > top + 1:
                out.append((top, fresh[0]))
            if fresh:
                top = max(fresh)
            full = len(ids) >= per
        return out

    def fresh(self, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keep = recs if self.highest is None else [r for r in recs if int(r["id"]) > self.highest]
        if keep:
            self.highest = max(int(r["id"]) for r in keep) if self.highest is None else \
                max(self.highest, *(int(r["id"]) for r in keep))
        return keep

    def strays(self) -> list[dict[str, Any]]:
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Meeting:
    """Where a read from both ends of a module's id order stands: every id is kept by one end only.

    The low end reads ascending ids and keeps those below the lowest id the high end kept; the high end
    reads descending ids and keeps those above the highest the low end kept. Each page's ids are contiguous
    in id order, so when a page reaches past the other end's frontier, every id between the two was in it
    or was kept by the other end already: no id twice, none skipped (records created meanwhile have higher
    ids than any before them, as in a one-ended read).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.low: int | None = None  # the highest id the low end kept
        self.high: int | None = None  # the lowest id the high end kept
        self.met = False
        self.over = False  # one end finished: the other stops at its next page

    def claim_low(self, recs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """The records of the low end's page no one has kept (ids below the high end's), and whether it met it."""
        return self._claim(recs, low=True)

    def claim_high(self, recs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        return self._claim(recs, low=False)

    def _claim(self, recs: list[dict[str, Any]], *, low: bool) -> tuple[list[dict[str, Any]], bool]:
        with self._lock:
            other = self.high if low else self.low
            keep = recs if other is None else [r for r in recs if (int(r["id"]) < other) == low
                                                and int(r["id"]) != other]
            if keep:
                ids = [int(r["id"]) for r in keep]
                if low:
                    self.low = max(ids if self.low is None else [self.low, *ids])
                else:
                    self.high = min(ids if self.high is None else [self.high, *ids])
            met = len(keep) < len(recs)
            self.met |= met
            return keep, met

    def finish(self) -> None:
        with self._lock:
            self.over = True

    def below_top(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Rows past the low end's page tokens (read by COQL keyset) that the high end has not kept."""
        for b in batches:
            with self._lock:
                high = self.high
            if high is not None:
                b = b.filter(pc.less(pc.cast(b.column("id"), pa.int64()), high))
            if b.num_rows:
                yield b


_DONE = object()
#: pages the high end may have read and not yet handed to the reader's thread
TOP_PAGES_AHEAD = 4


class _TopEnd:
    """The high end of a read from both ends: descending ids, pages chained by token, on a thread of
    its own (in a copy of the caller's context: a stop reaches its calls too). Its pages' records, kept by
    :class:`_Meeting` and joined with their other field groups, wait in a queue for the reader's thread."""

    def __init__(self, reader: RestReader, module: str, groups: list[list[str]], request: dict[str, Any],
                 share: int, meeting: _Meeting) -> None:
        self.reader, self.module, self.groups, self.meeting = reader, module, groups, meeting
        # Sorted explicitly (a heavy call, like the low end's): the claim rule needs pages contiguous in id order,
        # and only an explicit sort_by says so whatever the org's default
        self.request = {**request, "sort_by": "id", "sort_order": "desc"}
        self.share = share  # pages this end reads, at most
        # pages waiting for the reader's thread: bounded, so a slow consumer holds this end back (memory stays
        # that of a few pages, as with the low end's one page ahead)
        self.out: queue.Queue[object] = queue.Queue(TOP_PAGES_AHEAD)
        self.stop = threading.Event()
        self.done = threading.Event()  # this end will read no more pages
        self.thread = threading.Thread(target=copy_context().run, args=(self._run,), name="zoho-rest-top",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            reader, meeting = self.reader, self.meeting
            pager = PageTokenPaginator(None)
            taken, last = 0, None
            while taken < self.share and not self.stop.is_set() and not meeting.over:
                if pager.has_next_page:
                    page = api.list_page(reader.ctx.http, self.module, self.groups[0],
                                         **pager.update_request(self.request))
                else:
                    break
                taken += 1
                recs = pager.update_state(page)
                if not recs:
                    break
                ids = [int(r["id"]) for r in recs]
                if any(a <= b for a, b in zip(ids, ids[1:], strict=False)) or (last is not None and ids[0] >= last):
                    # Not descending ids after the page before (an answer not sorted as asked, or a token that
                    # does not go on where its page ended): keep nothing of it; the low end reads on alone.
                    log.info("%s: a page from the high end is not in descending id order after the one before; "
                             "reading on from the low end only", self.module)
                    break
                last = ids[-1]
                recs, met = meeting.claim_high(recs)
                if recs:
                    if len(self.groups) > 1:
                        reader.join_groups(self.module, self.groups[1:], recs)
                    self._put(recs)
                if met:
                    break
            if not pager.has_next_page and pager.handoff_after is None and last is not None:
                meeting.finish()  # read down to the lowest id (or met): the low end has nothing left to read
            self._put(_DONE)
        except BaseException as exc:  # raised in the reader's thread
            self._put(exc)
        finally:
            self.done.set()

    def _put(self, item: object) -> None:
        """Hand ``item`` over, waiting while the queue is full; nobody takes any more once the reader closed."""
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _item(self, item: object) -> list[dict[str, Any]] | None:
        if item is _DONE:
            self.out.put_nowait(_DONE)  # stays done for later takes (the thread put nothing after it)
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, list)
        return item

    def ready(self) -> Iterator[list[dict[str, Any]]]:
        """Pages this end has ready now, without waiting."""
        while True:
            try:
                item = self.out.get_nowait()
            except queue.Empty:
                return
            recs = self._item(item)
            if recs is None:
                return
            yield recs

    def rest(self) -> Iterator[list[dict[str, Any]]]:
        """Every page until this end is done."""
        while (recs := self._item(self.out.get())) is not None:
            yield recs

    def close(self) -> None:
        self.stop.set()


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

