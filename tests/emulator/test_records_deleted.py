"""``GET /{module}/deleted`` over HTTP: order, paging, type, If-Modified-Since, credits, retention."""

from __future__ import annotations

import json
import uuid
from typing import Any

from connector.emulator import schema
from tests.conftest import ZohoClient

ADMIN = schema.ADMIN_USER


def _new_lead(z: ZohoClient, **fields: str) -> str:
    body = {"data": [{"Last_Name": f"Doe-{uuid.uuid4().hex[:10]}", **fields}], "trigger": []}
    r = z.post("/Leads", data=json.dumps(body))
    assert r.status_code == 201, r.text
    return str(r.json()["data"][0]["details"]["id"])


def truth(z: ZohoClient, module: str, rid: str) -> dict[str, Any]:
    return next(r for r in z.export(module) if r["id"] == rid)


def stats(z: ZohoClient) -> dict[str, Any]:
    return dict(z.admin("GET", "stats").json())


def test_deleted_list(make_emulator):
    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    assert z.get("/Tasks/deleted").status_code == 204
    first = _new_lead(z, First_Name="Del")
    name = truth(z, "Leads", first)["Full_Name"]
    z.delete(f"/Leads/{first}")
    mark = z.admin("GET", "clock").json()["now"]
    emu.advance_clock(10)
    second = _new_lead(z)
    z.delete(f"/Leads/{second}")
    before = stats(z)["credits_used"]
    r = z.get("/Leads/deleted", params={"per_page": 1})
    assert stats(z)["credits_used"] - before == 2
    assert r.status_code == 200
    body = r.json()
    assert body["info"] == {"per_page": 1, "count": 1, "page": 1, "more_records": True}
    assert body["data"][0]["id"] == second  # most recent first
    r = z.get("/Leads/deleted", params={"per_page": 1, "page": 2, "type": "recycle"})
    entry = r.json()["data"][0]
    assert entry == {"deleted_by": {"name": ADMIN.full_name, "id": str(ADMIN.id)}, "id": first,
                     "display_name": name, "type": "recycle",
                     "created_by": {"name": ADMIN.full_name, "id": str(ADMIN.id)},
                     "deleted_time": entry["deleted_time"]}
    since = z.get("/Leads/deleted", headers={"If-Modified-Since": mark}).json()["data"]
    assert [e["id"] for e in since] == [second]
    r = z.get("/Leads/deleted", headers={"If-Modified-Since": "2999-01-01T00:00:00+00:00"})
    assert r.status_code == 304 and r.content == b""
    assert z.get("/Leads/deleted", params={"type": "permanent"}).status_code == 204
    r = z.get("/Leads/deleted", params={"type": "bin"})
    assert r.status_code == 400 and r.json()["code"] == "PATTERN_NOT_MATCHED"
    emu.advance_clock(61 * 86_400)  # out of the 60-day recycle bin: listed as permanent...
    z.token = z.mint()
    assert {e["type"] for e in z.get("/Leads/deleted").json()["data"]} == {"permanent"}
    emu.advance_clock(120 * 86_400)  # ...for 120 more days
    z.token = z.mint()
    assert z.get("/Leads/deleted").status_code == 204
