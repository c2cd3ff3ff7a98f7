"""Notes over HTTP: the Notes module, the Notes related list of every record, and what Notes are not.

An enterprise org (``org="enterprise"``) has Notes; a classic org does not. A note's
``Parent_Id`` is polymorphic: it reads ``{"module": {...}, "name", "id"}`` with the record's
``$se_module``, and is written in v8's nested form or the older ``Parent_Id`` + ``$se_module``.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org; tests create the notes and records they change.", records=300, seed=5,
                  org="enterprise")
z = client_fixture("org")


def a_record(z: ZohoClient, module: str) -> dict[str, Any]:
    return z.export(module)[7]


def parent_of(note: dict[str, Any]) -> tuple[str, str]:
    return note["Parent_Id"]["module"]["api_name"], note["Parent_Id"]["id"]


def test_notes_list_with_polymorphic_parents_in_zohos_shape(z: ZohoClient) -> None:
    r = z.get("/Notes", params={"fields": "Note_Title,Note_Content,Parent_Id,Owner", "per_page": 200})
    assert r.status_code == 200, r.text
    notes = r.json()["data"]
    assert len(notes) == 45 == len(z.export("Notes"))  # 15% of 300 records
    modules = {n["$se_module"] for n in notes}
    assert {"Leads", "Contacts", "Accounts", "Deals"} <= modules
    for n in notes:
        assert n["Parent_Id"]["module"] == {"api_name": n["$se_module"],
                                            "id": str(schema.MODULES_BY_NAME[n["$se_module"]].module_id)}
        assert n["Parent_Id"]["name"], n  # the parent's display name, whatever its module
        assert n["Note_Content"] and n["$voice_note"] is False and n["$editable"] is True
        assert n["id"].isdigit() and len(n["id"]) == 19


def test_a_records_notes_related_list_holds_exactly_its_notes(z: ZohoClient) -> None:
    notes = z.export("Notes")
    by_parent: dict[tuple[str, str], set[str]] = {}
    for n in notes:
        by_parent.setdefault(parent_of(n), set()).add(n["id"])
    for (module, pid), ids in list(by_parent.items())[:6]:
        r = z.get(f"/{module}/{pid}/Notes", params={"fields": "Note_Title,Parent_Id"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert {n["id"] for n in body["data"]} == ids
        assert body["info"] == {"per_page": 200, "count": len(ids), "page": 1, "more_records": False}
    lonely = next(x for x in z.export("Accounts") if ("Accounts", x["id"]) not in by_parent)
    assert z.get(f"/Accounts/{lonely['id']}/Notes").status_code == 204


@pytest.mark.parametrize("body, how", [
    ({"Note_Content": "v8 form", "Parent_Id": {"module": {"api_name": "{m}"}, "id": "{id}"}}, "nested"),
    ({"Note_Content": "older form", "Parent_Id": "{id}", "$se_module": "{m}"}, "se_module"),
    ({"Note_Content": "lookup form", "Parent_Id": {"id": "{id}"}, "$se_module": "{m}"}, "lookup"),
])
def test_notes_are_created_in_every_documented_form(z: ZohoClient, body: dict[str, Any], how: str) -> None:
    lead = a_record(z, "Leads")
    raw = {k: (v.replace("{m}", "Leads").replace("{id}", lead["id"]) if isinstance(v, str) else v)
           for k, v in body.items()}
    if isinstance(raw["Parent_Id"], dict):
        raw["Parent_Id"] = {"module": {"api_name": "Leads"}, "id": lead["id"]} if how == "nested" else \
            {"id": lead["id"]}
    r = z.post("/Notes", json={"data": [{**raw, "Note_Title": how}]})
    assert r.status_code == 201, r.text
    new_id = r.json()["data"][0]["details"]["id"]
    got = z.get(f"/Notes/{new_id}").json()["data"][0]
    assert got["Parent_Id"]["id"] == lead["id"] and got["$se_module"] == "Leads" and got["Note_Title"] == how
    assert got["Parent_Id"]["name"] == lead["Full_Name"]


@pytest.mark.parametrize("record, code, api_name", [
    ({"Note_Content": "no parent"}, "MANDATORY_NOT_FOUND", "Parent_Id"),
    ({"Note_Title": "no content", "Parent_Id": {"module": {"api_name": "Leads"}, "id": "{lead}"}},
     "MANDATORY_NOT_FOUND", "Note_Content"),
    ({"Note_Content": "x", "Parent_Id": {"module": {"api_name": "Users"}, "id": "{lead}"}}, "INVALID_DATA",
     "Parent_Id"),
    ({"Note_Content": "x", "Parent_Id": {"module": {"api_name": "Leads"}, "id": "5843104999999999999"}},
     "INVALID_DATA", "Parent_Id"),
    ({"Note_Content": "x", "Parent_Id": "{lead}"}, "MANDATORY_NOT_FOUND", "$se_module"),
])
def test_bad_notes_fail_per_record(z: ZohoClient, record: dict[str, Any], code: str, api_name: str) -> None:
    lead = a_record(z, "Leads")["id"]
    rec = {k: (v.replace("{lead}", lead) if isinstance(v, str) else v) for k, v in record.items()}
    if isinstance(rec.get("Parent_Id"), dict):
        rec["Parent_Id"] = {**rec["Parent_Id"], "id": rec["Parent_Id"]["id"].replace("{lead}", lead)}
    ok = {"Note_Content": "fine", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead}}
    r = z.post("/Notes", json={"data": [ok, rec]})
    assert r.status_code == 207, r.text
    good, bad = r.json()["data"]
    assert good["status"] == "success"
    assert bad["status"] == "error" and bad["code"] == code and bad["details"]["api_name"] == api_name


def test_notes_posted_on_a_record_belong_to_it(z: ZohoClient) -> None:
    deal = a_record(z, "Deals")
    r = z.post(f"/Deals/{deal['id']}/Notes", json={"data": [{"Note_Title": "Call", "Note_Content": "Agreed."},
                                                            {"Note_Title": "No content"}]})
    assert r.status_code == 207, r.text
    first, second = r.json()["data"]
    assert first["message"] == "record added" and second["code"] == "MANDATORY_NOT_FOUND"
    listed = z.get(f"/Deals/{deal['id']}/Notes").json()["data"]
    assert first["details"]["id"] in {n["id"] for n in listed}
    assert z.post("/Deals/5843104140099999999/Notes", json={"data": [{"Note_Content": "x"}]}).json()["code"] == \
        "INVALID_DATA"


def test_deleting_a_record_deletes_its_notes_into_the_recycle_bin(z: ZohoClient) -> None:
    contact = a_record(z, "Contacts")
    made = z.post(f"/Contacts/{contact['id']}/Notes", json={"data": [{"Note_Content": f"n{i}"} for i in range(3)]})
    ids = {d["details"]["id"] for d in made.json()["data"]}
    assert z.delete(f"/Contacts/{contact['id']}").json()["data"][0]["status"] == "success"
    left = {n["id"] for n in z.export("Notes")}
    assert not ids & left
    deleted = {d["id"] for d in z.get("/Notes/deleted", params={"per_page": 200}).json()["data"]}
    assert ids <= deleted
    assert z.get(f"/Notes/{next(iter(ids))}").status_code == 204


@pytest.mark.parametrize("call", ["coql", "search", "bulk_read", "bulk_write"])
def test_notes_are_not_served_by_coql_search_or_bulk(z: ZohoClient, call: str) -> None:
    if call == "coql":
        r = z.post("/coql", json={"select_query": "select Note_Title from Notes where id is not null limit 5"})
        assert (r.status_code, r.json()["code"]) == (400, "INVALID_MODULE")
    elif call == "search":
        r = z.get("/Notes/search", params={"word": "voicemail"})
        assert (r.status_code, r.json()["code"]) == (400, "INVALID_MODULE")
    elif call == "bulk_read":
        r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": "Notes"}}})
        assert (r.status_code, r.json()["code"]) == (400, "MODULE_NOT_SUPPORTED")
    else:
        body = {"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Notes"},
                                                     "file_id": "1", "field_mappings": []}]}
        r = z.post("/write", base=z.bulk, json=body)
        assert (r.status_code, r.json()["code"]) == (400, "MODULE_NOT_AVAILABLE")


def test_notes_need_the_notes_scope(org: Any, z: ZohoClient) -> None:
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.leads.ALL"}).json()
    leads_only = ZohoClient(org, refresh_token=grant["refresh_token"])
    lead = a_record(z, "Leads")
    assert leads_only.get(f"/Leads/{lead['id']}").status_code == 200
    for r in (leads_only.get("/Notes", params={"fields": "Note_Title"}),
              leads_only.get(f"/Leads/{lead['id']}/Notes")):
        assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    grant = z.admin("POST", "grant", json={"scopes": "ZohoCRM.modules.leads.ALL,ZohoCRM.modules.notes.READ"}).json()
    reader = ZohoClient(org, refresh_token=grant["refresh_token"])
    assert reader.get(f"/Leads/{lead['id']}/Notes").status_code in (200, 204)
    r = reader.post(f"/Leads/{lead['id']}/Notes", json={"data": [{"Note_Content": "no"}]})
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")


classic = org_fixture("A classic org (ten modules: no Notes, no Tag); enterprise is the default.", records=100, seed=3,
                      org="classic")
classic_zoho = client_fixture("classic")


def test_a_classic_org_has_no_notes(classic_zoho: ZohoClient) -> None:
    assert "Notes" not in {m["api_name"] for m in classic_zoho.get("/settings/modules").json()["modules"]}
    r = classic_zoho.get("/Notes", params={"fields": "Note_Title"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_MODULE")
    lead = classic_zoho.export("Leads")[0]
    r = classic_zoho.get(f"/Leads/{lead['id']}/Notes")
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")  # no such related list here


def test_notes_made_by_the_admin_mutation_belong_to_live_records(z: ZohoClient) -> None:
    made = z.admin("POST", "mutate", json={"module": "Notes", "creates": 20, "updates": 3, "seed": 4}).json()
    notes = {n["id"]: n for n in z.export("Notes")}
    for rid in made["created"]:
        module, pid = parent_of(notes[rid])
        assert pid in {r["id"] for r in z.export(module)}
