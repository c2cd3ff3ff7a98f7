"""A whole read's independent slices run at once: same rows, a fixed order, within Zoho's limits.

Against an emulator that answers every call after a small latency (so calls sent together overlap and
its counters see the peak in flight); nothing here asserts a duration.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import partial
from typing import Any

import pyarrow as pa
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import Emulator
from connector.http.retry import CallCancelled, cancellable, check_cancelled, pause
from connector.model import Pushdown
from connector.readers.concurrent import at_once, one_ahead, read_ahead, round_robin
from connector.readers.coql import CoqlReader
from connector.readers.rest import RestReader
from connector.session import ZohoSession

from .expected import volatile_columns

COLUMNS = ["id", "Last_Name", "Email", "Annual_Revenue", "Modified_Time"]


@pytest.fixture(scope="module")
def slow_org() -> Iterator[Emulator]:
    with Emulator(records=0, sizes={"Leads": 9_000}, seed=5, latency_ms=40, org="classic") as emu:
        yield emu


def read(emu: Emulator, max_concurrency: int, pushdown: Pushdown | None = None) -> tuple[list[dict[str, Any]],
                                                                                          dict[str, Any]]:
    """The rows of one COQL read of Leads, in the order they came, and what the emulator counted for it."""
    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    before = emu.stats()
    with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
        s.catalog.table("Leads")  # metadata first: only the read's own calls below
        rows = [r for b in CoqlReader(s.reader_context()).batches("Leads", COLUMNS, pushdown) for r in b.to_pylist()]
    after = emu.stats()
    return rows, {"credits": after["credits_used"] - before["credits_used"],
                  "peak_heavy": after["concurrency"]["peak_heavy"], "rejected": after["rejected_429"]}


def test_a_whole_read_runs_its_id_slices_at_once_with_the_same_rows(slow_org: Emulator) -> None:
    known = Pushdown(expected_rows=9_000)  # a count the caller holds: the read may split on it
    serial, one = read(slow_org, 1, known)
    split, many = read(slow_org, 6, known)
    again, _ = read(slow_org, 6, known)
    assert len(serial) == 9_000 == len({r["id"] for r in split})
    assert sorted(split, key=lambda r: int(r["id"])) == serial  # the serial read comes in id order
    assert [r["id"] for r in again] == [r["id"] for r in split]  # a fixed order, whichever answer came first
    assert one["peak_heavy"] == 1 and 2 <= many["peak_heavy"] <= 6
    assert one["rejected"] == many["rejected"] == 0
    # The serial read's pages and no other call (no COUNT, no bound calls): the same credits.
    assert many["credits"] == one["credits"]


def test_without_a_count_the_read_goes_in_turn(slow_org: Emulator) -> None:
    # Buying a COUNT to split could cost a credit the pages never win back: no count held, no split.
    rows, seen = read(slow_org, 6)
    _, serial = read(slow_org, 1)
    assert len(rows) == 9_000 and seen["peak_heavy"] == 1
    assert seen["credits"] == serial["credits"]


@pytest.mark.parametrize("pushdown", [Pushdown(limit=5_000, exact=True),
                                      Pushdown(order_by=(("Last_Name", True),), limit=1_500, exact=True)],
                         ids=["limit", "order-by"])
def test_a_limit_or_an_order_keeps_the_read_whole(slow_org: Emulator, pushdown: Pushdown) -> None:
    rows, seen = read(slow_org, 6, pushdown)
    assert len(rows) == pushdown.limit and seen["peak_heavy"] == 1
    if not pushdown.order_by:
        assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)


def test_records_changing_during_a_split_read_are_never_doubled_nor_lost(slow_org: Emulator) -> None:
    # Id ranges never move a record: every record present throughout comes back exactly once.
    start = {r["id"] for r in read(slow_org, 1)[0]}
    stop = threading.Event()
    touched: set[str] = set()

    def mutate() -> None:
        while not stop.is_set():
            r = requests.post(f"{slow_org.origin}/__emulator/mutate", headers=slow_org.admin_headers(), timeout=60,
                              json={"module": "Leads", "updates": 20, "creates": 5, "deletes": 5, "seed": len(touched)})
            body = r.json()
            touched.update(str(i) for k in ("updated", "created", "deleted") for i in body.get(k, []))

    t = threading.Thread(target=mutate)
    t.start()
    try:
        rows, seen = read(slow_org, 6, Pushdown(expected_rows=len(start)))
    finally:
        stop.set()
        t.join()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) and seen["peak_heavy"] >= 2
    assert start - touched <= set(ids)  # nobody touched them: they are there


def test_a_wide_rest_page_joins_its_field_groups_at_once(slow_org: Emulator) -> None:
    # Leads has more than 50 fields: each page of 200 is joined by ?ids= calls (100 ids each) for the rest.
    def rest(max_concurrency: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        requests.post(f"{slow_org.origin}/__emulator/stats", headers=slow_org.admin_headers(), timeout=30)
        with ZohoSession(slow_org.connection_string + f";MaxConcurrency={max_concurrency}") as s:
            ts = s.catalog.table("Leads")
            assert len(ts.fields_for(None)) > 50
            drift = volatile_columns(ts)  # formulas over "now"
            rows = [{k: v for k, v in r.items() if k not in drift} for b in RestReader(s.reader_context()).batches(
                "Leads", None, Pushdown(limit=400, exact=True)) for r in b.to_pylist()]
        return rows, slow_org.stats()

    serial, one = rest(1)
    joined, many = rest(6)
    assert len(serial) == 400 and joined == serial
    assert one["concurrency"]["peak"] == 1 and many["concurrency"]["peak"] >= 2
    assert many["rejected_429"] == 0


def test_records_only_columns_of_a_page_are_asked_at_once() -> None:
    # Projects' Contract and Photos (uploads) come only from the list API by ?ids=, 100 ids a call: the 5
    # calls of a 450-row COQL page go out together, and the rows are those of a read made one call at a time.
    with Emulator(records=0, sizes={"Projects": 450}, seed=5, latency_ms=40, org="classic") as emu:
        def coql(max_concurrency: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
                ts = s.catalog.table("Projects")
                assert {"Contract", "Photos"} <= ts.records_only_columns
                requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)
                before = emu.stats()
                rows = [r for b in CoqlReader(s.reader_context()).batches("Projects", ["id", "Contract", "Photos"])
                        for r in b.to_pylist()]
            after = emu.stats()
            return rows, {"peak": after["concurrency"]["peak"],
                          "by_ids": after["calls"]["list_records"] - before["calls"].get("list_records", 0)}

        serial, one = coql(1)
        together, many = coql(6)
    assert len(serial) == 450 and together == serial
    assert sum(1 for r in serial if r["Photos"]) > 0  # the columns filled in are not all empty
    assert one["by_ids"] == many["by_ids"] == 5
    assert one["peak"] == 1 and many["peak"] >= 2


def _slices(lengths: list[int]) -> list[Callable[[], Iterator[tuple[int, int]]]]:
    return [(lambda i=i, n=n: iter([(i, k) for k in range(n)])) for i, n in enumerate(lengths)]  # type: ignore[misc]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=6))
def test_round_robin_hands_batches_on_in_slice_order(lengths: list[int]) -> None:
    want = [(i, k) for k in range(max(lengths)) for i, n in enumerate(lengths) if k < n]
    assert list(round_robin(_slices(lengths))) == want


def test_a_slice_error_reaches_the_caller_and_stops_the_others() -> None:
    ran: list[int] = []

    def bad() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"x": [1]})
        raise RuntimeError("no answer")

    def endless() -> Iterator[pa.RecordBatch]:
        while True:
            ran.append(1)
            yield pa.record_batch({"x": [2]})

    got = []
    with pytest.raises(RuntimeError, match="no answer"):
        for b in round_robin([bad, endless]):
            got.append(b)
    assert len(got) == 2  # the first batch of each, then the error in turn
    # the endless slice stops once the caller does: its buffer fills and it is told to end
    seen = len(ran)
    threading.Event().wait(0.3)
    assert len(ran) <= seen + 1


def _threads_end(prefix: str) -> None:
    for t in threading.enumerate():
        if t.name.startswith(prefix):
            t.join(timeout=30)


def test_calls_sent_together_raise_the_first_failure_at_once_and_send_none_of_the_rest() -> None:
    """``at_once``: the failure is raised while another call is still in flight (not waited for), and the
    calls still queued are not sent (each checks the stop first, as the HTTP client does)."""
    sent: list[int] = []
    in_flight, release, answered = threading.Event(), threading.Event(), threading.Event()

    def call(i: int) -> int:
        check_cancelled()
        sent.append(i)
        if i == 0:
            in_flight.wait(30)
            raise RuntimeError("no answer")
        if i == 1:
            in_flight.set()
            release.wait(30)  # an answer that is slow to come: a call on the wire, deaf to stops
            answered.set()
            return i
        pause(0.02)
        return i

    try:
        with pytest.raises(RuntimeError, match="no answer"):
            at_once([partial(call, i) for i in range(60)], 3, "zoho-test-at-once")
        assert not answered.is_set()  # raised while call 1 was still in flight
    finally:
        release.set()
    _threads_end("zoho-test-at-once")
    assert 0 in sent and 1 in sent
    assert len(sent) < 10, f"{len(sent)} of 60 calls were sent after the first one failed"
    assert at_once([partial(pow, 2, i) for i in range(12)], 4, "zoho-test-at-once") == [2 ** i for i in range(12)]


def test_a_stop_reaches_the_calls_a_slice_sends_together() -> None:
    """A slice's own calls sent at once run under their own stop and the slice's: when the reader's caller
    stops, the slice's queued calls are not sent (the stop passes down the chain of owners)."""
    sent: list[int] = []
    over = threading.Event()

    def call(i: int) -> int:
        check_cancelled()
        sent.append(i)
        pause(0.05)
        return i

    def one_slice() -> Iterator[int]:
        yield -1
        try:
            yield sum(at_once([partial(call, i) for i in range(40)], 2, "zoho-test-nested"))
        finally:
            over.set()

    reading = round_robin([one_slice], threaded=True, buffer=1)
    assert next(reading) == -1
    while not sent:
        threading.Event().wait(0.01)
    reading.close()
    assert over.wait(30)
    _threads_end("zoho-test-nested")
    assert len(sent) < 10, f"{len(sent)} of 40 calls were sent after the reader's caller stopped"


def test_a_wait_ends_when_any_owner_up_the_chain_stops() -> None:
    outer, inner = threading.Event(), threading.Event()
    outer.set()
    with pytest.raises(CallCancelled):
        cancellable(outer, cancellable, inner, check_cancelled)
    with pytest.raises(CallCancelled):
        cancellable(outer, cancellable, inner, pause, 30)  # ends at once, not after 30 s
    outer.clear()
    assert cancellable(outer, cancellable, inner, pause, 0.01) is None
    check_cancelled()  # outside every owner nothing is stopped


def test_read_ahead_makes_the_next_items_on_its_own_thread_while_the_caller_holds_one() -> None:
    made: list[tuple[int, str]] = []
    two_made = threading.Event()

    def items() -> Iterator[int]:
        for k in range(5):
            made.append((k, threading.current_thread().name))
            if k == 2:
                two_made.set()
            yield k

    got = []
    for k in read_ahead(items):
        if k == 0:
            # while the caller still holds item 0, item 1 waits for it and item 2 is being made
            two_made.wait()
        got.append(k)
    assert got == [0, 1, 2, 3, 4]
    assert {name for _, name in made} == {"zoho-slice-0"}  # not the caller's thread


def test_read_ahead_hands_an_error_on_and_stops_when_the_caller_does() -> None:
    def bad() -> Iterator[int]:
        yield 1
        raise RuntimeError("no answer")

    with pytest.raises(RuntimeError, match="no answer"):
        list(read_ahead(bad))
    ran: list[int] = []

    def endless() -> Iterator[int]:
        while True:
            ran.append(1)
            yield len(ran)

    gen = read_ahead(endless)
    assert next(gen) == 1
    gen.close()
    seen = len(ran)
    threading.Event().wait(0.3)
    assert len(ran) <= seen + 1  # told to end: its one waiting item is dropped, no more are made


def test_one_ahead_makes_the_next_item_while_the_caller_works_on_this_one() -> None:
    """A slice's next page is asked for while its page is converted: item k+1 is being made (on another
    thread, in the caller's context) before the caller is done with item k, and never two ahead."""
    marker: ContextVar[str] = ContextVar("marker", default="")
    marker.set("the caller's")
    started: list[int] = []
    contexts: set[str] = set()
    next_started = threading.Event()

    def items() -> Iterator[int]:
        for k in range(4):
            started.append(k)
            contexts.add(marker.get())
            if k == 1:
                next_started.set()
            yield k

    got = []
    for k in one_ahead(items()):
        if k == 0:
            assert next_started.wait(5)  # item 1 is made while the caller holds item 0 ...
            assert started == [0, 1]  # ... and not item 2
        got.append(k)
    assert got == [0, 1, 2, 3] and contexts == {"the caller's"}


def test_one_ahead_hands_an_error_on_and_a_caller_that_stops_does_not_wait() -> None:
    def bad() -> Iterator[int]:
        yield 1
        raise RuntimeError("no answer")

    with pytest.raises(RuntimeError, match="no answer"):
        list(one_ahead(bad()))
    release = threading.Event()
    made: list[int] = []

    def slow() -> Iterator[int]:
        yield 1
        release.wait(5)  # the next item takes long: the caller that stops does not wait for it
        made.append(2)
        yield 2

    gen = one_ahead(slow())
    assert next(gen) == 1
    gen.close()
    assert made == []
    release.set()


def by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: int(r["id"]))


def test_a_rest_read_of_known_size_asks_its_numbered_pages_at_once(slow_org: Emulator) -> None:
    # Page numbers reach 2,000 records: those ten pages go out together, the rest follows page tokens, from
    # both ends of the id order at once when the size is known (each end's last page may reach into the other's).
    def rest(max_concurrency: int, pushdown: Pushdown) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        requests.post(f"{slow_org.origin}/__emulator/stats", headers=slow_org.admin_headers(), timeout=30)
        with ZohoSession(slow_org.connection_string + f";MaxConcurrency={max_concurrency}") as s:
            s.catalog.table("Leads")
            before = slow_org.stats()
            rows = [r for b in RestReader(s.reader_context()).batches("Leads", COLUMNS, pushdown) for r in b.to_pylist()]
        after = slow_org.stats()
        return rows, {"credits": after["credits_used"] - before["credits_used"],
                      "peak_heavy": after["concurrency"]["peak_heavy"], "rejected": after["rejected_429"]}

    known = Pushdown(expected_rows=9_000)
    serial, one = rest(1, known)
    ahead, many = rest(6, known)
    unknown, alone = rest(6, Pushdown())
    assert len(serial) == 9_000 and serial == unknown  # one end: the same rows in the same order
    assert by_id(ahead) == by_id(serial) and len({r["id"] for r in ahead}) == 9_000  # both ends: each row once
    assert one["credits"] == alone["credits"] == 45  # 45 pages of 200, one credit each
    assert many["credits"] == 46  # 9,000 is a multiple of 200: one page more shows the ends met
    assert one["peak_heavy"] == alone["peak_heavy"] == 1 and 2 <= many["peak_heavy"] <= 6
    assert many["rejected"] == 0
    too_many, guessed = rest(6, Pushdown(expected_rows=300))  # a count too low: the rest by token
    assert too_many == serial and guessed["credits"] == 45


def test_a_token_chained_rest_read_asks_the_next_page_while_the_caller_has_this_one(slow_org: Emulator) -> None:
    # Past the numbered pages a page's token comes with the page before it: the next page's call goes out
    # as soon as the token is known, so Zoho's latency overlaps the join, the conversion and the caller.
    def list_calls() -> int:
        return int(slow_org.stats()["calls"].get("list_records", 0))

    with ZohoSession(slow_org.connection_string + ";MaxConcurrency=4;PageSize=200") as s:
        s.catalog.table("Leads")
        pages = RestReader(s.reader_context()).batches("Leads", COLUMNS, Pushdown(limit=1_000, exact=True))
        before = list_calls()
        seen_ahead = []
        for n, batch in enumerate(pages, start=1):
            assert batch.num_rows == 200
            # While this batch is ours, the call for the next page reaches Zoho (waited for, never timed).
            deadline = threading.Event()
            for _ in range(200):
                if list_calls() - before >= min(n + 1, 5):
                    break
                deadline.wait(0.05)
            seen_ahead.append(list_calls() - before)
    assert seen_ahead == [2, 3, 4, 5, 5]  # never more than one page ahead, and none past an exact limit
