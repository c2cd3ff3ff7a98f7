"""COQL over HTTP: grammar, operators per type, joins, aggregates, paging, limits, every error code, scopes,
credits (search-and-coql.md Part B). The random-filter differential test lives in test_filters.py."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import schema
from connector.emulator.coql import parse_coql
from connector.emulator.coql_plan import plan_coql
from connector.emulator.filters import Condition
from connector.emulator.zoho_errors import ZohoError
from tests.conftest import ZohoClient


def coql(z: ZohoClient, query: str) -> Any:
    # JSON body without Content-Type, as the Python SDK sends it
    r = z.post("/coql", data=json.dumps({"select_query": query}))
    assert "Content-Type" not in r.request.headers
    return r


def rows(z: ZohoClient, query: str) -> list[dict[str, Any]]:
    r = coql(z, query)
    if r.status_code == 204:
        assert r.content == b""
        return []
    assert r.status_code == 200, (query, r.text)
    body = r.json()
    assert body["info"]["count"] == len(body["data"])
    return list(body["data"])


@pytest.fixture(scope="module")
def export(zoho: ZohoClient) -> dict[str, list[dict[str, Any]]]:
    return {m: zoho.export(m) for m in ("Leads", "Contacts", "Accounts", "Deals")}


def _rev(r: dict[str, Any]) -> float:
    return r["Annual_Revenue"] if r["Annual_Revenue"] is not None else -1


GOOD = [
    ("select Last_Name from Leads where Last_Name = 'O''Brien'", "Leads", lambda r: r["Last_Name"] == "O'Brien"),
    ("select Last_Name from Leads where Last_Name = 'o''brien'", "Leads", lambda r: False),  # exact, case-sensitive
    ("select Company from Leads where Company like 'Acme%'", "Leads", lambda r: (r["Company"] or "").startswith("Acme")),
    ("select Company from Leads where Company like '%Inc.'", "Leads", lambda r: (r["Company"] or "").endswith("Inc.")),
    ("select Company from Leads where Company not like '%Corp%'", "Leads",
     lambda r: r["Company"] is not None and "Corp" not in r["Company"]),
    ("select Lead_Source from Leads where Lead_Source in ('Chat', 'Web Download')", "Leads",
     lambda r: r["Lead_Source"] in ("Chat", "Web Download")),
    ("select Lead_Source from Leads where Lead_Source not in ('Chat', 'Web Download')", "Leads",
     lambda r: r["Lead_Source"] not in (None, "Chat", "Web Download")),
    ("select Lead_Score from Leads where Lead_Score between 10 and 20", "Leads",
     lambda r: r["Lead_Score"] is not None and 10 <= r["Lead_Score"] <= 20),
    ("select Lead_Score from Leads where Lead_Score not between -10 and 400", "Leads",
     lambda r: r["Lead_Score"] is not None and not -10 <= r["Lead_Score"] <= 400),
    ("select Rating from Leads where Rating is null", "Leads", lambda r: r["Rating"] is None),
    ("select Rating from Leads where (Rating is not null) and (Email_Opt_Out = true)", "Leads",
     lambda r: r["Rating"] is not None and r["Email_Opt_Out"]),
    ("select Interests from Leads where Interests = 'CRM'", "Leads", lambda r: "CRM" in (r["Interests"] or [])),
    ("select Interests from Leads where Interests = 'HR;CRM'", "Leads",
     lambda r: sorted(r["Interests"] or []) == ["CRM", "HR"]),
    ("select Interests from Leads where Interests in ('HR', 'Finance')", "Leads",
     lambda r: bool({"HR", "Finance"} & set(r["Interests"] or []))),
    ("select Created_Time from Leads where Created_Time >= '2025-01-01T00:00:00+00:00'", "Leads",
     lambda r: r["Created_Time"] >= "2025-01-01T05:30:00+05:30"),
    ("select Created_Time from Leads where Created_Time >= '2024-12-31T16:00:00-08:00'", "Leads",
     lambda r: r["Created_Time"] >= "2025-01-01T05:30:00+05:30"),
    ("select Trial_End from Leads where Trial_End < '2025-03-01'", "Leads",
     lambda r: r["Trial_End"] is not None and r["Trial_End"] < "2025-03-01"),
    ("select Annual_Revenue from Leads where Annual_Revenue > 400000000.5", "Leads", lambda r: _rev(r) > 4e8 + .5),
    ("select Owner from Leads where Owner = 5843104000000424673", "Leads",
     lambda r: r["Owner"]["id"] == "5843104000000424673"),
    ("select Owner from Leads where Owner != '5843104000000424673'", "Leads",
     lambda r: r["Owner"]["id"] != "5843104000000424673"),
    ("select Last_Name from Contacts where Account_Name.Account_Name like 'Acme%'", "Contacts", None),
    ("select Last_Name FROM Contacts WHERE Owner.role.name = 'Manager'", "Contacts",
     lambda r: r["Owner"]["id"] in {str(u.id) for u in schema.USERS if u.role == "Manager"}),
    ("SeLeCt Last_Name fRoM Leads wHeRe Owner.email = 'jane.admin@acme.example'", "Leads",
     lambda r: r["Owner"]["email"] == "jane.admin@acme.example"),
    ("select Deal_Name from Deals where ((Stage = 'Closed Won') or (Stage = 'Closed Lost')) and (Amount > 1000)",
     "Deals", lambda r: r["Stage"] in ("Closed Won", "Closed Lost") and (r["Amount"] or 0) > 1000),
    ("select id from Leads where id > 5843104130000000690", "Leads", lambda r: int(r["id"]) > 5843104130000000690),
    ("select id from Leads where id in ('5843104130000000001', 5843104130000000002)", "Leads",
     lambda r: r["id"] in ("5843104130000000001", "5843104130000000002")),
]


@pytest.mark.parametrize("query,module,pred", GOOD, ids=[q for q, _, _ in GOOD])
def test_where_matches_the_export(zoho, export, query, module, pred):
    if pred is None:  # joined through Accounts: look the account name up in the export
        names = {a["id"]: a["Account_Name"] for a in export["Accounts"]}
        pred = lambda r: r["Account_Name"] is not None and names[r["Account_Name"]["id"]].startswith("Acme")  # noqa: E731
    want = {r["id"] for r in export[module] if pred(r)}
    got = {r["id"] for r in rows(zoho, query + " limit 2000")}
    assert got == want
    assert want or "o''brien" in query


def test_rows_render_like_the_records_api(zoho, export):
    out = rows(zoho, "select Last_Name, Owner, Owner.last_name, Account_Name, Account_Name.Account_Name, "
                     "Account_Name.Parent_Account.Account_Name, Modified_Time, Preferred_Channels, Loyalty_Points "
                     "from Contacts where Account_Name is not null order by id limit 50")
    truth = {r["id"]: r for r in export["Contacts"]}
    accounts = {a["id"]: a for a in export["Accounts"]}
    assert len(out) == 50
    for row in out:
        rec = truth[row["id"]]
        acc = accounts[rec["Account_Name"]["id"]]
        parent = accounts.get((acc["Parent_Account"] or {}).get("id", ""))
        assert list(row) == ["Last_Name", "Owner", "Owner.last_name", "Account_Name", "Account_Name.Account_Name",
                             "Account_Name.Parent_Account.Account_Name", "Modified_Time", "Preferred_Channels",
                             "Loyalty_Points", "id"]
        assert row["Owner"] == {"name": rec["Owner"]["name"], "id": rec["Owner"]["id"]}
        assert row["Owner.last_name"] == schema.USERS_BY_ID[int(rec["Owner"]["id"])].last_name
        assert row["Account_Name"] == rec["Account_Name"] and row["Account_Name.Account_Name"] == acc["Account_Name"]
        assert row["Account_Name.Parent_Account.Account_Name"] == (parent["Account_Name"] if parent else None)
        assert row["Modified_Time"] == rec["Modified_Time"] and row["Modified_Time"].endswith("+05:30")
        assert row["Preferred_Channels"] == rec["Preferred_Channels"]
        assert row["Loyalty_Points"] == rec["Loyalty_Points"]


def test_default_order_limit_and_more_records(zoho, export):
    r = coql(zoho, "select Last_Name from Leads")
    body = r.json()
    assert r.status_code == 200 and body["info"] == {"count": 200, "more_records": True}
    assert [x["id"] for x in body["data"]] == sorted((x["id"] for x in export["Leads"]), key=int)[:200]
    n = len(export["Leads"])
    tail = coql(zoho, f"select Last_Name from Leads limit {n - 3}, 50").json()
    assert tail["info"] == {"count": 3, "more_records": False}
    exact = coql(zoho, f"select Last_Name from Leads limit {n}").json()
    assert exact["info"] == {"count": n, "more_records": False}
    none = coql(zoho, "select Last_Name from Leads where Last_Name = 'Nobody At All'")
    assert none.status_code == 204 and none.content == b""


@pytest.mark.parametrize("order", ["Modified_Time asc", "Lead_Source desc", "Owner, Modified_Time desc"])
def test_offset_paging_is_stable_with_ties(zoho, export, order):
    seen: list[str] = []
    offset = 0
    while True:
        page = rows(zoho, f"select Modified_Time from Leads order by {order} limit 97 offset {offset}")
        seen += [r["id"] for r in page]
        offset += 97
        if len(page) < 97:
            break
    assert len(seen) == len(set(seen)) == len(export["Leads"])
    first = rows(zoho, f"select Modified_Time, Lead_Source from Leads order by {order} limit 300")
    again = rows(zoho, f"select Modified_Time, Lead_Source from Leads order by {order} limit 0, 300")
    assert first == again and [r["id"] for r in first] == seen[:300]


def test_order_by_desc_puts_nulls_last_and_breaks_ties_by_id(zoho):
    out = rows(zoho, "select Rating from Leads order by Rating desc limit 2000")
    ratings = [r["Rating"] for r in out]
    k = ratings.index(None)
    assert all(x is None for x in ratings[k:]) and ratings[:k] == sorted(ratings[:k], reverse=True)
    nulls = [int(r["id"]) for r in out[k:]]
    assert nulls == sorted(nulls)


def test_aggregates_and_group_by(zoho, export):
    leads = export["Leads"]
    out = rows(zoho, "select Lead_Source, COUNT(id), MAX(Lead_Score) as top from Leads group by Lead_Source "
                     "order by top desc")
    counts = Counter(r["Lead_Source"] for r in leads)
    assert {r["Lead_Source"]: r["COUNT(id)"] for r in out} == dict(counts)
    tops = [r["top"] for r in out]
    assert tops == sorted(tops, key=lambda t: (t is None, -(t or 0)))
    assert all(set(r) == {"Lead_Source", "COUNT(id)", "top"} for r in out)
    deals = export["Deals"]
    agg = rows(zoho, "select Stage, Owner, SUM(Amount), AVG(Probability), MIN(Amount) from Deals "
                     "group by Stage, Owner order by Stage, Owner")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for d in deals:
        groups.setdefault((d["Stage"], d["Owner"]["id"]), []).append(d)
    assert len(agg) == len(groups)
    for row in agg:
        members = groups[(row["Stage"], row["Owner"]["id"])]
        assert set(row["Owner"]) == {"name", "id"}
        amounts = [m["Amount"] for m in members if m["Amount"] is not None]
        assert row["SUM(Amount)"] == pytest.approx(sum(amounts)) if amounts else row["SUM(Amount)"] is None
        assert row["MIN(Amount)"] == (min(amounts) if amounts else None)
        assert row["AVG(Probability)"] == pytest.approx(sum(m["Probability"] for m in members) / len(members))
    total = rows(zoho, "select COUNT(id), SUM(Annual_Revenue) from Leads where Lead_Source = 'Chat'")
    chat = [r for r in leads if r["Lead_Source"] == "Chat"]
    assert total == [{"COUNT(id)": len(chat),
                      "SUM(Annual_Revenue)": pytest.approx(sum(r["Annual_Revenue"] or 0 for r in chat))}]


ERRORS = [
    ("select * from Leads", "SYNTAX_ERROR", {"line": 1, "column": 8, "near": "*"}),
    ("select Last_Name frm Leads", "SYNTAX_ERROR", {"near": "frm"}),
    ("select Last_Name Leads", "SYNTAX_ERROR", {"near": "Leads"}),
    ("select Last_Name from Leads where", "SYNTAX_ERROR", {"near": "<end of query>"}),
    ("select Last_Name\nfrom Leads\nwhere Last_Name == 'x'", "SYNTAX_ERROR", {"line": 3, "column": 18, "near": "="}),
    ("select Last_Name from Leads where Last_Name = 'a' and Lead_Score = 1 and Lead_Score = 2",
     "SYNTAX_ERROR", {"clause": "where"}),
    ("select Last_Name from Leads where (Last_Name = 'a' or Lead_Score = 1 or Lead_Score = 2)",
     "SYNTAX_ERROR", {"clause": "where"}),
    ("select count(id) from Leads", "SYNTAX_ERROR", {"near": "count"}),
    ("select COUNT(*) from Leads", "SYNTAX_ERROR", {"near": "*"}),
    ("select Last_Name from Leads where Last_Name = 'open", "SYNTAX_ERROR", {}),
    ("select Last_Name from Leads limit 10 offset", "SYNTAX_ERROR", {}),
    ("select Last_Name from Leads limit 1.5", "SYNTAX_ERROR", {"near": "1.5"}),
    ("select Last_Name from Leads where COUNT(id) > 1", "SYNTAX_ERROR", {}),
    ("select Last_Name from Leads where Last_Name = First_Name", "SYNTAX_ERROR", {"near": "First_Name"}),
    ("select Last_Name from Leads order by Last_Name group by Last_Name", "SYNTAX_ERROR", {"near": "group"}),
    ("select Last_Name from Lead", "INVALID_MODULE", {"module": "Lead"}),
    ("select Last_Name from Home", "INVALID_MODULE", {}),
    ("select Nope from Leads", "INVALID_QUERY", {"column_name": "Nope"}),
    ("select Owner.nope from Leads", "INVALID_QUERY", {"column_name": "Owner.nope"}),
    ("select Last_Name from Leads where Nope = 1", "INVALID_QUERY", {"column_name": "Nope"}),
    ("select Last_Name from Leads where Description = 'x'", "INVALID_QUERY", {"data_type": "textarea"}),
    ("select Milestones from Projects", "INVALID_QUERY", {"data_type": "subform"}),
    ("select Name from Projects where Members is null", "INVALID_QUERY", {"data_type": "multiuserlookup"}),
    ("select Name from Projects order by Contract", "INVALID_QUERY", {"data_type": "fileupload"}),
    ("select Name from Projects group by Photos", "INVALID_QUERY", {"data_type": "imageupload"}),
    ("select Deal_Name from Deals where Competitors is null", "INVALID_QUERY", {"data_type": "multiselectlookup"}),
    ("select Last_Name from Leads where Lead_Score like '1%'", "INVALID_QUERY", {"operator": "like"}),
    ("select Last_Name from Leads where Email_Opt_Out in (true)", "INVALID_QUERY", {"operator": "in"}),
    ("select Last_Name from Leads where Owner > 1", "INVALID_QUERY", {"operator": "greater_than"}),
    ("select Last_Name from Leads where Lead_Score = 'abc'", "INVALID_QUERY", {"column_name": "Lead_Score"}),
    ("select Last_Name from Leads where Created_Time > '2024-01-01T00:00:00'", "INVALID_QUERY",
     {"expected_data_type": "datetime"}),
    ("select Last_Name from Leads where Trial_End > '2024-01-01T00:00:00+00:00'", "INVALID_QUERY",
     {"expected_data_type": "date"}),
    ("select Last_Name from Leads where Last_Name = 5", "INVALID_QUERY", {"column_name": "Last_Name"}),
    ("select Last_Name from Leads where Last_Name = null", "INVALID_QUERY", {}),
    ("select Last_Name from Leads where Owner = 'Jane Admin'", "INVALID_QUERY", {}),
    ("select Last_Name from Leads where Last_Name not like 'abc%'", "INVALID_QUERY", {"operator": "not like"}),
    ("select Lead_Source, COUNT(id) from Leads", "INVALID_QUERY", {"column_name": "Lead_Source"}),
    ("select SUM(Last_Name) from Leads", "INVALID_QUERY", {"function": "SUM"}),
    ("select COUNT(id) from Leads order by Lead_Score", "INVALID_QUERY", {}),
    ("select Interests, COUNT(id) from Leads group by Interests", "INVALID_QUERY", {}),
    ("select Last_Name from Leads#5843104000000087501", "INVALID_QUERY", {}),
    ("select Last_Name from Leads limit 0", "INVALID_QUERY", {}),
    ("select Last_Name from Leads limit 2001", "LIMIT_EXCEEDED", {"by": "limit", "limit": 2000}),
    ("select Last_Name from Leads limit 2000 offset 98001", "LIMIT_EXCEEDED", {"by": "offset", "limit": 100000}),
    ("select Last_Name from Leads limit 98001, 2000", "LIMIT_EXCEEDED", {"by": "offset", "limit": 100000}),
    ("select Last_Name from Leads where Last_Name in (" + ", ".join(f"'n{i}'" for i in range(101)) + ")",
     "LIMIT_EXCEEDED", {"by": "in_values", "limit": 100}),
    ("select Account_Name.Parent_Account.Parent_Account.Account_Name from Contacts", "LIMIT_EXCEEDED",
     {"by": "relation_depth", "limit": 2}),
    ("select Last_Name from Leads where ((((Owner.email = 'a') and (Created_By.email = 'a')) and "
     "((Modified_By.email = 'a') and (Converted_Account.Account_Name = 'a'))) and "
     "((Converted_Contact.Last_Name = 'a') and (Referrer.Last_Name = 'a')))", "LIMIT_EXCEEDED",
     {"by": "where_joins", "limit": 5}),
    ("select COUNT(id), SUM(Lead_Score), MAX(Lead_Score), MIN(Lead_Score), AVG(Lead_Score), SUM(Budget) "
     "from Leads", "LIMIT_EXCEEDED", {"by": "aggregate_functions", "limit": 5}),
    ("select COUNT(id) from Leads group by Lead_Source, Rating, Industry, Salutation, Segment", "LIMIT_EXCEEDED",
     {"by": "group_by", "limit": 4}),
    ("select Last_Name from Leads order by " + ", ".join(f.api_name for f in schema.LEADS.fields[:11]),
     "LIMIT_EXCEEDED", {"by": "order_by", "limit": 10}),
    ("select Last_Name from Leads order by id, id", "DUPLICATE_DATA", {"column_name": "id"}),
    ("select Last_Name from Leads order by Last_Name asc, last_name desc", "DUPLICATE_DATA", {}),
    ("select COUNT(id) from Leads group by Lead_Source, Lead_Source", "DUPLICATE_DATA", {}),
    ("select COUNT(id), COUNT(id) from Leads", "DUPLICATE_DATA", {"column_name": "COUNT(id)"}),
    ("select Last_Name as n, First_Name as N from Leads", "DUPLICATE_ALIAS", {"alias": "N"}),
    ("select Last_Name as n from Leads where n = 'x'", "INVALID_ALIAS", {"alias": "n"}),
    ("select Lead_Source as s, COUNT(id) from Leads group by s", "INVALID_ALIAS", {"alias": "s"}),
    # $se_module: only where a polymorphic lookup gives it, and only as a selected column
    ("select Last_Name, '$se_module' from Leads", "INVALID_QUERY", {"column_name": "$se_module"}),
    ("select Subject from Tasks where '$se_module' = 'Deals'", "INVALID_QUERY", {"column_name": "$se_module"}),
    ("select Subject from Tasks order by '$se_module'", "INVALID_QUERY", {"column_name": "$se_module"}),
    ("select COUNT(id), '$se_module' from Tasks", "INVALID_QUERY", {"column_name": "$se_module"}),
]


def _where(n: int) -> str:
    acc = "Lead_Score = 0"
    for i in range(1, n):
        acc = f"({acc}) or (Lead_Score = {i})"
    return "select Last_Name from Leads where " + acc


ERRORS.append((_where(26), "LIMIT_EXCEEDED", {"by": "criteria", "limit": 25}))


@pytest.mark.parametrize("query,code,details", ERRORS, ids=[f"{c}:{q[:60]}" for q, c, _ in ERRORS])
def test_errors(zoho, query, code, details):
    r = coql(zoho, query)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"code", "details", "message", "status"} and body["status"] == "error"
    assert body["code"] == code, body
    assert details.items() <= body["details"].items(), body


@pytest.mark.parametrize("module, title", [("Tasks", "Subject"), ("Calls", "Subject"), ("Events", "Event_Title")])
def test_se_module_says_which_module_the_polymorphic_lookup_points_at(zoho, module, title):
    """COQL leaves the module out of ``What_Id``'s value; ``'$se_module'`` selected (single-quoted) gives it under
    that key, as the records API does beside the record: null where ``What_Id`` is empty."""
    truth = {r["id"]: r for r in zoho.export(module)}
    got = rows(zoho, f"select {title}, What_Id, '$se_module' from {module} where id is not null limit 2000")
    assert len(got) == len(truth) > 0
    assert {r["$se_module"] for r in got} - {None} and any(r["What_Id"] is None for r in truth.values())
    for r in got:
        assert set(r) == {title, "What_Id", "$se_module", "id"}
        want = truth[r["id"]]
        assert r["$se_module"] == (want["$se_module"] if want["What_Id"] else None), r
        assert r["What_Id"] == want["What_Id"]
    aliased = rows(zoho, f"select '$se_module' as related_module from {module} where What_Id is not null limit 5")
    assert all(set(r) == {"related_module", "id"} and r["related_module"] for r in aliased)


def test_25_conditions_and_100_values_are_fine(zoho):
    assert coql(zoho, _where(25)).status_code == 200
    q = "select Last_Name from Leads where Lead_Score in (" + ", ".join(str(i) for i in range(100)) + ")"
    assert coql(zoho, q).status_code == 200


def test_body_problems(zoho):
    r = zoho.post("/coql", data=json.dumps({"query": "select id from Leads"}))
    assert r.status_code == 400 and r.json()["code"] == "MANDATORY_NOT_FOUND"
    r = zoho.post("/coql", data="select id from Leads")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = zoho.post("/coql", json={"select_query": "select Last_Name from Leads limit 1"})  # with Content-Type too
    assert r.status_code == 200
    assert zoho.get("/coql").status_code == 400  # POST only


def test_scopes_need_coql_and_module_read(emulator):
    def client(scopes: str) -> ZohoClient:
        r = ZohoClient(emulator).admin("POST", "grant", json={"scopes": scopes})
        return ZohoClient(emulator, refresh_token=r.json()["refresh_token"])

    no_coql = client("ZohoCRM.modules.ALL")
    r = coql(no_coql, "select Last_Name from Leads limit 1")
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    contacts_only = client("ZohoCRM.coql.READ,ZohoCRM.modules.contacts.READ")
    assert coql(contacts_only, "select Last_Name from Contacts limit 1").status_code == 200
    r = coql(contacts_only, "select Last_Name from Leads limit 1")
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_credits_follow_the_limit(make_emulator):
    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    spent = []
    for limit in (200, 201, 1000, 1001, 2000):
        before = emu.stats()["credits_used"]
        coql(z, f"select Last_Name from Leads limit {limit}")
        spent.append(emu.stats()["credits_used"] - before)
    assert spent == [1, 2, 2, 3, 3]


# -- the parser on its own (property-based) ------------------------------------------------------

@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_string_literals_round_trip(value):
    literal = "'" + value.replace("'", "''") + "'"
    q = parse_coql(f"select Last_Name from Leads where Last_Name = {literal}")
    assert isinstance(q.where, Condition) and q.where.value == value


TOKENS = ["select", "SELECT", "from", "where", "and", "or", "not", "like", "in", "between", "is", "null", "group",
          "by", "order", "limit", "offset", "as", "asc", "desc", "Leads", "Last_Name", "Lead_Score", "Owner.email",
          "COUNT(id)", "count(", "(", ")", ",", "=", "!=", ">=", "<", "'x'", "'O''B'", "42", "-3", "1.5", "*", "#",
          ";", "true", "'2024-01-01T00:00:00+00:00'", "id", "Interests", "'a;b'", "Description", "é", "\n"]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(TOKENS), max_size=14))
def test_random_token_soup_never_crashes(tokens):
    text = " ".join(tokens)
    try:
        plan_coql(parse_coql(text), schema.LEADS)
    except ZohoError as e:
        assert e.status == 400 and e.code in {"SYNTAX_ERROR", "INVALID_QUERY", "LIMIT_EXCEEDED", "DUPLICATE_DATA",
                                              "INVALID_ALIAS", "DUPLICATE_ALIAS"}, e.body()


@settings(max_examples=100)
@given(st.lists(st.sampled_from(TOKENS[:28]), min_size=1, max_size=12))
def test_well_formed_prefix_plus_soup_runs_or_fails_cleanly(zoho, tokens):
    r = coql(zoho, "select Last_Name from Leads where " + " ".join(tokens))
    assert r.status_code in (200, 204, 400), r.text
