"""A REST read of a known size past 2,000 records goes from both ends of the id order at once.

Past the numbered pages a page token comes only with the page before it, so one end waits in turn
(36 pages of Tasks at 300 ms: 10 s); two ends halve that wait. The contract is a one-ended read's:
every record present throughout is read once, none twice, whatever changes meanwhile. Checked on
the emulator over HTTP (records created, updated and deleted between pages) and, for the claim rule
alone, by hypothesis over any interleaving of the two ends' pages.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.api import records as records_api
from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers import RestReader
from connector.readers.rest import TOP_PAGES_AHEAD, _Meeting
from connector.session import ZohoSession

from ..conftest import ZohoClient


def export_ids(emu: Emulator, module: str) -> set[str]:
    r = requests.get(f"{emu.origin}/__emulator/export/{module}", headers=emu.admin_headers(), timeout=120)
    return {str(x["id"]) for x in r.json()["data"]}


def list_calls(emu: Emulator) -> int:
    return int(emu.stats()["calls"].get("list_records", 0))


def test_both_ends_give_the_one_ended_table_each_row_once() -> None:
    # Leads has more than 50 fields: each end joins its pages' other field group by id too.
    with Emulator(org="classic", records=0, seed=5, sizes={"Leads": 4_500, "Tasks": 2_400, "Deals": 7_310}) as emu:
        for module, n in (("Leads", 4_500), ("Tasks", 2_400), ("Deals", 7_310)):
            # one virtual instant for both reads: Leads.Days_Open is a formula over the org's clock
            with emu.app.clock.frozen(), ZohoSession(emu.connection_string + ";MaxConcurrency=8") as s:
                before = list_calls(emu)
                one = pa.Table.from_batches(list(RestReader(s.reader_context()).batches(module)))
                serial_calls = list_calls(emu) - before
                before = list_calls(emu)
                got = list(RestReader(s.reader_context()).batches(module, None, Pushdown(expected_rows=n)))
                calls = list_calls(emu) - before
            both = pa.Table.from_batches(got, schema=one.schema)
            ids = both.column("id").to_pylist()
            assert len(ids) == len(set(ids)) == n, module
            assert both.sort_by("id").equals(one.sort_by("id")), module
            # The two ends' shares are the serial read's pages; a count that is a multiple of 200 takes one more
            # (the shares tile the rows exactly: one page more shows that nothing lies between).
            assert calls == serial_calls + (n % 200 == 0), (module, calls, serial_calls)
            assert ids != sorted(ids, key=int), "the high end's pages came in too"


@pytest.mark.parametrize(("rows", "low", "high"), [(2_400, 11, 2), (2_401, 11, 2), (2_399, 11, 1), (4_000, 15, 6)])
def test_a_count_that_is_a_multiple_of_the_page_size_costs_no_round_trip_more(rows: int, low: int, high: int) -> None:
    """2,400 records are 12 pages that tile the rows exactly: the page that shows nothing lies between is the
    high end's second, asked beside the low end's eleventh, not a twelfth after both ends are done. Each end
    chains its pages (the low end after its ten numbered ones, asked at once), so the read's round trips are
    the longer chain: 2 for 2,400 records (3 before), 6 for 4,000 (7 before). The calls stay the serial read's
    and one."""
    with Emulator(org="classic", records=0, seed=9, sizes={"Tasks": rows}) as emu, \
            ZohoSession(emu.connection_string + ";MaxConcurrency=20") as s:
        orders: list[str] = []
        send = s.http._send

        def counted(method: str, url: str, params: dict[str, Any] | None, *a: Any, **k: Any) -> Any:
            if url.endswith("/Tasks"):  # the list calls (not the metadata the read asks first)
                orders.append(str((params or {}).get("sort_order")))
            return send(method, url, params, *a, **k)

        s.http._send = counted  # type: ignore[method-assign]
        got = list(RestReader(s.reader_context()).batches("Tasks", ["id"], Pushdown(expected_rows=rows)))
    ids = [i for b in got for i in b.column("id").to_pylist()]
    assert len(ids) == len(set(ids)) == rows
    assert (orders.count("asc"), orders.count("desc")) == (low, high)
    assert len(orders) == -(-rows // 200) + (rows % 200 == 0)


def test_records_changing_between_pages_are_read_once_and_none_is_missed() -> None:
    n = 5_000
    with Emulator(org="classic", records=0, seed=6, sizes={"Tasks": n}, latency_ms=30) as emu:
        start = export_ids(emu, "Tasks")
        created: set[str] = set()
        with ZohoSession(emu.connection_string + ";MaxConcurrency=8") as s:
            pages = RestReader(s.reader_context()).batches("Tasks", ["id", "Subject"], Pushdown(expected_rows=n))
            seen: list[str] = []
            for i, batch in enumerate(pages):
                seen += batch.column("id").to_pylist()
                # from the first batch on the low end's numbered pages are in (an offset shifts under deletions:
                # they are asked at once, before); what follows goes by page token on both ends
                if i % 3 == 0:
                    body = {"module": "Tasks", "creates": 15, "updates": 20, "deletes": 10, "seed": 100 + i}
                    r = requests.post(f"{emu.origin}/__emulator/mutate", json=body, headers=emu.admin_headers(),
                                      timeout=60)
                    assert r.status_code == 200, r.text
                    created |= set(r.json()["created"])
        end = export_ids(emu, "Tasks")
    assert len(seen) == len(set(seen)), "no record twice"
    assert (start & end) <= set(seen), "every record there throughout is read"
    assert set(seen) <= start | end | created, "nothing that never existed"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_two_ends_keep_every_id_there_throughout_once(data: st.DataObject) -> None:
    """Two ends read contiguous pages of whatever ids exist when each page is read, in any interleaving,
    with ids deleted and created (above every id so far, as Zoho's ids grow) between pages."""
    ids = set(data.draw(st.lists(st.integers(1, 400), min_size=0, max_size=120, unique=True)))
    start, removed = set(ids), set()
    top_id = max(ids, default=0)
    per = data.draw(st.integers(1, 9))
    meeting = _Meeting()
    low_after: int | None = None  # the low end's key: ids above it (a token carries it on)
    high_before: int | None = None
    ends = {"low": True, "high": True}
    kept: list[int] = []
    while any(ends.values()):
        end = data.draw(st.sampled_from(sorted(k for k, v in ends.items() if v)))
        if meeting.over:
            break
        if end == "low":
            page = sorted(i for i in ids if low_after is None or i > low_after)[:per]
            recs, met = meeting.claim_low([{"id": str(i)} for i in page])
            if page:
                low_after = page[-1]
        else:
            page = sorted((i for i in ids if high_before is None or i < high_before), reverse=True)[:per]
            recs, met = meeting.claim_high([{"id": str(i)} for i in page])
            if page:
                high_before = page[-1]
        kept += [int(r["id"]) for r in recs]
        if met or len(page) < per:
            ends[end] = False
            meeting.finish()
        change = data.draw(st.sampled_from(["none", "delete", "create"]))
        if change == "delete" and ids:
            gone = data.draw(st.sampled_from(sorted(ids)))
            ids.discard(gone)
            removed.add(gone)
        elif change == "create":
            top_id += 1
            ids.add(top_id)
    assert len(kept) == len(set(kept))
    assert start - removed <= set(kept)


def test_a_reader_stopped_early_leaves_no_high_end_running() -> None:
    # A LIMIT met by the engine, or a caller that breaks off: the high end's thread stops with the reader, and
    # it never held more than a few pages for a consumer that stopped taking them.
    with Emulator(org="classic", records=0, seed=7, sizes={"Tasks": 9_000}, latency_ms=20) as emu:
        with ZohoSession(emu.connection_string + ";MaxConcurrency=8") as s:
            pages = RestReader(s.reader_context()).batches("Tasks", ["id"], Pushdown(expected_rows=9_000))
            first = next(pages)
            assert first.num_rows == 200
            highs = [t for t in threading.enumerate() if t.name == "zoho-rest-top"]
            assert highs
            time.sleep(0.5)  # the high end reads on until its queue is full, then waits
            pages.close()
            for t in highs:
                t.join(30)
                assert not t.is_alive()
        read = list_calls(emu)
    # the low end's ten numbered pages and one ahead, the high end's queue, the page in its hand and the one
    # it waits to hand over: without the bound it read its whole share (18 pages)
    assert read <= 10 + 1 + TOP_PAGES_AHEAD + 2, "the high end stopped once its queue was full"


def test_a_high_end_page_that_does_not_go_on_where_the_last_ended_hands_the_read_to_the_low_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The claim rule needs each page to go on in descending ids from the one before. One that does not (here
    # the high end's second page starts again with the first page's last record, as an offset page would
    # after a record was created between the two) is kept by neither end: the low end reads on alone to the
    # end, and every row still comes once. Without the check that record came twice.
    real = records_api.list_page
    desc: list[dict[str, Any]] = []

    def shifted(*args: Any, **kw: Any) -> Any:
        page = real(*args, **kw)
        if kw.get("sort_order") != "desc":
            return page
        if desc:
            return replace(page, records=[desc[0], *page.records[:-1]])
        desc.append(page.records[-1])
        return page

    monkeypatch.setattr(records_api, "list_page", shifted)
    with Emulator(org="classic", records=0, seed=8, sizes={"Tasks": 5_000}) as emu:
        with ZohoSession(emu.connection_string + ";MaxConcurrency=8") as s:
            ids = [i for b in RestReader(s.reader_context()).batches("Tasks", ["id"], Pushdown(expected_rows=5_000))
                   for i in b.column("id").to_pylist()]
        assert desc, "the high end read"
        assert len(ids) == len(set(ids)) == 5_000 and set(ids) == export_ids(emu, "Tasks")


@pytest.mark.parametrize("size", [3_000, 1_800])  # past 2,000 (and read from both ends), and within the numbered pages
def test_a_deletion_while_the_numbered_pages_are_answered_loses_no_record(
        monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    # A page number is an offset. Page 3 is answered last, after a record of page 1 was deleted: page 3 starts
    # one record later than it would have, so the record that moved onto page 2's last place is on neither
    # page, and page 3's last record is page 4's first too. One COQL count over the gaps finds the first, and
    # the second is kept once. Without that, a record there throughout was missing and another came twice.
    real = records_api.list_page
    answered = {i: threading.Event() for i in range(1, 11)}
    gone: list[str] = []

    def racing(*args: Any, **kw: Any) -> Any:
        number = kw.get("page")
        if kw.get("sort_order") != "asc" or not number:
            return real(*args, **kw)
        if number == 3:
            for i, done in answered.items():
                if i != 3 and i <= size // 200:
                    assert done.wait(30)
            r = client.delete(f"/Tasks?ids={first[0]}")
            assert r.status_code == 200, r.text
            gone.append(first[0])
        page = real(*args, **kw)
        if number == 1:
            first.append(str(page.records[0]["id"]))
        answered[number].set()
        return page

    first: list[str] = []
    monkeypatch.setattr(records_api, "list_page", racing)
    with Emulator(org="classic", records=0, seed=9, sizes={"Tasks": size}) as emu:
        client = ZohoClient(emu)
        start = export_ids(emu, "Tasks")
        with ZohoSession(emu.connection_string + ";MaxConcurrency=10") as s:
            before = emu.stats()["calls"].get("coql_query", 0)
            ids = [i for b in RestReader(s.reader_context()).batches("Tasks", ["id"], Pushdown(expected_rows=size))
                   for i in b.column("id").to_pylist()]
            coql = emu.stats()["calls"].get("coql_query", 0) - before
    assert gone and gone[0] in ids, "page 1 was answered before the deletion"
    assert len(ids) == len(set(ids)), "no record twice"
    assert set(ids) == start, "every record there throughout, and the deleted one as page 1 had it"
    assert coql == 2, "a count over the gaps, then the ids found there"
