"""Org metadata over HTTP: users count, one field or layout by id, roles, profiles, territories, currencies,
custom views (and cvid), tags, and Deals' stage history."""

from __future__ import annotations

from typing import Any

import pytest

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture

org = org_fixture("An enterprise org whose tags and deals the tests change.", records=600, seed=29, org="enterprise")
z = client_fixture("org")


@pytest.mark.parametrize("path, params, key", [
    ("/settings/roles", {}, "roles"), ("/settings/profiles", {}, "profiles"),
    ("/settings/territories", {}, "territories"), ("/org/currencies", {}, "currencies"),
    ("/settings/custom_views", {"module": "Leads"}, "custom_views"),
    ("/settings/related_lists", {"module": "Accounts"}, "related_lists"),
])
def test_the_sdks_metadata_endpoints_answer_in_a_classic_org_too(zoho: ZohoClient, path: str, params: dict[str, str],
                                                                 key: str) -> None:
    r = zoho.get(path, params=params)
    assert r.status_code == 200, r.text
    items = r.json()[key]
    assert items and all(x["id"].isdigit() for x in items)
    one = zoho.get(f"{path}/{items[0]['id']}", params=params)
    assert one.status_code == 200 and one.json()[key][0]["id"] == items[0]["id"]
    assert zoho.get(f"{path}/5843104000000000001", params=params).status_code == 204


@pytest.mark.parametrize("kind, count", [(None, 7), ("ActiveUsers", 6), ("DeactiveUsers", 1), ("AdminUsers", 1),
                                         ("CurrentUser", 1)])
def test_users_count(zoho: ZohoClient, kind: str | None, count: int) -> None:
    r = zoho.get("/users/actions/count", params={"type": kind} if kind else {})
    assert r.status_code == 200 and r.json() == {"count": count}


def test_users_count_refuses_an_unknown_type(zoho: ZohoClient) -> None:
    assert zoho.get("/users/actions/count", params={"type": "Robots"}).json()["code"] == "INVALID_DATA"


def test_one_field_and_one_layout_by_id(zoho: ZohoClient) -> None:
    fields = zoho.get("/settings/fields", params={"module": "Deals"}).json()["fields"]
    for f in fields[:5] + fields[-3:]:
        r = zoho.get(f"/settings/fields/{f['id']}", params={"module": "Deals"})
        assert r.status_code == 200 and r.json() == {"fields": [f]}
    assert zoho.get(f"/settings/fields/{fields[0]['id']}", params={"module": "Leads"}).status_code == 204
    assert zoho.get(f"/settings/fields/{fields[0]['id']}").json()["code"] == "REQUIRED_PARAM_MISSING"
    layouts = zoho.get("/settings/layouts", params={"module": "Leads"}).json()["layouts"]
    r = zoho.get(f"/settings/layouts/{layouts[0]['id']}", params={"module": "Leads"})
    assert r.json() == {"layouts": [layouts[0]]}


def test_roles_profiles_territories_currencies(zoho: ZohoClient) -> None:
    roles = {r["name"]: r for r in zoho.get("/settings/roles").json()["roles"]}
    assert roles["Manager"]["reporting_to"] == {"name": "CEO", "id": roles["CEO"]["id"]}
    users = zoho.get("/users").json()["users"]
    assert {u["role"]["id"] for u in users} <= {r["id"] for r in roles.values()}
    profiles = zoho.get("/settings/profiles").json()
    assert {p["id"] for p in profiles["profiles"]} >= {u["profile"]["id"] for u in users}
    detail = zoho.get(f"/settings/profiles/{profiles['profiles'][0]['id']}").json()["profiles"][0]
    assert detail["permissions_details"] and detail["sections"]
    territories = {t["id"] for t in zoho.get("/settings/territories").json()["territories"]}
    named = {t["id"] for a in zoho.export("Accounts") for t in a["Territories"] or []}
    assert named <= territories
    currencies = zoho.get("/org/currencies").json()["currencies"]
    assert [c["iso_code"] for c in currencies if c["is_base"]] == [zoho.get("/org").json()["org"][0]["iso_code"]]


def test_custom_views_and_cvid(z: ZohoClient) -> None:
    body = z.get("/settings/custom_views", params={"module": "Deals"}).json()
    views = {v["system_name"]: v for v in body["custom_views"]}
    assert body["info"]["default"] == views["ALLVIEWS"]["id"]
    deals = z.export("Deals")
    mine = sorted(d["id"] for d in deals if d["Owner"]["id"] == str(schema.ADMIN_USER.id))
    got: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"cvid": views["MYVIEWS"]["id"], "fields": "Deal_Name", "per_page": 200}
        if token:
            params["page_token"] = token
        page = z.get("/Deals", params=params).json()
        got += [d["id"] for d in page["data"]]
        token = page["info"]["next_page_token"]
        if not token:
            break
    assert sorted(got) == mine
    assert z.get("/Deals/actions/count", params={"cvid": views["MYVIEWS"]["id"]}).json() == {"count": len(mine)}
    assert z.get("/Deals/actions/count", params={"cvid": views["ALLVIEWS"]["id"]}).json() == {"count": len(deals)}
    r = z.get("/Deals/search", params={"cvid": views["MYVIEWS"]["id"], "criteria": "(Type:equals:New Business)"})
    want = {d["id"] for d in deals if d["id"] in mine and d["Type"] == "New Business"}
    assert {d["id"] for d in r.json().get("data", [])} == set(list(sorted(want))[:200]) or len(want) > 200
    assert z.get("/Deals", params={"cvid": "5843104000000087501", "fields": "Deal_Name"}).json()["code"] == \
        "INVALID_DATA"


# -- tags ---------------------------------------------------------------------------------------

def test_generated_tags_read_on_records(z: ZohoClient) -> None:
    listed = {t["id"]: t for t in z.get("/settings/tags", params={"module": "Contacts"}).json()["tags"]}
    tagged = [c for c in z.export("Contacts") if c["Tag"]]
    assert tagged and all(t["id"] in listed and t["name"] == listed[t["id"]]["name"] for c in tagged for t in c["Tag"])
    for t in list(listed.values())[:3]:
        count = z.get(f"/settings/tags/{t['id']}/actions/records_count", params={"module": "Contacts"}).json()
        assert count == {"count": str(sum(1 for c in tagged if t["id"] in {x["id"] for x in c["Tag"]}))}


def test_tag_lifecycle(z: ZohoClient) -> None:
    r = z.post("/settings/tags", params={"module": "Accounts"},
               json={"tags": [{"name": "Strategic", "color_code": "#57B1FD"}, {"name": "x" * 26}]})
    assert r.status_code == 207
    made, bad = r.json()["tags"]
    assert made["message"] == "tags created successfully" and bad["details"]["maximum_length"] == 25
    tid = made["details"]["id"]
    dup = z.post("/settings/tags", params={"module": "Accounts"}, json={"tags": [{"name": "strategic"}]})
    assert dup.json()["tags"][0] == {"code": "DUPLICATE_DATA", "details": {"id": tid, "api_name": "name"},
                                     "message": "duplicate data", "status": "error"}
    account, other = z.export("Accounts")[:2]
    r = z.post(f"/Accounts/{account['id']}/actions/add_tags", json={"tags": [{"name": "Strategic"}, {"name": "Fresh"}]})
    assert {t["name"] for t in r.json()["data"][0]["details"]["tags"]} >= {"Strategic", "Fresh"}
    r = z.post("/Accounts/actions/add_tags", json={"tags": [{"name": "Strategic"}], "ids": [other["id"], "1"]})
    assert [x["status"] for x in r.json()["data"]] == ["success", "error"]
    renamed = z.put(f"/settings/tags/{tid}", params={"module": "Accounts"}, json={"tags": [{"name": "Key account"}]})
    assert renamed.json()["tags"][0]["message"] == "tags updated successfully"
    names = {t["name"] for t in z.get(f"/Accounts/{account['id']}").json()["data"][0]["Tag"]}
    assert "Key account" in names and "Strategic" not in names
    fresh = next(t for t in z.get("/settings/tags", params={"module": "Accounts"}).json()["tags"] if t["name"] == "Fresh")
    merged = z.post(f"/settings/tags/{tid}/actions/merge", json={"tags": [{"conflict_id": fresh["id"]}]})
    assert merged.status_code == 200
    names = {t["name"] for t in z.get(f"/Accounts/{account['id']}").json()["data"][0]["Tag"]}
    assert "Fresh" not in names and "Key account" in names
    r = z.post(f"/Accounts/{account['id']}/actions/remove_tags", json={"tags": [{"name": "Key account"}]})
    assert "Key account" not in {t["name"] for t in r.json()["data"][0]["details"]["tags"]}
    assert z.delete(f"/settings/tags/{tid}").json()["tags"][0]["message"] == "tags deleted successfully"
    assert tid not in {t["id"] for c in z.export("Accounts") for t in c["Tag"]}


def test_tags_sent_with_a_record_and_the_limits(z: ZohoClient) -> None:
    r = z.post("/Leads", json={"data": [{"Last_Name": "Tagged", "Tag": [{"name": "Inbound"}, {"name": "VIP"}]},
                                        {"Last_Name": "Too many", "Tag": [{"name": f"t{i}"} for i in range(11)]}]})
    assert r.status_code == 207
    lead = r.json()["data"][0]["details"]["id"]
    assert r.json()["data"][1]["code"] == "LIMIT_EXCEEDED"
    assert {t["name"] for t in z.get(f"/Leads/{lead}").json()["data"][0]["Tag"]} == {"Inbound", "VIP"}
    r = z.post(f"/Leads/{lead}/actions/add_tags", json={"tags": [{"name": f"n{i}"} for i in range(9)]})
    assert r.json()["data"][0]["code"] == "LIMIT_EXCEEDED"
    fields = {f["api_name"]: f for f in z.get("/settings/fields", params={"module": "Leads"}).json()["fields"]}
    assert (fields["Tag"]["data_type"], fields["Tag"]["json_type"], fields["Tag"]["read_only"]) == \
        ("text", "jsonarray", True)


classic = org_fixture("A classic org (ten modules: no Notes, no Tag); enterprise is the default.", records=100, seed=3,
                      org="classic")
classic_zoho = client_fixture("classic")


def test_a_classic_org_shows_no_tag_field(classic_zoho: ZohoClient) -> None:
    assert "Tag" not in classic_zoho.export("Leads")[0]
    assert classic_zoho.get("/settings/tags", params={"module": "Leads"}).json()["code"] == "INVALID_MODULE"


# -- stage history -------------------------------------------------------------------------------

def test_a_stage_change_adds_to_the_deals_stage_history(org: Any, z: ZohoClient) -> None:
    deal = z.export("Deals")[9]
    before = z.get(f"/Deals/{deal['id']}/Stage_History").json()["data"]
    assert before[-1]["Stage"] == deal["Stage"] and before[-1]["Stage_Duration"] is None
    target = "Closed Lost" if deal["Stage"] != "Closed Lost" else "Closed Won"
    assert z.put(f"/Deals/{deal['id']}", json={"data": [{"Stage": target}]}).status_code == 200
    after = z.get(f"/Deals/{deal['id']}/Stage_History").json()["data"]
    assert len(after) == len(before) + 1
    assert (after[-2]["Moved_To__s"], after[-1]["Stage"], after[-1]["Stage_Duration"]) == (target, target, None)
    assert after[-2]["Stage_Duration"] is not None
    r = z.put(f"/Deals/{deal['id']}/Stage_History", json={"data": [{"id": after[0]["id"]}]})
    assert r.json()["code"] == "CANNOT_BE_UPDATED"
