"""A batch is processed in order: unique values freed or taken by earlier records count for later ones.

Over REST (one update call) and over Bulk Write, whose rows are validated and written in chunks
(``bulk_write.CHUNK_ROWS``): rows in later chunks see the records earlier chunks wrote, and rows
of one chunk see each other's claims before anything is written.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from connector.emulator import bulk_write
from tests.conftest import ZohoClient
from tests.emulator.bulk_write_client import run


def _leads(z: ZohoClient, n: int) -> list[tuple[str, str]]:
    """(id, email) of n fresh leads."""
    tag = uuid.uuid4().hex[:8]
    data = [{"Last_Name": f"B{i}", "Email": f"b{i}.{tag}@batch.example"} for i in range(n)]
    r = z.post("/Leads", data=json.dumps({"data": data, "trigger": []}))
    assert r.status_code == 201, r.text
    return [(e["details"]["id"], d["Email"]) for e, d in zip(r.json()["data"], data, strict=True)]


def _truth(z: ZohoClient) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in z.export("Leads")}


def test_rest_update_sees_a_unique_value_freed_earlier_in_the_call(private):
    (a, email_a), (b, _) = _leads(private, 2)
    fresh = f"fresh.{uuid.uuid4().hex[:8]}@batch.example"
    # b takes a's email after a moved off it: both succeed.
    r = private.put("/Leads", data=json.dumps({"data": [{"id": a, "Email": fresh}, {"id": b, "Email": email_a}]}))
    assert r.status_code == 200, r.text
    truth = _truth(private)
    assert (truth[a]["Email"], truth[b]["Email"]) == (fresh, email_a)
    # In the other order the value is still taken when the first record asks for it.
    r = private.put("/Leads", data=json.dumps({"data": [{"id": a, "Email": email_a},
                                                        {"id": b, "Email": f"x.{fresh}"}]}))
    assert r.status_code == 207, r.text
    first, second = r.json()["data"]
    assert first["code"] == "DUPLICATE_DATA" and first["details"]["duplicate_record"]["id"] == b
    assert second["status"] == "success"


def test_bulk_upsert_across_chunks_and_within_one(private):
    chunk = bulk_write.CHUNK_ROWS
    (x, email_x), (y, email_y) = _leads(private, 2)
    y_ref = f"yref-{uuid.uuid4().hex[:8]}"
    r = private.put(f"/Leads/{y}", data=json.dumps({"data": [{"External_Ref": y_ref}]}))
    assert r.status_code == 200, r.text
    tag = uuid.uuid4().hex[:6]
    rows = [(f"n{i}.{tag}@batch.example", f"New{i}", "") for i in range(chunk + 50)]
    rows[10] = (email_x, "FirstEdit", "")
    rows[11] = (email_x, "SecondEdit", "")  # the same record twice in one chunk: in order
    rows[20] = (email_y, "Moved", f"moved-{tag}")  # y gives up its External_Ref...
    rows[21] = (f"taker.{tag}@batch.example", "Taker", y_ref)  # ...and a later row of the chunk takes it
    rows[22] = (f"clash.{tag}@batch.example", "Clash", f"moved-{tag}")  # claimed by row 20 already
    rows.append((rows[5][0], "Again", ""))  # next chunk: updates the record row 5 inserted
    text = "Email,Last_Name,External_Ref\n" + "".join(f"{e},{n},{ref}\n" for e, n, ref in rows)
    mappings = [{"api_name": "Email", "index": 0}, {"api_name": "Last_Name", "index": 1},
                {"api_name": "External_Ref", "index": 2}]
    status, out = run(private, text, mappings, "upsert", find_by="Email", ignore_empty=True)
    got = [(r["STATUS"], r["ERRORS"]) for r in out]
    assert got[10] == got[11] == got[20] == ("UPDATED", "") and got[21] == ("ADDED", "")
    assert got[22] == ("SKIPPED", "DUPLICATE_DATA-External_Ref")
    assert out[-1]["STATUS"] == "UPDATED" and out[-1]["RECORD_ID"] == out[5]["RECORD_ID"]
    f = status["resource"][0]["file"]
    assert (f["added_count"], f["updated_count"], f["skipped_count"]) == (chunk + 50 - 4, 4, 1)
    truth = _truth(private)
    assert truth[x]["Last_Name"] == "SecondEdit"
    assert (truth[y]["Last_Name"], truth[y]["External_Ref"]) == ("Moved", f"moved-{tag}")
    assert truth[out[21]["RECORD_ID"]]["External_Ref"] == y_ref
    assert truth[out[5]["RECORD_ID"]]["Last_Name"] == "Again"
