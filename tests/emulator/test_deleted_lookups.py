"""A lookup whose target is deleted reads null afterwards, the same through every read path.

Records, list by ids, search, COQL (value and filter), Bulk Read CSV and the admin export all
agree; the records that pointed at the deleted one keep their Modified_Time (Zoho does not bump
it); an association (multi-select lookup row) to the deleted record is gone.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import ZohoClient
from tests.emulator.bulk_read_client import download, wait_state


def _insert(z: ZohoClient, module: str, record: dict[str, Any]) -> str:
    r = z.post(f"/{module}", data=json.dumps({"data": [record], "trigger": []}))
    assert r.status_code == 201, r.text
    return str(r.json()["data"][0]["details"]["id"])


def _coql(z: ZohoClient, query: str) -> list[dict[str, Any]]:
    r = z.post("/coql", data=json.dumps({"select_query": query}))
    assert r.status_code in (200, 204), r.text
    return list(r.json()["data"]) if r.status_code == 200 else []


def _bulk_csv(z: ZohoClient, module: str, fields: list[str], rid: str) -> dict[str, str]:
    crit = {"field": {"api_name": "id"}, "comparator": "equal", "value": rid}
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": module}, "fields": fields,
                                                     "criteria": crit}})
    assert r.status_code == 201, r.text
    job = wait_state(z, r.json()["data"][0]["details"]["id"])
    assert job["state"] == "COMPLETED", job
    header, rows = download(z, job["id"])
    assert len(rows) == 1, rows
    return dict(zip(header, rows[0], strict=True))


def test_lookups_to_a_deleted_record_read_null_everywhere(private):
    z = private
    name = f"Doomed {uuid.uuid4().hex[:8]}"
    acc = _insert(z, "Accounts", {"Account_Name": name})
    last = f"Orphan{uuid.uuid4().hex[:8]}"
    contact = _insert(z, "Contacts", {"Last_Name": last, "Account_Name": {"id": acc}})
    deal = _insert(z, "Deals", {"Deal_Name": "Orphan deal", "Stage": "Qualification", "Account_Name": {"id": acc},
                                "Competitors": [{"Competitor": {"id": acc}}]})
    task = _insert(z, "Tasks", {"Subject": "Orphan task", "What_Id": {"id": acc}, "$se_module": "Accounts"})
    before = {m: z.get(f"/{m}/{rid}").json()["data"][0] for m, rid in
              (("Contacts", contact), ("Deals", deal), ("Tasks", task))}
    assert before["Contacts"]["Account_Name"] == {"name": name, "id": acc}
    assert [row["Competitor"]["id"] for row in before["Deals"]["Competitors"]] == [acc]
    assert before["Tasks"]["What_Id"]["id"] == acc and before["Tasks"]["$se_module"] == "Accounts"

    r = z.delete(f"/Accounts/{acc}")
    assert r.status_code == 200, r.text

    # Records API: single record and list by ids; the referencing records were not "modified".
    for module, rid in (("Contacts", contact), ("Deals", deal), ("Tasks", task)):
        rec = z.get(f"/{module}/{rid}").json()["data"][0]
        assert rec["Modified_Time"] == before[module]["Modified_Time"], module
        assert rec["Modified_By"] == before[module]["Modified_By"], module
    assert z.get(f"/Contacts/{contact}").json()["data"][0]["Account_Name"] is None
    deal_rec = z.get(f"/Deals/{deal}").json()["data"][0]
    assert deal_rec["Account_Name"] is None and deal_rec["Competitors"] == []
    task_rec = z.get(f"/Tasks/{task}").json()["data"][0]
    assert task_rec["What_Id"] is None and task_rec["$se_module"] is None
    listed = z.get("/Contacts", params={"ids": contact, "fields": "Account_Name"}).json()["data"]
    assert listed[0]["Account_Name"] is None

    # Search (no index lag here): the record is found, its lookup reads null.
    found = z.get("/Contacts/search", params={"criteria": f"(Last_Name:equals:{last})"}).json()["data"]
    assert [(c["id"], c["Account_Name"]) for c in found] == [(contact, None)]

    # COQL: the value, the joined name, and a filter on the lookup.
    rows = _coql(z, f"select Account_Name, Account_Name.Account_Name from Contacts where id = {contact}")
    assert rows == [{"Account_Name": None, "Account_Name.Account_Name": None, "id": contact}]
    assert [r["id"] for r in _coql(z, f"select Last_Name from Contacts where Account_Name is null "
                                      f"and id = {contact}")] == [contact]
    assert _coql(z, f"select Deal_Name from Deals where Account_Name = {acc}") == []

    # Bulk Read CSV: the lookup cell and the dotted name cell are empty.
    row = _bulk_csv(z, "Contacts", ["Account_Name", "Account_Name.Account_Name"], contact)
    assert (row["Account_Name"], row["Account_Name.Account_Name"]) == ("", "")

    # The admin export (ground truth for differential tests) agrees.
    assert next(c for c in z.export("Contacts") if c["id"] == contact)["Account_Name"] is None
    assert next(t for t in z.export("Tasks") if t["id"] == task)["What_Id"] is None


def test_lookups_to_other_records_are_untouched(private):
    z = private
    keep = _insert(z, "Accounts", {"Account_Name": f"Kept {uuid.uuid4().hex[:8]}"})
    doomed = _insert(z, "Accounts", {"Account_Name": f"Gone {uuid.uuid4().hex[:8]}"})
    contact = _insert(z, "Contacts", {"Last_Name": "Loyal", "Account_Name": {"id": keep}})
    # A Task pointing at a Deal whose id is not the deleted Account's keeps its What_Id (polymorphic).
    deal = _insert(z, "Deals", {"Deal_Name": "Live deal", "Stage": "Qualification"})
    task = _insert(z, "Tasks", {"Subject": "Deal task", "What_Id": {"id": deal}, "$se_module": "Deals"})
    assert z.delete(f"/Accounts/{doomed}").status_code == 200
    assert z.get(f"/Contacts/{contact}").json()["data"][0]["Account_Name"]["id"] == keep
    assert z.get(f"/Tasks/{task}").json()["data"][0]["What_Id"]["id"] == deal
