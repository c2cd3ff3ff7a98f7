"""Records list/get over HTTP: fields rule, both paging regimes, sorting, converted, 204/304."""

from __future__ import annotations

import pytest

from connector.emulator import schema


def test_fields_param_is_mandatory(zoho):
    r = zoho.get("/Leads")
    assert r.status_code == 400
    assert r.json() == {"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "fields", "param": "fields"},
                        "message": "One of the expected parameter is missing", "status": "error"}


def test_more_than_50_fields_is_limit_exceeded(zoho):
    names = [f.api_name for f in schema.LEADS.fields][:51]
    assert len(names) == 51
    r = zoho.get("/Leads", params={"fields": ",".join(names)})
    assert r.status_code == 400 and r.json()["code"] == "LIMIT_EXCEEDED"


def test_unknown_module_names_the_path_index(zoho):
    r = zoho.get("/Lead", params={"fields": "Last_Name"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_MODULE"
    assert r.json()["details"] == {"resource_path_index": 2}


def test_ids_are_strings_and_shapes_match_the_docs(zoho):
    r = zoho.get("/Deals", params={"fields": "Deal_Name,Amount,Owner,Account_Name,Closing_Date,Modified_Time",
                                   "per_page": 5})
    assert r.status_code == 200
    body = r.json()
    assert set(body["info"]) >= {"call", "per_page", "next_page_token", "count", "page", "previous_page_token",
                                 "page_token_expiry", "sort_by", "sort_order", "email", "more_records"}
    assert body["info"]["count"] == 5 and body["info"]["more_records"] is True
    for rec in body["data"]:
        assert isinstance(rec["id"], str) and rec["id"].isdigit() and len(rec["id"]) == 19
        assert set(rec["Owner"]) == {"name", "id", "email"}
        if rec["Account_Name"] is not None:
            assert set(rec["Account_Name"]) == {"name", "id"}
        assert rec["Modified_Time"][-6:] == "+05:30" and "T" in rec["Modified_Time"]
        assert rec["Amount"] is None or isinstance(rec["Amount"], float)


def test_default_sort_is_id_desc_and_asc_works(zoho):
    desc = zoho.get("/Accounts", params={"fields": "Account_Name", "per_page": 10}).json()["data"]
    ids = [int(r["id"]) for r in desc]
    assert ids == sorted(ids, reverse=True)
    asc = zoho.get("/Accounts", params={"fields": "Account_Name", "per_page": 10, "sort_order": "asc"}).json()
    ids = [int(r["id"]) for r in asc["data"]]
    assert ids == sorted(ids)


def test_sort_by_only_allows_three_fields(zoho):
    r = zoho.get("/Accounts", params={"fields": "Account_Name", "sort_by": "Account_Name"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_page_beyond_2000_records_is_discrete_pagination_limit(zoho):
    ok = zoho.get("/Leads", params={"fields": "Last_Name", "page": 10, "per_page": 200, "converted": "both"})
    assert ok.status_code in (200, 204)
    r = zoho.get("/Leads", params={"fields": "Last_Name", "page": 11, "per_page": 200})
    assert r.status_code == 400 and r.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


def test_page_and_page_token_together_is_ambiguity(zoho):
    first = zoho.get("/Leads", params={"fields": "Last_Name", "per_page": 2}).json()
    r = zoho.get("/Leads", params={"fields": "Last_Name", "page": 1,
                                   "page_token": first["info"]["next_page_token"]})
    assert r.status_code == 400 and r.json()["code"] == "AMBIGUITY_DURING_PROCESSING"


def _walk(zoho, module, sort_by="id", order="desc", per_page=200, converted="both"):
    seen, token, pages = [], None, 0
    while True:
        params = {"fields": "Modified_Time", "per_page": per_page, "sort_by": sort_by, "sort_order": order,
                  "converted": converted}
        if token:
            params["page_token"] = token
        r = zoho.get(f"/{module}", params=params)
        if r.status_code == 204:
            break
        body = r.json()
        pages += 1
        seen += [rec["id"] for rec in body["data"]]
        if not body["info"]["more_records"]:
            assert body["info"]["next_page_token"] is None
            break
        token = body["info"]["next_page_token"]
    return seen, pages


@pytest.mark.parametrize("sort_by,order", [("id", "desc"), ("Modified_Time", "asc"), ("Created_Time", "desc")])
def test_page_token_walks_every_record_once(zoho, sort_by, order):
    truth = {r["id"] for r in zoho.export("Leads")}
    seen, pages = _walk(zoho, "Leads", sort_by, order, per_page=97)
    assert len(seen) == len(set(seen)) == len(truth)
    assert set(seen) == truth
    assert pages == -(-len(truth) // 97)


def test_converted_leads_hidden_by_default(zoho):
    truth = zoho.export("Leads")
    converted = {r["id"] for r in truth if r["Converted__s"]}
    assert converted, "the generator must produce converted leads"
    default, _ = _walk(zoho, "Leads", converted="false")
    assert not (set(default) & converted)
    only, _ = _walk(zoho, "Leads", converted="true")
    assert set(only) == converted


def test_page_token_bound_to_parameters(zoho):
    first = zoho.get("/Leads", params={"fields": "Last_Name", "per_page": 5}).json()
    tok = first["info"]["next_page_token"]
    r = zoho.get("/Leads", params={"fields": "Last_Name", "per_page": 5, "sort_order": "asc", "page_token": tok})
    assert r.status_code == 400 and r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    r = zoho.get("/Leads", params={"fields": "Last_Name", "page_token": tok[:-3] + "xyz"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_page_token_expires_after_24_hours(make_emulator):
    from tests.conftest import ZohoClient

    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    tok = z.get("/Leads", params={"fields": "Last_Name", "per_page": 5}).json()["info"]["next_page_token"]
    emu.advance_clock(86_401)
    z.token = z.mint()
    r = z.get("/Leads", params={"fields": "Last_Name", "per_page": 5, "page_token": tok})
    assert r.status_code == 400 and r.json()["code"] == "EXPIRED_VALUE"


def test_if_modified_since(zoho):
    r = zoho.get("/Leads", params={"fields": "Last_Name"},
                 headers={"If-Modified-Since": "2030-01-01T00:00:00+00:00"})
    assert r.status_code == 304 and r.content == b""
    r = zoho.get("/Leads", params={"fields": "Modified_Time", "converted": "both"},
                 headers={"If-Modified-Since": "2025-06-01T00:00:00+05:30"})
    assert r.status_code == 200
    assert all(rec["Modified_Time"] > "2025-06-01" for rec in r.json()["data"])


def test_get_single_record_has_subform_and_linking_rows(zoho):
    projects = zoho.export("Projects")
    with_rows = next(p for p in projects if p["Milestones"])
    r = zoho.get(f"/Projects/{with_rows['id']}")
    assert r.status_code == 200
    rec = r.json()["data"][0]
    assert rec["Milestones"] == with_rows["Milestones"]
    assert "$has_more" in rec
    listed = zoho.get("/Projects", params={"fields": "Name,Milestones,Members"}).json()["data"][0]
    assert "Milestones" not in listed and "Members" not in listed


def test_unknown_record_id_is_204(zoho):
    r = zoho.get("/Leads/5843104139999999999")
    assert r.status_code == 204 and r.content == b""


def test_v7_is_served_too(emulator):
    from tests.conftest import ZohoClient

    z7 = ZohoClient(emulator, version="v7")
    r = z7.get("/Contacts", params={"fields": "Last_Name", "per_page": 1})
    assert r.status_code == 200 and len(r.json()["data"]) == 1
