"""A COQL keyset read cut into id slices read at once, for no credit more than reading it in turn.

Credits go by LIMIT (1 up to 200 rows, 2 up to 1,000, 3 up to 2,000: search-and-coql.md
B.7), so a read costs what its pages cost. Read in turn, the rows after the first
page come in pages of 2,000 and the read ends at the first short page. A split read
makes **the same number of 2,000-row pages and no other call**:

* no COUNT: the rows to expect are a count the caller already holds (the planner's
  statistics, the sync's record count: ``Pushdown.expected_rows``); without one the
  read is not split, since a COUNT bought here can cost a credit the pages never win
  back (a read whose last page is nearly full gains nothing from knowing its size);
* no bound calls: slice ``j``'s first page is itself a page of the read, asked by
  offset (``id > a order by id limit 2000 offset o``), one row early — its first row
  is the last row of slice ``j - 1``. That row is slice ``j - 1``'s upper bound
  (``id <= b``), an id that exists, so the slices tile the id line whatever changes
  meanwhile, and slice ``j - 1`` stops when it reads it, without an empty call;
* whole pages: every slice but the last holds ``2000 k - 1`` rows of its own (the
  first ``2000 k``), so it ends on a page boundary. The overlap rows shift the last
  page by one row per slice; the plan keeps that shift inside the last page (fewer
  slices when the last page is nearly full), so the pages are the serial read's count.

A count that is wrong (stale statistics, records created or deleted meanwhile) never
makes an answer wrong — ranges are ids read from the module — only the pages can then
differ from the serial read's by one.

A slice's second page is asked as soon as its own first page is in, without waiting for the
others' (whose first rows bound it): ``id > <its last id>``, with no upper bound yet, cut at the
bound once that is known (ids rise). Only where the plan gives the slice more than one page, so
the call is one the read makes anyway; the slowest first page no longer holds every slice back.

OFFSET + LIMIT is capped at 100,000 (B.2): an offset counts from the nearest id
already known (the read's start, or the last row of a slice's first page), so a read
longer than that finds its later slices in a few waves of first pages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from connector.schema.json_page import PageDecoder, RecordPage

from .base import ReaderContext
from .concurrent import at_once, started
from .dialects.coql import MAX_LIMIT, MAX_OFFSET_PLUS_LIMIT, CoqlQuery
from .paging import coql_page

Row = dict[str, Any]
#: pages a slice may hold: the next slice's first page is then within an offset of 100,000 of this one's
REACH_PAGES = (MAX_OFFSET_PLUS_LIMIT - MAX_LIMIT) // MAX_LIMIT + 1


def plan(left: int, slots: int, page: int = MAX_LIMIT) -> list[int]:
    """Where each slice's own rows start (0-based positions among the ``left`` rows still to read).

    ``[0]`` alone: no split. Slice 0 holds ``2000 k0`` rows, slice ``j`` (not the last) ``2000 kj - 1``
    (its first page starts one row early); the pages (``sum kj``) are those of a serial read of ``left``
    rows, ``left // page + 1`` (it ends at a short or empty page), as long as the ``n - 1`` overlap rows
    fit in the last page's room.
    """
    if left <= 0 or slots < 2 or page < 2:
        return [0]
    pages = left // page + 1
    n = min(slots, pages, page - left % page)
    if n < 2:
        return [0]
    extra = pages % n  # the later slices take a page more: the last one's last page is the partial one
    sizes = [pages // n + (1 if j >= n - extra else 0) for j in range(n)]
    if max(sizes[:-1]) > REACH_PAGES:  # each slice's first page must be an offset away from the one before it
        sizes = [REACH_PAGES] * (n - 1) + [pages - REACH_PAGES * (n - 1)]
    starts = [0, page * sizes[0]]
    for k in sizes[1:-1]:
        starts.append(starts[-1] + page * k - 1)
    return starts


@dataclass
class Slice:
    """One id range ``after < id <= upto`` (``upto`` None: to the end) and the rows its first page brought."""

    after: str | None
    upto: str | None
    rows: RecordPage
    #: its first page ended the range (short, or reached ``upto``): nothing more to ask
    done: bool
    #: its next page (``id >`` the first page's last id, no upper bound: cut at ``upto``), asked already
    ahead: Callable[[], RecordPage] | None = None
    #: the rows a page of the slice asks for
    page: int = MAX_LIMIT


def plan_after_head(left: int, head: int, slots: int, page: int = MAX_LIMIT) -> list[int]:
    """The slices of a read of ``left`` rows that are asked together with its first page of ``head`` rows
    (a cheap LIMIT), for no credit more than reading that page first: their starts counted from the head's
    last row, which is the first slice's overlap row (so every slice, the first too, starts one row early
    and the head's bound is an id that exists). ``[]``: read the head first, then split (:func:`plan`).

    The rows after the head's last row, that row included, are read in the pages a serial read of them
    makes; that is the serial read's count of pages after the head unless the rows after the head fill
    their last page but one row (then the overlap row would add a page), which is left to the head-first way.
    """
    rest = left - head
    if head >= page or rest <= 0 or slots < 1 or rest % page == page - 1:
        return []
    return plan(rest + 1, slots, page)


def first_pages(ctx: ReaderContext, query: CoqlQuery, after: str | None, starts: Sequence[int],
                decoder: PageDecoder | None = None, page: int = MAX_LIMIT, head: int = 0,
                total: int | None = None) -> list[Slice]:
    """Every slice's first page, asked at once (in waves where an offset would pass 100,000), as slices.

    ``query``: the read (its fields and WHERE); ``after``: the last id read; ``decoder``: the read's
    (:class:`~connector.schema.json_page.PageDecoder`; None: by ``json``). Slice 0's first page is the
    keyset page ``id > after``; slice ``j``'s starts at position ``starts[j] - 1`` (the overlap row).

    ``head``: a first page of that many rows (``id > after``) goes out with the first wave and is a slice
    of its own, before the others; ``starts`` then count from its last row (:func:`plan_after_head`), and
    slice 0 starts at that row, one row early like the others.

    ``total``: the rows the plan expects, counted from the same position as ``starts``. A slice the plan
    gives more than its first page asks its second as soon as its first is in (:attr:`Slice.ahead`);
    without ``total`` the last slice waits to be read.
    """
    got: dict[int, tuple[RecordPage, Callable[[], RecordPage] | None]] = {}
    # (position, id): rows after the id are counted from the position; with a head, position 0 is its last row
    anchors: list[tuple[int, str | None]] = [(-head if head else -1, after)]
    first: list[CoqlQuery] = [replace(query, after_id=after, upto_id=None, limit=head, offset=0,
                                      order_by=(("id", True),))] if head else []
    heads: list[RecordPage] = []
    todo = list(range(len(starts)))
    while todo:
        wave: list[tuple[int, CoqlQuery]] = []
        for j in todo:
            at = max(starts[j] - 1, 0)  # the position of the page's first row
            pos, aid = max((a for a in anchors if a[0] < at), key=lambda a: a[0])
            offset = at - pos - 1
            if offset + page > MAX_OFFSET_PLUS_LIMIT:
                break  # later slices wait for an anchor nearer to them (this wave's pages give some)
            wave.append((j, replace(query, after_id=aid, upto_id=None, limit=page, offset=offset,
                                    order_by=(("id", True),))))
        if not wave:
            break  # no anchor within reach (the plan keeps every start within one): the slice before goes on
        calls = [_ask(ctx, q, decoder) for q in first]
        calls += [_ask(ctx, q, decoder, page if _goes_on(starts, j, total, page) else None) for j, q in wave]
        answers = at_once(calls, len(calls), "zoho-first-pages")
        heads += [rows for rows, _ in answers[:len(first)]]
        answers, first = answers[len(first):], []
        for (j, _), answer in zip(wave, answers, strict=True):
            got[j] = answer
            rows = answer[0]
            if rows:
                anchors.append((max(starts[j] - 1, 0) + len(rows) - 1, rows.ids[-1]))
        todo = todo[len(wave):]
        if any(not got[j][0] for j, _ in wave):
            break  # a page found nothing: the module ends before it, the later slices hold nothing
    pages = [got.get(j, (RecordPage([]), None)) for j in range(len(starts))]
    if not head:
        return _slices(after, pages, page)
    if first:  # no wave went out (none could): the head alone
        heads = [rows for rows, _ in at_once([_ask(ctx, q, decoder) for q in first], 1, "zoho-first-pages")]
    return _slices(after, [*((rows, None) for rows in heads), *pages], page, head)


def _goes_on(starts: Sequence[int], j: int, total: int | None, page: int) -> bool:
    """Whether the plan gives slice ``j`` rows past its first page (which starts at ``starts[j] - 1``)."""
    end = starts[j + 1] if j + 1 < len(starts) else total
    return end is not None and end - 1 > max(starts[j] - 1, 0) + page - 1


def _ask(ctx: ReaderContext, query: CoqlQuery, decoder: PageDecoder | None, then: int | None = None
         ) -> Callable[[], tuple[RecordPage, Callable[[], RecordPage] | None]]:
    """The call of ``query``'s page; ``then``: a full page's next keyset page (that many rows, no upper
    bound) is asked as soon as the page is in, and handed back beside it to be taken later."""
    def call() -> tuple[RecordPage, Callable[[], RecordPage] | None]:
        rows = coql_page(ctx.http, query.text(), decoder)
        if then is None or len(rows) < (query.limit or 0):
            return rows, None
        nxt = replace(query, after_id=rows.ids[-1], upto_id=None, limit=then, offset=0, order_by=(("id", True),))
        return rows, started(lambda: coql_page(ctx.http, nxt.text(), decoder), "zoho-second-page")
    return call


def _slices(after: str | None, pages: list[tuple[RecordPage, Callable[[], RecordPage] | None]], page: int,
            head: int = 0) -> list[Slice]:
    """The first pages (each with its next page when asked already) as slices: each one's first row bounds
    the slice before it; later rows cut at it. ``head``: ``pages[0]`` asked that many rows (else ``page``)."""
    bounds: list[str] = []
    for rows, _ in pages[1:]:
        if not rows or (bounds and int(rows.ids[0]) <= int(bounds[-1])) \
                or (after is not None and int(rows.ids[0]) <= int(after)):
            break  # the module ends before this slice (or the ids did not rise): the slice before goes on
        bounds.append(rows.ids[0])
    out: list[Slice] = []
    lower = after
    for j in range(len(bounds) + 1):
        upto = bounds[j] if j < len(bounds) else None
        asked, ahead = pages[j]
        own = asked if j == 0 else asked[1:]  # the overlap row is the slice before's last
        kept = own if upto is None else own[:_upto(own, upto)]
        done = len(asked) < (head or page if j == 0 else page) or len(kept) < len(own) \
            or (upto is not None and bool(kept) and kept.ids[-1] == upto)
        out.append(Slice(lower, upto, kept, done, None if done else ahead, page))
        lower = upto
    return out


def _upto(rows: RecordPage, upto: str) -> int:
    """How many of ``rows`` (ids rising) are at or below ``upto``."""
    return sum(1 for i in rows.ids if int(i) <= int(upto))


def next_of(part: Slice) -> tuple[RecordPage, bool] | None:
    """The slice's next page asked already (:attr:`Slice.ahead`), cut at its upper bound, and whether the
    slice ends with it; None when none was asked."""
    if part.ahead is None:
        return None
    rows = part.ahead()
    kept = rows if part.upto is None else rows[:_upto(rows, part.upto)]
    return kept, len(rows) < part.page or len(kept) < len(rows) or (bool(kept) and kept.ids[-1] == part.upto)
