"""Search API and record count over HTTP: criteria grammar and escaping, every error code, word/email/phone,
the 2,000 cap, index lag, and /actions/count (search-and-coql.md Part A, records.md section 8)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import Emulator, schema
from connector.emulator.criteria import parse_criteria
from connector.emulator.filters import Condition, Group
from connector.emulator.zoho_errors import ZohoError
from tests.conftest import ZohoClient
from tests.emulator.strategies import criteria_escape


def search(z: ZohoClient, module: str = "Leads", **params: Any) -> Any:
    return z.get(f"/{module}/search", params=params)


def ids(r: Any) -> set[str]:
    assert r.status_code in (200, 204), r.text
    return {rec["id"] for rec in r.json()["data"]} if r.status_code == 200 else set()


def error(r: Any, code: str, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "details", "message", "status"} and body["code"] == code, body
    return dict(body["details"])


@pytest.fixture(scope="module")
def leads(zoho: ZohoClient) -> list[dict[str, Any]]:
    return zoho.export("Leads")


# -- grammar ---------------------------------------------------------------------------------------

GOOD = [
    ("(Last_Name:equals:Smith)", lambda r: (r["Last_Name"] or "").lower() == "smith"),
    ("(Last_Name:equals:SMITH)", lambda r: (r["Last_Name"] or "").lower() == "smith"),  # the index ignores case
    ("(Company:equals:Acme\\, Inc.)", lambda r: r["Company"] == "Acme, Inc."),
    ("(Industry:equals:ASP \\(Application Service Provider\\))",
     lambda r: r["Industry"] == "ASP (Application Service Provider)"),
    ("(Last_Name:starts_with:o')", lambda r: (r["Last_Name"] or "").lower().startswith("o'")),
    ("(Lead_Source:in:Web Download,Chat)", lambda r: r["Lead_Source"] in ("Web Download", "Chat")),
    ("(Interests:equals:Email\\, SMS & Chat)", lambda r: "Email, SMS & Chat" in (r["Interests"] or [])),
    ("(Interests:starts_with:éq)", lambda r: any(i.lower().startswith("éq") for i in r["Interests"] or [])),
    ("((Lead_Score:greater_than:250)and(Annual_Revenue:less_equal:100000000.5))",
     lambda r: (r["Lead_Score"] or 0) > 250 and r["Annual_Revenue"] is not None and r["Annual_Revenue"] <= 1e8 + .5),
    ("((Lead_Status:equals:Contacted) or (Lead_Status:equals:New)) ",
     lambda r: r["Lead_Status"] in ("Contacted", "New")),
    ("(((Lead_Status:equals:Contacted)or(Lead_Status:equals:Junk Lead))and(Email_Opt_Out:equals:true))",
     lambda r: r["Lead_Status"] in ("Contacted", "Junk Lead") and r["Email_Opt_Out"]),
    ("(Created_Time:between:2024-03-01T00:00:00+00:00,2024-03-31T23:59:59+00:00)",
     lambda r: "2024-03-01T05:30:00+05:30" <= r["Created_Time"] <= "2024-04-01T05:29:59+05:30"),
    ("(Trial_Start:less_than:2024-06-01)", lambda r: r["Trial_Start"] is not None and r["Trial_Start"] < "2024-06-01"),
    ("(Owner:equals:5843104000000424672)", lambda r: r["Owner"]["id"] == "5843104000000424672"),
    ("(Rating:equals:${EMPTY})", lambda r: r["Rating"] is None),
    ("(Rating:not_equal:Active)", lambda r: r["Rating"] not in (None, "Active")),
    ("(Visitor_Id:greater_equal:500000000000000000)",
     lambda r: r["Visitor_Id"] is not None and int(r["Visitor_Id"]) >= 5 * 10**17),
    ("(Lead_Code:in:LD-0001000,LD-0001005)", lambda r: r["Lead_Code"] in ("LD-0001000", "LD-0001005")),
]


@pytest.mark.parametrize("criteria,pred", GOOD, ids=[c for c, _ in GOOD])
def test_criteria_match_the_export(zoho, leads, criteria, pred):
    want = {r["id"] for r in leads if pred(r)}
    got: set[str] = set()
    for page in range(1, 5):
        r = search(zoho, criteria=criteria, converted="both", page=page, fields="Last_Name")
        got |= ids(r)
        if r.status_code == 204 or not r.json()["info"]["more_records"]:
            break
    assert want and got == want


BAD = [
    ("(Last_Name:equals:Smith", {"api_name": "Last_Name"}),
    ("Last_Name:equals:Smith", {"api_name": "criteria"}),
    ("(Last_Name:equals:Smith))", {}),
    ("((Last_Name:equals:a)and(Last_Name:equals:b)or(Last_Name:equals:c))", {}),
    ("(Company:equals:Acme, Inc.)", {"api_name": "Company", "operator": "equals"}),
    ("(Company:equals:Licenses (50 seats))", {"api_name": "Company"}),
    ("(Last_Name:equals:)", {"api_name": "Last_Name"}),
    ("(Nope:equals:1)", {"api_name": "Nope"}),
    ("(Account_Name.Account_Name:equals:Acme)", {"api_name": "Account_Name.Account_Name"}),
    ("(Description:equals:x)", {"api_name": "Description"}),
    ("(Last_Name:contains:x)", {"api_name": "Last_Name", "operator": "contains"}),
    ("(Lead_Source:starts_with:W)", {"api_name": "Lead_Source", "operator": "starts_with"}),
    ("(Lead_Score:starts_with:1)", {"operator": "starts_with", "expected_data_type": "integer"}),
    ("(Email_Opt_Out:in:true,false)", {"operator": "in"}),
    ("(Lead_Score:greater_than:many)", {"api_name": "Lead_Score", "expected_data_type": "integer"}),
    ("(Created_Time:greater_than:2024-01-01T00:00:00)", {"expected_data_type": "datetime"}),
    ("(Trial_Start:equals:01/02/2024)", {"expected_data_type": "date"}),
    ("(Owner:equals:Jane Admin)", {"api_name": "Owner", "expected_data_type": "ownerlookup"}),
    ("(Lead_Score:between:1)", {"operator": "between"}),
]


@pytest.mark.parametrize("criteria,details", BAD, ids=[c for c, _ in BAD])
def test_bad_criteria_are_invalid_query(zoho, criteria, details):
    d = error(search(zoho, criteria=criteria), "INVALID_QUERY")
    assert {"api_name", "reason"} <= set(d)
    assert details.items() <= d.items(), d


def test_in_takes_at_most_100_values(zoho):
    values = ",".join(f"v{i}" for i in range(100))
    assert search(zoho, criteria=f"(Last_Name:in:{values})").status_code == 204
    r = search(zoho, criteria=f"(Last_Name:in:{values},v100)")
    assert error(r, "INVALID_QUERY") == {"api_name": "Last_Name", "reason": "too many values",
                                         "param_name": "criteria"}
    assert r.json()["message"] == 'Only 100 values are allowed in "IN" criteria'


@pytest.mark.parametrize("version,limit", [("v8", 15), ("v7", 10)])
def test_condition_limit_per_version(emulator, version, limit):
    z = ZohoClient(emulator, version=version)

    def crit(n: int) -> str:
        return "(" + "or".join(f"(Last_Name:equals:n{i})" for i in range(n)) + ")"

    assert z.get("/Leads/search", params={"criteria": crit(limit)}).status_code == 204
    r = z.get("/Leads/search", params={"criteria": crit(limit + 1)})
    assert error(r, "CRITERIA_LIMIT_EXCEEDED") == {"limit": limit}
    assert r.json()["message"] == f"no of criterium that can be given exceed the limit {limit}"


@settings(max_examples=60)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=15))
def test_escaping_round_trips_any_value(value):
    node = parse_criteria(f"(Last_Name:equals:{criteria_escape(value)})", schema.LEADS)
    assert isinstance(node, Condition) and node.value == value and node.path == ["Last_Name"]
    two = parse_criteria(f"(Lead_Source:in:{criteria_escape(value)},{criteria_escape(value[::-1])})", schema.LEADS)
    assert isinstance(two, Condition) and two.value == [value, value[::-1]]


def test_parser_builds_nested_groups():
    node = parse_criteria("((Lead_Score:equals:1)and((Last_Name:equals:a)or(Last_Name:equals:b)))", schema.LEADS)
    assert isinstance(node, Group) and node.op == "and"
    assert isinstance(node.items[1], Group) and node.items[1].op == "or" and len(node.items[1].items) == 2
    with pytest.raises(ZohoError):
        parse_criteria("", schema.LEADS)


# -- parameters ------------------------------------------------------------------------------------

def test_no_search_input_is_expected_param_missing(zoho):
    d = error(search(zoho), "EXPECTED_PARAM_MISSING")
    assert d == {"param_names": ["criteria", "email", "phone", "word"]}


def test_precedence_is_criteria_email_phone_word(zoho, leads):
    lead = next(r for r in leads if r["Email"] and r["Phone"] and not r["Converted__s"])
    by_email = ids(search(zoho, email=lead["Email"], phone="nobody", word="zzzzzz"))
    assert lead["id"] in by_email
    assert ids(search(zoho, criteria="(Last_Name:equals:zzzz)", email=lead["Email"])) == set()
    assert lead["id"] in ids(search(zoho, phone=lead["Phone"], word="zzzzzz"))


def test_email_and_phone_search_every_field_of_their_type(zoho, leads):
    lead = next(r for r in leads if r["Secondary_Email"] and not r["Converted__s"])
    assert lead["id"] in ids(search(zoho, email=lead["Secondary_Email"].upper()))
    phone = next(r["Mobile"] for r in leads if r["Mobile"])
    want = {r["id"] for r in leads if phone in (r["Phone"], r["Mobile"], r["Fax"]) and not r["Converted__s"]}
    assert ids(search(zoho, phone=phone, per_page=200)) == want


@pytest.mark.parametrize("word,code", [("a", "INVALID_DATA"), ("ab*", "INVALID_DATA"), ("x(y", "INVALID_DATA"),
                                       ("a,b", "INVALID_DATA")])
def test_bad_words(zoho, word, code):
    assert error(search(zoho, word=word), code)["param_name"] == "word"


def test_word_matches_text_fields_case_insensitively(zoho, leads):
    want = {r["id"] for r in leads if not r["Converted__s"] and any(
        "globex" in (r[f.api_name] or "").lower() for f in schema.LEADS.fields
        if f.searchable and f.value_type in ("text", "email", "phone", "website", "picklist", "autonumber"))}
    got: set[str] = set()
    for page in (1, 2, 3):
        got |= ids(search(zoho, word="GLOBEX", page=page, fields="Company"))
    assert want and got == want


def test_fields_param_and_default_fields(zoho):
    body = search(zoho, "Projects", criteria="(Status:equals:Active)").json()
    rec = body["data"][0]
    assert "Budget" in rec and "Account" in rec and "Milestones" not in rec and "Members" not in rec
    assert set(body["info"]) == {"per_page", "count", "page", "more_records"}
    rec = search(zoho, "Projects", criteria="(Status:equals:Active)", fields="Name,Budget").json()["data"][0]
    assert {k for k in rec if not k.startswith("$")} == {"Name", "Budget", "id"}
    error(search(zoho, "Projects", criteria="(Status:equals:Active)", fields="Nope"), "INVALID_DATA")


def test_results_in_id_order_204_and_converted(zoho, leads):
    r = search(zoho, criteria="(Last_Name:starts_with:s)", per_page=50)
    got = [rec["id"] for rec in r.json()["data"]]
    assert got == sorted(got, key=int)
    r = search(zoho, criteria="(Last_Name:equals:no such person)")
    assert r.status_code == 204 and r.content == b""
    converted = {r["id"] for r in leads if r["Converted__s"] and r["Lead_Source"] == "Chat"}
    assert converted and not (ids(search(zoho, criteria="(Lead_Source:equals:Chat)")) & converted)
    assert ids(search(zoho, criteria="(Lead_Source:equals:Chat)", converted="true")) == converted
    assert ids(search(zoho, criteria="(Lead_Source:equals:Chat)", approved="false")) == set()


def test_unknown_module_and_per_page_limit(zoho):
    assert error(search(zoho, "Lead", word="acme"), "INVALID_MODULE") == {"resource_path_index": 2}
    assert error(search(zoho, word="acme", per_page=201), "INVALID_DATA")["param_name"] == "per_page"
    assert error(search(zoho, word="acme", cvid="5843104000000087501"), "INVALID_DATA")["param_name"] == "cvid"


def test_2000_record_cap(make_emulator):
    z = ZohoClient(make_emulator(records=100, sizes={"Leads": 2100}))
    everyone = ",".join(str(u.id) for u in schema.USERS)
    crit = f"(Owner:in:{everyone})"
    r = z.get("/Leads/search", params={"criteria": crit, "converted": "both", "page": 10, "per_page": 200})
    assert r.status_code == 200 and r.json()["info"]["more_records"] is True
    r = z.get("/Leads/search", params={"criteria": crit, "converted": "both", "page": 11, "per_page": 200})
    assert error(r, "LIMIT_REACHED") == {"limit": "2000"}
    assert r.json()["message"] == "maximum response iteration limit reached"
    r = z.get("/Leads/search", params={"criteria": crit, "page": 41, "per_page": 50})
    assert error(r, "LIMIT_REACHED") == {"limit": "2000"}
    assert z.get("/Leads/actions/count", params={"criteria": crit, "converted": "both"}).json() == {"count": 2100}


# -- index lag -------------------------------------------------------------------------------------

def write(z: ZohoClient, method: str, path: str, record: dict[str, Any]) -> str:
    r = z.request(method, path, data=json.dumps({"data": [record], "trigger": []}))
    assert r.status_code in (200, 201), r.text
    return str(r.json()["data"][0]["details"]["id"])


def test_index_lag_hides_new_records_and_keeps_old_values(make_emulator):
    emu: Emulator = make_emulator(records=300, index_lag_s=60)
    z = ZohoClient(emu)
    name = "Zz (lag), test\\ü"
    crit = f"(Last_Name:equals:{criteria_escape(name)})"
    plain_before = z.get("/Leads/actions/count").json()["count"]
    rid = write(z, "POST", "/Leads", {"Last_Name": name, "Company": "Lagging Ltd"})
    assert search(z, criteria=crit).status_code == 204  # freshly created: not indexed yet
    # the plain count reads the table; a count with search parameters reads the lagged index
    assert z.get("/Leads/actions/count").json() == {"count": plain_before + 1}
    assert z.get("/Leads/actions/count", params={"criteria": crit}).json() == {"count": 0}
    coql = z.post("/coql", data=json.dumps({"select_query": f"select Last_Name from Leads where id = {rid}"}))
    assert coql.status_code == 200  # COQL reads the database: read-your-writes
    emu.advance_clock(61)
    z.token = z.mint()
    found = search(z, criteria=crit, fields="Last_Name,Company").json()["data"]
    assert [(r["id"], r["Last_Name"], r["Company"]) for r in found] == [(rid, name, "Lagging Ltd")]
    # an update within the lag: search still matches (and shows) the old value
    write(z, "PUT", f"/Leads/{rid}", {"Company": "Renamed GmbH"})
    old = search(z, criteria=crit, fields="Company").json()["data"]
    assert [r["Company"] for r in old] == ["Lagging Ltd"]
    assert search(z, criteria="(Company:equals:Renamed GmbH)").status_code == 204
    emu.advance_clock(61)
    z.token = z.mint()
    assert [r["Company"] for r in search(z, criteria=crit, fields="Company").json()["data"]] == ["Renamed GmbH"]
    assert ids(search(z, criteria="(Company:equals:Renamed GmbH)")) == {rid}


def test_index_lag_on_generated_records_and_deletes(make_emulator):
    emu: Emulator = make_emulator(records=300, index_lag_s=60)
    z = ZohoClient(emu)
    victim = next(r for r in z.export("Leads") if not r["Converted__s"] and r["Company"])
    rid, company = victim["id"], victim["Company"]
    write(z, "PUT", f"/Leads/{rid}", {"Company": "Brand New Co"})
    assert rid in ids(search(z, criteria=f"(Company:equals:{criteria_escape(company)})", per_page=200))
    assert search(z, criteria="(Company:equals:Brand New Co)").status_code == 204
    r = z.delete(f"/Leads/{rid}")
    assert r.status_code == 200, r.text
    # deleted records leave the index at once (a documented choice)
    assert rid not in ids(search(z, criteria=f"(Company:equals:{criteria_escape(company)})", per_page=200))
    plain = z.get("/Leads/actions/count").json()["count"]
    assert plain == sum(1 for r in z.export("Leads") if not r["Converted__s"])


# -- count -----------------------------------------------------------------------------------------

def test_count_plain_and_with_search_params(zoho, leads):
    assert zoho.get("/Leads/actions/count").json() == {"count": sum(1 for r in leads if not r["Converted__s"])}
    assert zoho.get("/Leads/actions/count", params={"converted": "both"}).json() == {"count": len(leads)}
    chat = sum(1 for r in leads if r["Lead_Source"] == "Chat" and not r["Converted__s"])
    assert zoho.get("/Leads/actions/count", params={"criteria": "(Lead_Source:equals:Chat)"}).json() == {
        "count": chat}
    assert zoho.get("/Leads/actions/count", params={"criteria": "(Last_Name:equals:nobody)"}).json() == {
        "count": 0}
    error(zoho.get("/Leads/actions/count", params={"criteria": "(Nope:equals:1)"}), "INVALID_QUERY")
    d = error(zoho.get("/Leads/actions/count", params={"cvid": "1", "word": "acme"}), "AMBIGUITY_DURING_PROCESSING")
    assert [a["api_name"] for a in d["ambiguity_due_to"]] == ["cvid", "word"]
    error(zoho.get("/Lead/actions/count"), "INVALID_MODULE")


def test_search_needs_module_read_scope(emulator):
    r = ZohoClient(emulator).admin("POST", "grant", json={"scopes": "ZohoCRM.modules.contacts.READ"})
    z = ZohoClient(emulator, refresh_token=r.json()["refresh_token"])
    assert z.get("/Contacts/search", params={"word": "acme"}).status_code in (200, 204)
    error(z.get("/Leads/search", params={"word": "acme"}), "OAUTH_SCOPE_MISMATCH", 401)
