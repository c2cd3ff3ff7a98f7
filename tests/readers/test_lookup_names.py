"""Polymorphic lookups resolved by membership: a target's calls go out together, for the same calls and credits.

COQL gives ``What_Id`` its id and name but not its module; the reader looks the ids up in each target
module, 100 ids a call, a target's ids only where the targets before it did not hold them. The calls of
one target are sent at once within the connection's heavy slots: the answer, the calls and the credits
are those of the same read made one call at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.emulator import Emulator
from connector.readers.coql import CoqlReader
from connector.session import ZohoSession

COLUMNS = ["id", "What_Id_Id", "What_Id_Name", "What_Id_Module"]


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    with Emulator(records=6_000, seed=42) as emu:  # Tasks point at ~240 accounts and ~190 deals
        yield emu


def read(emu: Emulator, max_concurrency: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    requests.post(f"{emu.origin}/__emulator/stats", headers=emu.admin_headers(), timeout=30)  # peaks start now
    with ZohoSession(emu.connection_string + f";MaxConcurrency={max_concurrency}") as s:
        s.catalog.table("Tasks")
        s.catalog.fields("Tasks")  # metadata first: only the read's own calls are counted below
        before = emu.stats()
        ctx = s.reader_context()
        rows = [r for b in CoqlReader(ctx).batches("Tasks", COLUMNS) for r in b.to_pylist()]
        lookups = ctx.stats["polymorphic_lookup_calls"]
    after = emu.stats()
    return rows, {"credits": after["credits_used"] - before["credits_used"],
                  "calls": after["calls"].get("coql_query", 0) - before["calls"].get("coql_query", 0),
                  "lookups": lookups, "peak_heavy": after["concurrency"]["peak_heavy"],
                  "rejected": after["rejected_429"]}


def test_a_targets_lookups_go_out_together_for_the_same_answer_calls_and_credits(org: Emulator) -> None:
    serial, one = read(org, 1)
    together, many = read(org, 10)
    assert together == serial
    modules = {r["What_Id_Module"] for r in serial}
    assert {"Accounts", "Deals"} <= modules
    assert all(r["What_Id_Module"] is None for r in serial if r["What_Id_Id"] is None)
    truth = {str(i): module for i, module in org.app.store.fetchall('SELECT id, "What_Id$module" FROM Tasks')}
    assert {r["id"]: r["What_Id_Module"] for r in serial} == truth
    assert (many["calls"], many["credits"], many["lookups"]) == (one["calls"], one["credits"], one["lookups"])
    assert one["lookups"] >= 4  # more than 100 ids in a target: several calls for it
    assert one["peak_heavy"] == 1 and 2 <= many["peak_heavy"] <= 10
    assert one["rejected"] == many["rejected"] == 0
