"""``POST /__emulator/mutate``: creates, updates and deletes through the API's write path."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ZohoClient


def mutate(z: ZohoClient, **body: Any) -> Any:
    return z.admin("POST", "mutate", json=body)


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def test_counts_and_export_reflect_the_changes(make_emulator):
    emu = make_emulator(records=300)
    z = ZohoClient(emu)
    before = by_id(z.export("Leads"))
    emu.advance_clock(3_600)
    r = mutate(z, module="Leads", creates=7, updates=5, deletes=3, seed=1)
    assert r.status_code == 200
    got = r.json()
    assert set(got) == {"created", "updated", "deleted"}
    assert (len(got["created"]), len(got["updated"]), len(got["deleted"])) == (7, 5, 3)
    assert all(isinstance(i, str) and i.isdigit() for ids in got.values() for i in ids)
    after = by_id(z.export("Leads"))
    assert len(after) == len(before) + 7 - 3
    assert set(got["created"]) <= set(after) and not set(got["created"]) & set(before)
    assert not set(got["deleted"]) & set(after)
    now = z.admin("GET", "clock").json()["now"]
    for rid in got["updated"]:
        old, new = before[rid], after[rid]
        assert new["Modified_Time"] > old["Modified_Time"] and new["Modified_Time"][:16] == now[:16]
        assert new["Created_Time"] == old["Created_Time"] and not new["Converted__s"]
    for rid in got["created"]:
        rec = after[rid]
        assert rec["Last_Name"] and rec["Full_Name"] and rec["Lead_Code"].startswith("LD-")
        assert rec["Converted__s"] is False and rec["Owner"] is not None
        assert rec["Created_Time"] == rec["Modified_Time"]
    assert z.admin("GET", "stats").json()["records_written"] == 15


def test_changes_behave_like_api_writes(make_emulator):
    emu = make_emulator(records=300)
    z = ZohoClient(emu)
    mark = z.admin("GET", "clock").json()["now"]
    emu.advance_clock(10)
    got = mutate(z, module="Contacts", updates=4, deletes=2, seed=2).json()
    history = emu.app.store.fetchall('SELECT DISTINCT id FROM "Contacts$history"')
    assert {str(r[0]) for r in history} == set(got["updated"])
    deleted = z.get("/Contacts/deleted").json()["data"]
    assert {d["id"] for d in deleted} == set(got["deleted"]) and {d["type"] for d in deleted} == {"recycle"}
    since = z.get("/Contacts", params={"fields": "Last_Name", "converted": "both"},
                  headers={"If-Modified-Since": mark})
    assert {r["id"] for r in since.json()["data"]} == set(got["updated"])


def test_modified_time_pins_one_second_for_watermark_ties(make_emulator):
    z = ZohoClient(make_emulator(records=300))
    tie = "2025-07-01T10:00:00+05:30"
    got = mutate(z, module="Deals", creates=3, updates=4, modified_time=tie, seed=3).json()
    after = by_id(z.export("Deals"))
    assert {after[i]["Modified_Time"] for i in got["created"] + got["updated"]} == {tie}
    r = z.get("/Deals", params={"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "desc",
                                "per_page": 200}, headers={"If-Modified-Since": "2025-07-01T09:59:59+05:30"})
    assert {x["id"] for x in r.json()["data"] if x["Modified_Time"] == tie} >= set(got["created"] + got["updated"])


def test_same_seed_same_changes(make_emulator):
    a, b = (ZohoClient(make_emulator(records=200, seed=9)) for _ in range(2))
    body = {"module": "Projects", "creates": 3, "updates": 2, "deletes": 1, "seed": 77}
    ra, rb = mutate(a, **body).json(), mutate(b, **body).json()
    assert ra == rb
    strip = ("Created_Time", "Modified_Time", "Days_Open")
    ea = [{k: v for k, v in r.items() if k not in strip} for r in a.export("Projects")]
    eb = [{k: v for k, v in r.items() if k not in strip} for r in b.export("Projects")]
    assert ea == eb
    assert mutate(a, **{**body, "seed": 78}).json()["updated"] != mutate(b, **body).json()["updated"]


def test_without_seed_each_call_differs(make_emulator):
    z = ZohoClient(make_emulator(records=200))
    first = mutate(z, module="Accounts", updates=3).json()["updated"]
    second = mutate(z, module="Accounts", updates=3).json()["updated"]
    assert first != second


@pytest.mark.parametrize("body", [
    {"module": "Lead", "creates": 1},
    {"module": "Leads", "creates": -1},
    {"module": "Leads", "updates": "2"},
    {"module": "Leads", "creates": 1, "modified_time": "2025-07-01T10:00:00"},
    {"module": "Leads", "creates": 1, "seed": "x"},
])
def test_bad_requests(make_emulator, body):
    z = ZohoClient(make_emulator(records=100))
    r = mutate(z, **body)
    assert r.status_code == 400
    assert set(r.json()) == {"code", "details", "message", "status"}
