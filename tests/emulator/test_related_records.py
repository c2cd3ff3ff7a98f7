"""Related lists and the related records API: metadata, reading, linking, delinking; Campaigns, Cases, Solutions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org whose relations the tests change.", records=1_000, seed=17, org="enterprise")
z = client_fixture("org")


def names(z: ZohoClient, module: str) -> list[str]:
    return [x["api_name"] for x in z.get("/settings/related_lists", params={"module": module}).json()["related_lists"]]


def test_related_lists_metadata(z: ZohoClient) -> None:
    assert {"Contacts", "Deals", "Notes", "Attachments", "Calls", "Events"} <= set(names(z, "Accounts"))
    assert {"Leads", "Contacts", "Notes", "Attachments"} <= set(names(z, "Campaigns"))
    assert "Campaigns" in names(z, "Leads") and "Campaigns" in names(z, "Contacts")
    assert "Related_Contacts" in names(z, "Projects")
    lists = z.get("/settings/related_lists", params={"module": "Campaigns"}).json()["related_lists"]
    leads = next(x for x in lists if x["api_name"] == "Leads")
    assert leads["module"]["api_name"] == "Leads" and leads["type"] == "multiselectlookup"
    assert leads["href"] == "Campaigns/{ENTITYID}/Leads" and leads["status"] == "visible"
    one = z.get(f"/settings/related_lists/{leads['id']}", params={"module": "Campaigns"}).json()["related_lists"]
    assert one == [leads]
    assert z.get("/settings/related_lists").json()["code"] == "REQUIRED_PARAM_MISSING"
    assert z.get("/settings/related_lists", params={"module": "Campaign"}).json()["code"] == "INVALID_MODULE"
    assert z.get("/settings/related_lists", params={"module": "Quoted_Items"}).status_code == 204


@pytest.mark.parametrize("parent, list_name, child, field", [
    ("Accounts", "Contacts", "Contacts", "Account_Name"),
    ("Accounts", "Deals", "Deals", "Account_Name"),
    ("Vendors", "Products", "Products", "Vendor_Name"),
    ("Accounts", "Cases", "Cases", "Account_Name"),
])
def test_child_lists_hold_the_records_whose_lookup_points_here(z: ZohoClient, parent: str, list_name: str,
                                                               child: str, field: str) -> None:
    children: dict[str, set[str]] = {}
    for row in z.export(child):
        if row[field]:
            children.setdefault(row[field]["id"], set()).add(row["id"])
    pid, want = max(children.items(), key=lambda kv: len(kv[1]))
    r = z.get(f"/{parent}/{pid}/{list_name}", params={"fields": field, "per_page": 200})
    assert r.status_code == 200, r.text
    assert {x["id"] for x in r.json()["data"]} == want
    assert all(x[field]["id"] == pid for x in r.json()["data"])


def test_paging_a_related_list(z: ZohoClient) -> None:
    campaign = z.export("Campaigns")[0]["id"]
    everyone = z.get(f"/Campaigns/{campaign}/Leads", params={"per_page": 200}).json()["data"]
    first = z.get(f"/Campaigns/{campaign}/Leads", params={"per_page": 2, "page": 1}).json()
    second = z.get(f"/Campaigns/{campaign}/Leads", params={"per_page": 2, "page": 2}).json()
    assert first["info"]["more_records"] is True and len(first["data"]) == 2
    assert [x["id"] for x in first["data"] + second["data"]] == [x["id"] for x in everyone[:4]]


def test_campaign_members_link_update_and_delink(z: ZohoClient) -> None:
    campaign = z.export("Campaigns")[1]["id"]
    members = {m["Lead"]["id"]: m for m in z.export("Campaigns_X_Leads") if m["Campaign"]["id"] == campaign}
    listed = z.get(f"/Campaigns/{campaign}/Leads", params={"fields": "Last_Name"}).json()["data"]
    assert {x["id"]: x["Member_Status"] for x in listed} == {k: v["Member_Status"] for k, v in members.items()}
    newcomer = next(x["id"] for x in z.export("Leads") if x["id"] not in members)
    r = z.put(f"/Campaigns/{campaign}/Leads", json={"data": [{"id": newcomer, "Member_Status": "Invited"}]})
    assert r.json()["data"] == [{"code": "SUCCESS", "details": {"id": newcomer}, "message": "relation added",
                                 "status": "success"}]
    r = z.put(f"/Campaigns/{campaign}/Leads/{newcomer}", json={"data": [{"Member_Status": "Responded"}]})
    assert r.status_code == 200
    back = z.get(f"/Leads/{newcomer}/Campaigns", params={"fields": "Campaign_Name"}).json()["data"]
    assert (campaign, "Responded") in [(x["id"], x["Member_Status"]) for x in back]
    r = z.delete(f"/Campaigns/{campaign}/Leads", params={"ids": f"{newcomer},5843104130000000000"})
    assert r.status_code == 207
    assert [x["message"] for x in r.json()["data"]] == ["relation removed", "the related id given seems to be invalid"]
    after = z.get(f"/Leads/{newcomer}/Campaigns")
    assert after.status_code == 204 or campaign not in {x["id"] for x in after.json()["data"]}


@pytest.mark.parametrize("item, code", [
    ({"id": "5843104139999999999"}, "INVALID_DATA"),
    ({"id": "{lead}", "Member_Status": "Maybe"}, "INVALID_DATA"),
])
def test_bad_links_fail_per_record(z: ZohoClient, item: dict[str, Any], code: str) -> None:
    campaign = z.export("Campaigns")[2]["id"]
    lead = z.export("Leads")[-1]["id"]
    rec = {k: v.replace("{lead}", lead) if isinstance(v, str) else v for k, v in item.items()}
    r = z.put(f"/Campaigns/{campaign}/Leads", json={"data": [rec]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == code


def test_deleting_a_member_removes_it_from_its_campaigns(z: ZohoClient) -> None:
    link = z.export("Campaigns_X_Contacts")[0]
    contact, campaign = link["Contact"]["id"], link["Campaign"]["id"]
    assert z.delete(f"/Contacts/{contact}").json()["data"][0]["status"] == "success"
    left = z.get(f"/Campaigns/{campaign}/Contacts", params={"per_page": 200})
    assert left.status_code == 204 or contact not in {x["id"] for x in left.json()["data"]}


def test_multi_select_lookup_lists_link_too(z: ZohoClient) -> None:
    project = z.export("Projects")[0]["id"]
    contact = z.export("Contacts")[10]["id"]
    assert z.put(f"/Projects/{project}/Related_Contacts", json={"data": [{"id": contact}]}).status_code == 200
    got = z.get(f"/Projects/{project}").json()["data"][0]["Related_Contacts"]
    assert contact in {x["Contacts"]["id"] for x in got}
    assert z.delete(f"/Projects/{project}/Related_Contacts/{contact}").json()["data"][0]["message"] == \
        "relation removed"


def test_related_records_errors(z: ZohoClient) -> None:
    account = z.export("Accounts")[0]["id"]
    r = z.put(f"/Accounts/{account}/Contacts", json={"data": [{"id": z.export("Contacts")[0]["id"]}]})
    assert (r.status_code, r.json()["code"]) == (400, "CANNOT_BE_UPDATED")
    r = z.get(f"/Accounts/{account}/Potentials")
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (400, "INVALID_DATA",
                                                                      "The relation name given seems to be invalid")
    r = z.get("/Accounts/5843104119999999999/Contacts")
    assert r.json()["message"] == "the related id given seems to be invalid"
    assert z.get("/Accounts/x/Contacts").status_code == 404


def test_cases_and_solutions(z: ZohoClient) -> None:
    cases = z.export("Cases")
    assert sorted(int(c["Case_Number"]) for c in cases) == list(range(1, len(cases) + 1))
    r = z.post("/Cases", json={"data": [{"Subject": "Broken", "Status": "New", "Case_Origin": "Web"},
                                        {"Subject": "No origin", "Status": "New"}]})
    assert r.status_code == 207
    assert r.json()["data"][1]["details"]["api_name"] == "Case_Origin"
    made = z.get(f"/Cases/{r.json()['data'][0]['details']['id']}").json()["data"][0]
    assert int(made["Case_Number"]) == len(cases) + 1
    assert z.post("/Solutions", json={"data": [{"Question": "q"}]}).json()["data"][0]["details"]["api_name"] == \
        "Solution_Title"
    escalated = sorted(c["id"] for c in cases if c["Status"] == "Escalated")
    r = z.post("/coql", json={"select_query": "select Subject from Cases where Status = 'Escalated' limit 2000"})
    assert sorted(x["id"] for x in r.json().get("data", [])) == escalated
