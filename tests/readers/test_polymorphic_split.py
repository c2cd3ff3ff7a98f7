"""A COQL read with polymorphic lookups (Tasks' What_Id, Related_Record) is split into slices read at once too.

Activities are often a CRM's largest modules, and each of their pages has lookups whose target module COQL
leaves out: the reader fills them per page, from ``'$se_module'`` where Zoho answers it and by looking the ids
up in their target modules otherwise (:mod:`connector.readers.names`). Where the pages bring the modules, the
slices fill their own pages at once: the rows and credits of the serial read. Where ids must be looked up,
100 a call page by page, pages cut otherwise would group them otherwise: that read goes in turn, as before. A
Zoho that refuses ``'$se_module'`` is not asked it by a whole first wave of slices: the read's first page
goes first until this Zoho has answered it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers import coql, coql_slices
from connector.readers.coql import SE_MODULE, CoqlReader
from connector.session import ZohoSession

TASKS = 7_000
COLUMNS = ["id", "Subject", "What_Id_Id", "What_Id_Name", "What_Id_Module", "Related_Record_Id",
           "Related_Record_Module", "Who_Id_Id"]


@pytest.fixture(scope="module", params=[True, False], ids=["se_module answered", "se_module refused"])
def org(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(records=3_000, sizes={"Tasks": TASKS}, seed=5, latency_ms=10, org="classic",
                  coql_se_module=request.param) as emu:
        yield emu


def read(emu: Emulator, max_concurrency: int, reads: int = 1,
         starting: Callable[[], None] | None = None) -> tuple[pa.Table, dict[str, Any]]:
    """The last of ``reads`` whole reads of Tasks on one session, with what the emulator counted for it;
    ``starting`` is called as each read starts."""
    with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
        for name in ("Tasks", "Accounts", "Deals", "Contacts", "Leads"):
            s.catalog.table(name)  # metadata first: only the read's own calls are counted below
        for _ in range(reads):
            if starting is not None:
                starting()
            emu.admin("POST", "stats")  # the concurrency peaks start again
            before = emu.stats()
            ctx = s.reader_context()
            batches = list(CoqlReader(ctx).batches("Tasks", COLUMNS, Pushdown(expected_rows=TASKS)))
            after = emu.stats()
        answered = SE_MODULE in s.catalog.answered
    table = pa.Table.from_batches(batches).sort_by("id")
    return table, {"credits": after["credits_used"] - before["credits_used"],
                   "calls": after["calls"].get("coql_query", 0) - before["calls"].get("coql_query", 0),
                   "lookups": ctx.stats.get("polymorphic_lookup_calls", 0),
                   "peak_heavy": after["concurrency"]["peak_heavy"], "answered": answered}


def test_a_polymorphic_read_is_split_for_the_serial_reads_rows_and_credits(org: Emulator,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sliced: list[str] = []  # a slice's first page is asked by offset: a serial read asks none
    real = coql_slices.coql_page

    def page(http: Any, text: str, decoder: Any = None) -> Any:
        if " offset " in text and " from Tasks " in text:
            sliced.append(text)
        return real(http, text, decoder)

    monkeypatch.setattr(coql_slices, "coql_page", page)
    serial, one = read(org, 1)
    assert not sliced
    split, many = read(org, 10)
    assert serial.num_rows == TASKS and split.equals(serial)  # every value, the lookups' modules included
    assert set(split.column("What_Id_Module").to_pylist()) - {None}  # filled in, by '$se_module' or look-ups
    assert many["answered"] == one["answered"] == org.settings.coql_se_module
    if org.settings.coql_se_module:  # the modules come with the pages: the slices are read at once
        assert len(sliced) >= 2 and many["peak_heavy"] >= 2
        assert many["credits"] <= one["credits"] and many["calls"] <= one["calls"]
        assert many["lookups"] == one["lookups"] == 0
    else:  # ids looked up page by page: read in turn, one refused call and the serial read's look-ups exactly
        assert not sliced
        assert many["credits"] == one["credits"] and many["calls"] == one["calls"]
        assert many["lookups"] == one["lookups"] > 0


@pytest.fixture(scope="module")
def answering() -> Iterator[Emulator]:
    with Emulator(records=3_000, sizes={"Tasks": TASKS}, seed=6, latency_ms=10, org="classic") as emu:
        yield emu


def test_the_first_page_goes_out_with_the_slices_once_se_module_was_answered(
        answering: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session's first polymorphic read asks its first page alone (a Zoho may refuse '$se_module'); once
    answered, a later read asks it with the slices' first pages, a round trip sooner."""
    asked: list[tuple[str, float, float]] = []

    def timed(real: Any) -> Any:
        def page(http: Any, text: str, decoder: Any = None) -> Any:
            start = time.monotonic()
            try:
                return real(http, text, decoder)
            finally:
                asked.append((text, start, time.monotonic()))
        return page

    monkeypatch.setattr(coql, "coql_page", timed(coql.coql_page))
    monkeypatch.setattr(coql_slices, "coql_page", timed(coql_slices.coql_page))
    first, _ = read(answering, 10)
    firsts = [a for a in asked if " offset " not in a[0] and " Tasks " in a[0]]
    head = min(firsts, key=lambda a: a[1])
    assert all(a[1] >= head[2] for a in asked if " offset " in a[0]), "the first read waited for its first page"
    asked.clear()
    starts: list[int] = []  # where each read's calls begin in ``asked``
    again, counted = read(answering, 10, reads=2, starting=lambda: starts.append(len(asked)))
    assert again.equals(first) and counted["answered"]
    mine = asked[starts[-1]:]  # the same session's second read: '$se_module' answered by the first
    head = min((a for a in mine if " offset " not in a[0] and " Tasks " in a[0]), key=lambda a: a[1])
    assert any(a[1] < head[2] for a in mine if " offset " in a[0]), "the second read's first page went out alone"
