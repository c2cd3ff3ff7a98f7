"""Polymorphic lookups: their module from ``'$se_module'``, else by membership, a target's calls together.

COQL gives ``What_Id`` its id and name but not its module. The reader selects ``'$se_module'`` beside it,
which names the module. Where Zoho does not answer that column (the emulator's ``coql_se_module: false``
plays such a Zoho), the reader looks the ids up in each target module, 100 ids a call, a target's ids
only where the targets before it did not hold them. The calls of one target are sent at once within the
connection's heavy slots: the answer, the calls and the credits are those of the same read made one call
at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.errors import ApiError
from connector.readers.coql import CoqlReader, refuses_se_module, take_se_module
from connector.session import ZohoSession

COLUMNS = ["id", "What_Id_Id", "What_Id_Name", "What_Id_Module"]


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    with Emulator(records=6_000, seed=42) as emu:  # Tasks point at ~240 accounts and ~190 deals
        yield emu


def configure(emu: Emulator, **settings: Any) -> None:
    r = requests.post(f"{emu.origin}/__emulator/config", json=settings, headers=emu.admin_headers(), timeout=30)
    assert r.status_code == 200, r.text


@pytest.fixture
def without_se_module(org: Emulator) -> Iterator[Emulator]:
    """The org as a Zoho whose COQL does not answer ``'$se_module'``."""
    configure(org, coql_se_module=False)
    try:
        yield org
    finally:
        configure(org, coql_se_module=True)


def read(emu: Emulator, max_concurrency: int, reads: int = 1) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``reads`` reads of Tasks' polymorphic lookup in one session: the last one's rows, what they all cost."""
    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
        s.catalog.table("Tasks")
        s.catalog.fields("Tasks")  # metadata first: only the read's own calls are counted below
        before = emu.stats()
        ctx = s.reader_context()
        for _ in range(reads):
            rows = [r for b in CoqlReader(ctx).batches("Tasks", COLUMNS) for r in b.to_pylist()]
        lookups = ctx.stats.get("polymorphic_lookup_calls", 0)
        refused = "$se_module" in s.catalog.refused
    after = emu.stats()
    return rows, {"credits": after["credits_used"] - before["credits_used"],
                  "calls": after["calls"].get("coql_query", 0) - before["calls"].get("coql_query", 0),
                  "lookups": lookups, "peak_heavy": after["concurrency"]["peak_heavy"],
                  "rejected": after["rejected_429"], "refused": refused}


def truth(org: Emulator) -> dict[str, str | None]:
    return {str(i): module for i, module in org.app.store.fetchall('SELECT id, "What_Id$module" FROM Tasks')}


def test_a_targets_lookups_go_out_together_for_the_same_answer_calls_and_credits(without_se_module: Emulator
                                                                                ) -> None:
    org = without_se_module
    serial, one = read(org, 1)
    together, many = read(org, 10)
    assert together == serial
    modules = {r["What_Id_Module"] for r in serial}
    assert {"Accounts", "Deals"} <= modules
    assert all(r["What_Id_Module"] is None for r in serial if r["What_Id_Id"] is None)
    assert {r["id"]: r["What_Id_Module"] for r in serial} == truth(org)
    assert (many["calls"], many["credits"], many["lookups"]) == (one["calls"], one["credits"], one["lookups"])
    assert one["lookups"] >= 4  # more than 100 ids in a target: several calls for it
    assert one["peak_heavy"] == 1 and 2 <= many["peak_heavy"] <= 10
    assert one["rejected"] == many["rejected"] == 0
    assert one["refused"] and many["refused"]


def test_se_module_names_the_module_with_no_lookup_call(org: Emulator, without_se_module: Emulator) -> None:
    configure(org, coql_se_module=True)
    rows, cost = read(org, 10)
    assert {r["id"]: r["What_Id_Module"] for r in rows} == truth(org)
    assert cost["lookups"] == 0 and not cost["refused"]
    configure(org, coql_se_module=False)
    looked_up, membership = read(org, 10)
    assert looked_up == rows  # the same answer both ways
    # the pages alone: the membership calls (and the one refused page) are what '$se_module' saves
    assert cost["calls"] == membership["calls"] - membership["lookups"] - 1
    assert cost["credits"] < membership["credits"]


def test_a_zoho_without_se_module_is_asked_it_once_a_session(without_se_module: Emulator) -> None:
    org = without_se_module
    _, once = read(org, 4, reads=1)
    rows, twice = read(org, 4, reads=2)
    assert {r["id"]: r["What_Id_Module"] for r in rows} == truth(org)
    assert once["refused"] and twice["refused"]
    pages = once["calls"] - once["lookups"] - 1  # the first page was refused once, then asked without it
    assert twice["calls"] == 2 * (pages + once["lookups"]) + 1


SE_MODULE_ROWS = [
    ({"What_Id": {"id": "1", "name": "A"}, "$se_module": "Deals"}, {"What_Id": {"id": "1", "name": "A",
                                                                                "module": {"api_name": "Deals"}}}),
    ({"What_Id": None, "$se_module": None}, {"What_Id": None}),
    ({"What_Id": {"id": "1", "name": "A"}, "$se_module": None}, {"What_Id": {"id": "1", "name": "A"}}),  # looked up
    ({"What_Id": {"id": "1", "module": {"api_name": "Accounts"}}, "$se_module": "Deals"},
     {"What_Id": {"id": "1", "module": {"api_name": "Accounts"}}}),  # a value that names its module keeps it
    ({"What_Id": {"id": "1"}}, {"What_Id": {"id": "1"}}),
    ({"What_Id": "1", "$se_module": "Deals"}, {"What_Id": "1"}),  # not a lookup value: left as it came
]


@pytest.mark.parametrize("row, want", SE_MODULE_ROWS)
def test_se_module_moves_into_the_lookup_value(row: dict[str, Any], want: dict[str, Any]) -> None:
    rows = [row]
    take_se_module(rows, "What_Id")
    assert rows == [want]


@pytest.mark.parametrize("details, named", [({"column_name": "$se_module"}, True), ({"column_name": "Subject"}, False),
                                            ({}, False)])
def test_a_refusal_names_se_module_only_when_zoho_says_so(details: dict[str, Any], named: bool) -> None:
    assert refuses_se_module(ApiError("column given seems to be invalid", code="INVALID_QUERY",
                                      details=details)) is named
