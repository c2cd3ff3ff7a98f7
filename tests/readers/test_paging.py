"""The paginators on their own: what each asks for next, when it stops, and what it keeps.

They are pure state machines fed with the pages Zoho answers (the readers'
loops over real HTTP are covered by the contract suite and test_scale.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.api.records import Page
from connector.readers.dialects.coql import CoqlQuery
from connector.readers.paging import (
    BulkJobPaginator,
    CoqlKeysetPaginator,
    PageTokenPaginator,
    RowLimit,
    SearchPaginator,
)
from connector.schema.json_page import RecordPage


def rows(first: int, n: int) -> list[dict[str, Any]]:
    return [{"id": str(5843104000000000000 + i)} for i in range(first, first + n)]


def test_row_limit() -> None:
    unlimited = RowLimit(None)
    assert unlimited.take(rows(0, 3)) == rows(0, 3) and unlimited.room is None and not unlimited.reached
    limit = RowLimit(5, already=1)
    assert limit.take(rows(0, 3)) == rows(0, 3) and limit.room == 1
    assert limit.take(rows(3, 3)) == rows(3, 1) and limit.reached and limit.take(rows(9, 2)) == []


def test_page_tokens_chain_until_more_records_is_false() -> None:
    pager = PageTokenPaginator()
    request: dict[str, Any] = {"per_page": 200}
    assert pager.update_request(request) == {"per_page": 200, "page_token": None}
    assert pager.update_state(Page(rows(0, 200), True, "t1", 200)) == rows(0, 200)
    assert pager.has_next_page and pager.update_request(request)["page_token"] == "t1"
    assert pager.update_state(Page(rows(200, 10), False, None, 200)) == rows(200, 10)
    assert not pager.has_next_page and pager.handoff_after is None and pager.rows.fetched == 210


def test_page_tokens_hand_off_to_the_coql_keyset_at_their_ceiling() -> None:
    pager = PageTokenPaginator(ceiling=400)
    pager.update_state(Page(rows(0, 200), True, "t1", 200))
    pager.update_state(Page(rows(200, 200), True, "t2", 200))
    assert not pager.has_next_page and pager.handoff_after == rows(399, 1)[0]["id"]


def test_page_tokens_missing_a_token_go_on_by_id_rather_than_loop() -> None:
    pager = PageTokenPaginator()
    pager.update_state(Page(rows(0, 200), True, None, 200))
    assert not pager.has_next_page and pager.handoff_after == rows(199, 1)[0]["id"]


def test_page_tokens_stop_at_an_exact_limit_and_on_an_empty_page() -> None:
    pager = PageTokenPaginator(limit=250)
    pager.update_state(Page(rows(0, 200), True, "t1", 200))
    assert pager.update_state(Page(rows(200, 200), True, "t2", 200)) == rows(200, 50)
    assert not pager.has_next_page and pager.handoff_after is None
    empty = PageTokenPaginator()
    assert empty.update_state(Page([], False, None, 204)) == [] and not empty.has_next_page


def test_coql_keyset_starts_cheap_then_pages_by_2000_after_the_last_id() -> None:
    pager = CoqlKeysetPaginator()
    base = CoqlQuery("Leads", ("id",), ("Amount > 5",), upto_id="5843104000000099999")
    first = pager.update_request(base)
    assert (first.limit, first.after_id, first.upto_id) == (200, None, "5843104000000099999")
    pager.update_state(RecordPage(rows(0, 200), more=True))
    second = pager.update_request(base)
    assert (second.limit, second.after_id) == (2000, rows(199, 1)[0]["id"])
    assert second.text().endswith("and (id > 5843104000000000199)) and (id <= 5843104000000099999)) "
                                  "order by id asc limit 2000")
    pager.update_state(RecordPage(rows(200, 1500), more=False))  # a short page without more_records: the end
    assert not pager.has_next_page and pager.rows.fetched == 1700


def test_coql_keyset_goes_on_after_a_short_page_that_says_more() -> None:
    pager = CoqlKeysetPaginator()
    pager.update_state(RecordPage(rows(0, 150), more=True))
    assert pager.has_next_page
    pager.update_state(RecordPage([]))
    assert not pager.has_next_page


@pytest.mark.parametrize(("limit", "already", "asks"), [
    (150, 0, [150]),  # one cheap call
    (2_500, 0, [200, 2000, 300]),
    (2_500, 2_400, [100]),  # the REST hand-off carries what was already read
    (100, 100, []),  # nothing left to read: no call at all
])
def test_coql_keyset_asks_only_for_rows_an_exact_limit_allows(limit: int, already: int, asks: list[int]) -> None:
    pager = CoqlKeysetPaginator(limit, after_id="5843104000000000000", already=already)
    got, at = [], 1
    while pager.has_next_page:
        want = pager.update_request(CoqlQuery("Leads")).limit or 0
        got.append(want)
        pager.update_state(RecordPage(rows(at, want), more=True))
        at += want
    assert got == asks


def test_search_pages_stop_at_the_cap_and_say_so() -> None:
    pager = SearchPaginator(per_page=200, cap=2000)
    params: dict[str, Any] = {"criteria": "(a:equals:1)"}
    pages = 0
    while pager.has_next_page:
        assert pager.update_request(params) == {"criteria": "(a:equals:1)", "page": pages + 1, "per_page": 200}
        pager.update_state(rows(pages * 200, 200), True)
        pages += 1
    assert pages == 10 and pager.capped


@pytest.mark.parametrize(("answers", "pages", "capped"), [
    ([(200, True), (37, False)], 2, False),
    ([(0, False)], 1, False),  # 204: no match
    ([(200, True), (200, False)], 2, False),
])
def test_search_pages_below_the_cap(answers: list[tuple[int, bool]], pages: int, capped: bool) -> None:
    pager = SearchPaginator()
    seen = 0
    for n, more in answers:
        assert pager.has_next_page
        pager.update_request({})
        pager.update_state(rows(seen, n), more)
        seen += n
    assert not pager.has_next_page and pager.page == pages and pager.capped is capped


def test_bulk_jobs_continue_by_token_else_by_page_number() -> None:
    pager = BulkJobPaginator()
    assert pager.update_request({}) == {"page": 1, "page_token": None}
    pager.update_state(1, 200_000, True, "tok-1")
    assert pager.has_next_page and pager.update_request({}) == {"page": 2, "page_token": "tok-1"}
    pager.update_state(2, 200_000, True, None)  # no token (v6 style): page 3 by number
    assert pager.update_request({}) == {"page": 3, "page_token": None}
    pager.update_state(3, 12, False, None)
    assert not pager.has_next_page and pager.exported == 400_012


def test_bulk_jobs_stop_once_an_exact_limit_is_exported() -> None:
    pager = BulkJobPaginator(limit=250_000)
    pager.update_state(1, 200_000, True, "t")
    assert pager.has_next_page
    pager.update_state(2, 200_000, True, "t2")
    assert not pager.has_next_page
