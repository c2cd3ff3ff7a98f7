"""A COQL read split into slices read at once costs no credit more than the same read in turn.

The emulator's own credit counter, for reads of several sizes (cut from one module by ``id <= b``):
sizes whose last page is short, full (the serial read's empty last call), or nearly full (where
the overlap rows would push the split one page further, so it must split less or not at all).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.http.credits import coql_credits
from connector.model import Pushdown
from connector.readers import coql_slices
from connector.readers.coql import CoqlReader
from connector.readers.coql_slices import REACH_PAGES, plan, plan_after_head
from connector.readers.paging import first_coql_page
from connector.session import ZohoSession

COLUMNS = ["id", "Last_Name", "Email"]
PAGE = 2_000


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[Emulator, list[str]]]:
    with Emulator(records=0, sizes={"Leads": 25_000}, seed=11, latency_ms=15, org="classic") as emu:
        with ZohoSession(emu.connection_string) as s:
            ids = [i for b in CoqlReader(s.reader_context()).batches("Leads", ["id"]) for i in b.column("id").to_pylist()]
        yield emu, ids


def read(emu: Emulator, max_concurrency: int, pushdown: Pushdown) -> tuple[list[dict[str, Any]], dict[str, int]]:
    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
        s.catalog.table("Leads")  # metadata first: only the read's own calls are counted below
        before = emu.stats()
        rows = [r for b in CoqlReader(s.reader_context()).batches("Leads", COLUMNS, pushdown) for r in b.to_pylist()]
    after = emu.stats()
    return rows, {"credits": after["credits_used"] - before["credits_used"],
                  "calls": after["calls"].get("coql_query", 0) - before["calls"].get("coql_query", 0),
                  "peak_heavy": after["concurrency"]["peak_heavy"], "rejected": after["rejected_429"]}


# 200 + L rows: L % 2,000 = 300 | 0 (serial's empty last call) | 1,999 (no room: no split) | 1,995 (room for 5
# slices) | 800; 25,000: the whole module
SIZES = [2_500, 4_200, 6_199, 10_195, 9_000, 25_000]


@pytest.mark.parametrize("n", SIZES)
def test_a_split_read_costs_no_more_than_the_serial_read(org: tuple[Emulator, list[str]], n: int) -> None:
    emu, ids = org
    pd = Pushdown(coql_where=None if n == len(ids) else f"id <= {ids[n - 1]}", expected_rows=n)
    serial, one = read(emu, 1, pd)
    split, many = read(emu, 10, pd)
    assert [r["id"] for r in serial] == ids[:n]
    assert sorted(split, key=lambda r: int(r["id"])) == serial  # the same rows, values included
    assert many["credits"] <= one["credits"] and many["calls"] <= one["calls"]
    assert one["peak_heavy"] == 1 and many["rejected"] == one["rejected"] == 0
    assert many["peak_heavy"] <= 10
    if n == 6_199:
        # the rows after the first page fill their last page but one: the first page goes first, and then
        # the last page has no room for an overlap row: read in turn
        assert plan_after_head(n, 200, 9) == [] and len(plan(n - 200, 10)) == 1
    else:
        assert many["peak_heavy"] >= 2  # the first page of 200 went out with the slices' first pages


def test_a_stale_count_never_changes_the_answer(org: tuple[Emulator, list[str]]) -> None:
    # Counts from statistics can be minutes old: too high or too low, the rows are those of the module.
    emu, ids = org
    n = 9_000
    where = f"id <= {ids[n - 1]}"
    for guess in (5_000, 9_000 + 3_000, 30_000):
        rows, _ = read(emu, 10, Pushdown(coql_where=where, expected_rows=guess))
        assert sorted((r["id"] for r in rows), key=int) == ids[:n]


def serial_pages(left: int) -> int:
    return left // PAGE + 1


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3_000_000), st.integers(1, 12))
def test_the_plan_makes_the_serial_reads_pages(left: int, slots: int) -> None:
    starts = plan(left, slots)
    n = len(starts)
    assert starts[0] == 0 and n <= max(1, slots) and starts == sorted(set(starts))
    if n == 1:
        return
    # Slice 0 holds 2,000 k rows, the others 2,000 k - 1 (their first page begins with the row before them);
    # the last one reads to the end: pages of 2,000 until a short one.
    sizes = [starts[1] // PAGE] + [(b - a + 1) // PAGE for a, b in zip(starts[1:], starts[2:], strict=False)]
    assert starts[1] % PAGE == 0 and all((b - a + 1) % PAGE == 0 for a, b in zip(starts[1:], starts[2:], strict=False))
    last = (left - starts[-1] + 1) // PAGE + 1
    assert sum(sizes) + last == serial_pages(left)
    assert all(1 <= k <= REACH_PAGES for k in sizes) and last >= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3_000_000), st.integers(1, 12), st.sampled_from([200, 1_000]))
def test_a_head_asked_with_the_slices_makes_the_serial_reads_pages(left: int, slots: int, head: int) -> None:
    starts = plan_after_head(left, head, slots)
    if not starts:
        assert left <= head or (left - head) % PAGE == PAGE - 1 or slots < 1
        return
    # The head, then the rows from its last one (an overlap row for slice 0) in the plan's pages, which are a
    # serial read's of them: as many as a serial read of the rows after the head makes.
    assert starts == plan(left - head + 1, slots)
    assert serial_pages(left - head + 1) == serial_pages(left - head)


@pytest.mark.parametrize(("left", "head", "slots", "want"), [
    (200, 200, 9, []),  # nothing after the head
    (2_500, 200, 9, [0, 2_000]),  # 2,301 rows from the head's last: two slices, 1,999 + 301 of their own
    (6_199, 200, 9, []),  # the 5,999 rows after the head fill their last page but one: head first
    # 49,801 rows from the head's last: 25 pages over 9 slices (2, 2, then 3 each), as a serial read of them
    (50_000, 200, 9, [0, 4_000, 7_999, 13_998, 19_997, 25_996, 31_995, 37_994, 43_993]),
])
def test_plan_after_head_table(left: int, head: int, slots: int, want: list[int]) -> None:
    assert plan_after_head(left, head, slots) == want


@pytest.mark.parametrize(("left", "slots", "want"), [
    (0, 10, [0]),
    (1_999, 10, [0]),  # one short page: nothing to split
    (2_300, 10, [0, 2_000]),
    (4_000, 2, [0, 2_000]),  # 2,000 + 2,000 + the empty call that ends it; slice 1: 1,999 + 1 + nothing
    (5_999, 10, [0]),  # the last page is full but one row: an overlap row would need a page more
    (7_995, 10, [0, 2_000, 3_999, 5_998]),  # room for 4 overlap rows: 4 slices of the 4 pages
    (47_800, 10, [0, 4_000, 7_999, 11_998, 15_997, 19_996, 23_995, 29_994, 35_993, 41_992]),
])
def test_plan_table(left: int, slots: int, want: list[int]) -> None:
    assert plan(left, slots) == want


# -- a read whose count is known and fits in one call -------------------------------------------------

@pytest.mark.parametrize(("expected", "first"), [
    (None, 200), (0, 200), (150, 200), (199, 200), (200, 1_000), (945, 1_000), (999, 1_000), (1_000, 2_000),
    (1_999, 2_000), (2_000, 200), (50_000, 200), (2_199, 200), (2_200, 2_000), (21_000, 2_000), (4_150, 200),
])
def test_the_first_call_is_the_cheapest_step_that_holds_the_known_rows(expected: int | None, first: int) -> None:
    # one more than expected: a call filled to its LIMIT would need another call to learn nothing follows
    assert first_coql_page(expected) == first


@pytest.mark.parametrize(("n", "calls", "credits"), [
    (2_400, 2, 6),  # 2,000 + 400 (a first page of 200 would be followed by as many pages: 3 calls, 7 credits)
    (9_000, 5, 15),
    (4_150, 3, 7),  # 200 + 2,000 + 1,950: the cheap first page costs no call more here, and saves 2 credits
])
def test_a_known_read_starts_with_a_whole_page_where_a_cheap_one_would_be_a_call_more(
        org: tuple[Emulator, list[str]], n: int, calls: int, credits: int) -> None:
    emu, ids = org
    pd = Pushdown(coql_where=f"id <= {ids[n - 1]}", expected_rows=n)
    for slots in (1, 10):  # in turn, and in slices at once: the same pages
        rows, paid = read(emu, slots, pd)
        assert sorted(int(r["id"]) for r in rows) == [int(i) for i in ids[:n]]
        assert (paid["calls"], paid["credits"]) == (calls, credits), slots


@pytest.mark.parametrize("n", [150, 945, 1_999])
def test_a_known_read_that_fits_in_one_call_is_one_call_and_no_more_credits(org: tuple[Emulator, list[str]],
                                                                            n: int) -> None:
    emu, ids = org
    where = f"id <= {ids[n - 1]}"
    known, paid = read(emu, 10, Pushdown(coql_where=where, expected_rows=n))
    blind, before = read(emu, 10, Pushdown(coql_where=where))  # 200, then pages of 2,000
    assert [r["id"] for r in known] == [r["id"] for r in blind] == ids[:n]
    assert known == blind
    assert paid["calls"] == 1 and paid["credits"] == coql_credits(f"limit {first_coql_page(n)}")
    assert paid["credits"] <= before["credits"] and before["calls"] == (1 if n < 200 else 2)


def test_a_slice_goes_on_while_another_slice_s_first_page_is_still_on_its_way(
        org: tuple[Emulator, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    # Real Zoho answers some calls far later than others. One slice's first page is held back here until
    # another slice has asked for its second page: a split read that waited for every first page before
    # any slice went on would ask no second page, and the held page would go only when the wait gives up.
    emu, ids = org
    real = coql_slices.coql_page
    held: list[str] = []
    went_on = threading.Event()
    lock = threading.Lock()

    def page(http: Any, text: str, decoder: Any = None) -> Any:
        with lock:
            hold = " offset " in text and not held
            if hold:
                held.append(text)
        if hold:
            went_on.wait(60)
            held.append("went on" if went_on.is_set() else "given up")
        got = real(http, text, decoder)
        if " offset " not in text and " id <= " not in text and text.endswith("limit 2000"):
            went_on.set()  # a slice's next page, asked as soon as its own first page was in
        return got

    monkeypatch.setattr(coql_slices, "coql_page", page)
    rows, used = read(emu, 10, Pushdown(expected_rows=len(ids)))
    assert held[-1] == "went on", "no slice asked its second page before every first page was in"
    assert [r["id"] for r in sorted(rows, key=lambda r: int(r["id"]))] == ids
    serial_pages_asked = len(ids) // PAGE + 1  # the serial read: 2,000 a page and the short (or empty) last one
    assert used["calls"] <= serial_pages_asked + 1  # and its first page of 200
