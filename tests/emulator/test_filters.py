"""The shared filter engine: differential tests of Search, COQL and Bulk Read against a Python oracle,
plus table-driven checks of value coercion, LIKE escaping and the Bulk Read criteria parser.

The differential tests draw random filter trees over the shared org (values sampled from its export,
plus awkward strings with ``( ) , ' % _ \\`` and unicode), render each tree as a criteria string, a
COQL WHERE clause and a Bulk Read criteria object, and compare the ids each API returns with
:func:`tests.emulator.strategies.matches` evaluated over ``/__emulator/export``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.emulator import bulk_criteria, filters, schema
from connector.emulator.query import Selection
from connector.emulator.zoho_errors import ZohoError
from tests.emulator import duckdb_oracle
from tests.emulator import strategies as S

MODULES = ["Leads", "Deals", "Contacts"]


class Org(dict[str, tuple[dict[str, str], list[dict[str, Any]], dict[str, list[Any]]]]):
    """module -> (filterable fields, exported records, sample values); a short repr keeps failure reports readable."""

    def __repr__(self) -> str:
        return f"Org({sorted(self)})"


@pytest.fixture(scope="module")
def org(zoho: Any) -> Org:
    out = Org()
    for module in MODULES:
        records = zoho.export(module)
        fields = S.filterable_fields(module)
        out[module] = (fields, records, S.sample_values(records, fields))
    return out


@pytest.fixture(scope="module")
def oracle_db(org: Org) -> Any:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for module, (fields, records, _) in org.items():
        duckdb_oracle.load(con, module, records, fields)
    yield con
    con.close()


def expected(org: Any, module: str, tree: S.Tree, *, ci: bool, db: Any = None) -> set[str]:
    """The ids the tree selects, by the Python oracle — and, given ``db``, DuckDB must agree."""
    fields, records, _ = org[module]
    want = {r["id"] for r in records if S.matches(tree, r, fields, ci=ci)}
    if db is not None:
        assert duckdb_oracle.ids(db, module, tree, fields, ci=ci) == want, duckdb_oracle.to_sql(tree, fields, ci=ci)
    return want


def draw_tree(data: st.DataObject, org: Any) -> tuple[str, S.Tree]:
    module = data.draw(st.sampled_from(MODULES), label="module")
    fields, _, values = org[module]
    return module, data.draw(S.trees(fields, values), label="tree")


def search_ids(zoho: Any, module: str, criteria: str) -> set[str]:
    ids: list[str] = []
    page = 1
    while True:
        r = zoho.get(f"/{module}/search", params={"criteria": criteria, "converted": "both", "fields": "id",
                                                  "page": page, "per_page": 200})
        if r.status_code == 204:
            break
        assert r.status_code == 200, (criteria, r.text)
        body = r.json()
        ids += [rec["id"] for rec in body["data"]]
        if not body["info"]["more_records"]:
            break
        page += 1
    assert len(ids) == len(set(ids))
    return set(ids)


def coql_ids(zoho: Any, module: str, where: str) -> set[str]:
    ids: list[str] = []
    while True:
        query = f"select id from {module} where {where} limit {len(ids)}, 2000"
        r = zoho.post("/coql", data=json.dumps({"select_query": query}))
        if r.status_code == 204:
            break
        assert r.status_code == 200, (query, r.text)
        body = r.json()
        ids += [rec["id"] for rec in body["data"]]
        if not body["info"]["more_records"]:
            break
    assert len(ids) == len(set(ids))
    return set(ids)


def bulk_ids(emu: Any, module: str, criteria: dict[str, Any]) -> set[str]:
    """Bulk Read's criteria parser and the compiler, run in-process (a job per example would hit the
    download limit); the bulk HTTP path is covered by test_bulk_criteria_over_http below."""
    m = schema.MODULES_BY_NAME[module]
    node = bulk_criteria.parse_bulk_criteria(criteria, m)
    sel = Selection(m, emu.app.clock.now_naive())
    sql, params = filters.compile_filter(node, sel, m, emu.app.clock)
    return {str(r[0]) for r in emu.app.store.fetchall(f"SELECT t.id FROM {sel.from_clause()} WHERE {sql}", params)}


@settings(max_examples=40)
@given(data=st.data())
def test_search_criteria_agree_with_the_oracle(zoho, org, oracle_db, data):
    module, tree = draw_tree(data, org)
    criteria = S.to_criteria(tree, org[module][0])
    assert search_ids(zoho, module, criteria) == expected(org, module, tree, ci=True, db=oracle_db), criteria


@settings(max_examples=40)
@given(data=st.data())
def test_coql_where_agrees_with_the_oracle(zoho, org, oracle_db, data):
    module, tree = draw_tree(data, org)
    where = S.to_coql(tree, org[module][0])
    assert coql_ids(zoho, module, where) == expected(org, module, tree, ci=False, db=oracle_db), where


@settings(max_examples=40)
@given(data=st.data())
def test_bulk_criteria_agree_with_the_oracle(emulator, org, oracle_db, data):
    module, tree = draw_tree(data, org)
    criteria = S.to_bulk(tree, org[module][0])
    assert bulk_ids(emulator, module, criteria) == expected(org, module, tree, ci=False, db=oracle_db), criteria


def test_bulk_criteria_over_http(make_emulator):
    """One job through the real Bulk Read endpoint with a tree using most comparators."""
    import io
    import time
    import zipfile

    from tests.conftest import ZohoClient

    emu = make_emulator(records=300)
    z = ZohoClient(emu)
    fields = S.filterable_fields("Leads")
    tree = ("or", [("and", [("cond", "Lead_Source", "in", ["Chat", "Web Download"]),
                            ("cond", "Annual_Revenue", "between", [1000, 10**8])]),
                   ("and", [("cond", "Company", "starts_with", "Acme, "), ("cond", "Email", "not_null", None)]),
                   ("cond", "Created_Time", "lt", datetime.fromisoformat("2024-03-01T00:00:00+00:00"))])
    r = z.post("/read", base=z.bulk, json={"query": {"module": {"api_name": "Leads"}, "fields": ["id"],
                                                     "criteria": S.to_bulk(tree, fields)}})
    assert r.status_code == 201, r.text
    job_id = r.json()["data"][0]["details"]["id"]
    deadline = time.monotonic() + 60
    while z.get(f"/read/{job_id}", base=z.bulk).json()["data"][0]["state"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    blob = z.get(f"/read/{job_id}/result", base=z.bulk).content
    rows = zipfile.ZipFile(io.BytesIO(blob)).read(f"{job_id}.csv").decode().splitlines()[1:]
    records = z.export("Leads")
    want = {r["id"] for r in records if S.matches(tree, r, fields, ci=False)}
    assert want and {row.split(",")[0] for row in rows} == want


# -- value coercion ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vtype,raw,want", [
    ("text", "Smith", "Smith"), ("text", 42, "42"), ("integer", "42", 42), ("integer", 7, 7),
    ("bigint", "816078329253045809", 816078329253045809), ("currency", "12.50", Decimal("12.50")),
    ("currency", 12.5, Decimal("12.5")), ("double", "0.25", 0.25), ("boolean", "TRUE", True),
    ("boolean", False, False), ("date", "2024-02-29", date(2024, 2, 29)),
    ("datetime", "2024-05-01T10:00:00+05:30", datetime(2024, 5, 1, 4, 30)),
    ("datetime", "2024-05-01T00:00:00-07:00", datetime(2024, 5, 1, 7, 0)),
    ("lookup", "5843104110000000025", 5843104110000000025), ("id", 5843104110000000025, 5843104110000000025),
    ("multiselectpicklist", ["A", "B"], ["A", "B"]),
])
def test_coerce_value_accepts(vtype, raw, want):
    assert filters.coerce_value(vtype, raw) == want


@pytest.mark.parametrize("vtype,raw", [
    ("integer", "4.5"), ("integer", "abc"), ("integer", True), ("integer", "1e3"), ("bigint", "9" * 20),
    ("currency", "NaN"), ("currency", "12,5"), ("double", ""), ("boolean", "yes"), ("boolean", 1),
    ("date", "2024-02-30"), ("date", "01/02/2024"), ("datetime", "2024-05-01T10:00:00"),
    ("datetime", "2024-05-01T10:00:00Z"), ("datetime", "2024-05-01"), ("lookup", "Acme"), ("text", None),
    ("text", True), ("fileupload", "x"),
])
def test_coerce_value_rejects(vtype, raw):
    with pytest.raises(filters.BadValue) as exc:
        filters.coerce_value(vtype, raw)
    assert exc.value.expected


@given(st.text(max_size=12), st.text(max_size=12))
def test_escaped_like_is_a_literal_prefix_match(prefix, text):
    con = duckdb.connect()
    got = con.execute("SELECT ? LIKE ? ESCAPE '\\'", [text, filters.escape_like(prefix) + "%"]).fetchone()[0]
    assert got == text.startswith(prefix)


@given(st.lists(st.text(alphabet="ab_\\'x", max_size=4), min_size=1, max_size=3), st.text(alphabet="ab_\\'x%",
                                                                                          max_size=10))
def test_zoho_like_treats_only_percent_as_a_wildcard(pieces, text):
    import re

    pattern = "%".join(pieces)
    regex = ".*".join(re.escape(p) for p in pieces)
    con = duckdb.connect()
    got = con.execute("SELECT ? LIKE ? ESCAPE '\\'", [text, filters.zoho_like(pattern)]).fetchone()[0]
    assert got == bool(re.fullmatch(regex, text, re.DOTALL))


# -- compile_filter semantics on the shared org -------------------------------------------------------

def ids_of(emulator: Any, module: str, node: filters.Node) -> set[str]:
    m = schema.MODULES_BY_NAME[module]
    sel = Selection(m, emulator.app.clock.now_naive())
    sql, params = filters.compile_filter(node, sel, m, emulator.app.clock)
    return {str(r[0]) for r in emulator.app.store.fetchall(f"SELECT t.id FROM {sel.from_clause()} WHERE {sql}",
                                                           params)}


def test_multiselect_single_value_means_contains_and_list_means_exactly(emulator, org):
    records = org["Leads"][1]
    contains = {r["id"] for r in records if r["Interests"] and "CRM" in r["Interests"]}
    exactly = {r["id"] for r in records if r["Interests"] and sorted(r["Interests"]) == ["CRM", "HR"]}
    assert contains and ids_of(emulator, "Leads", filters.Condition(["Interests"], "equal", "CRM")) == contains
    assert ids_of(emulator, "Leads", filters.Condition(["Interests"], "equal", ["HR", "CRM"])) == exactly
    everyone = {r["id"] for r in records if r["Interests"]}
    assert ids_of(emulator, "Leads", filters.Condition(["Interests"], "not_equal", "CRM")) == everyone - contains


def test_empty_marker_null_checks_and_negation_skip_nulls(emulator, org):
    records = org["Leads"][1]
    empty = {r["id"] for r in records if r["Rating"] is None}
    assert empty
    assert ids_of(emulator, "Leads", filters.Condition(["Rating"], "equal", filters.EMPTY)) == empty
    assert ids_of(emulator, "Leads", filters.Condition(["Rating"], "is_not_null")) == {r["id"] for r in records} - empty
    not_active = ids_of(emulator, "Leads", filters.Condition(["Rating"], "not_equal", "Active"))
    assert not (not_active & empty)
    active = ids_of(emulator, "Leads", filters.Condition(["Rating"], "equal", "Active"))
    assert not_active == {r["id"] for r in records} - empty - active
    # Not is the exact complement (conditions are two-valued), so it does include the empty ones
    assert ids_of(emulator, "Leads", filters.Not(filters.Condition(["Rating"], "equal", "Active"))) == (
        {r["id"] for r in records} - active)


def test_case_insensitive_flag_and_dotted_lookup_paths(emulator, org):
    records = org["Contacts"][1]
    accounts = {a["id"]: a for a in org_accounts(emulator)}
    want = {r["id"] for r in records if r["Account_Name"] and
            accounts[r["Account_Name"]["id"]]["Account_Name"].startswith("Acme")}
    cond = filters.Condition(["Account_Name", "Account_Name"], "starts_with", "acme", case_insensitive=True)
    assert want and ids_of(emulator, "Contacts", cond) == want
    assert ids_of(emulator, "Contacts", filters.Condition(["Account_Name", "Account_Name"], "starts_with",
                                                          "acme")) == set()


def org_accounts(emulator: Any) -> list[dict[str, Any]]:
    from tests.conftest import ZohoClient

    return ZohoClient(emulator).export("Accounts")


# -- Bulk Read criteria parser: every error code -----------------------------------------------------

def cond(name: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"field": {"api_name": name}, "comparator": comparator, "value": value}


BULK_ERRORS = [
    ([], "INVALID_CRITERIA"),
    ({"field": "Last_Name", "comparator": "equal", "value": "x"}, "INVALID_CRITERIA"),
    ({"field": {"api_name": "Last_Name"}, "comparator": "equal"}, "INVALID_CRITERIA"),
    ({"group_operator": "and", "group": []}, "INVALID_CRITERIA"),
    ({"group_operator": "and", "group": [cond("Last_Name", "equal", "x")], "field": {"api_name": "x"}},
     "AMBIGUOUS_CRITERIA"),
    ({"group_operator": "xor", "group": [cond("Last_Name", "equal", "x")]}, "GROUP_OPERATOR_NOT_SUPPORTED"),
    (cond("No_Such_Field", "equal", "x"), "FIELD_IN_CRITERIA_NOT_AVAILABLE"),
    (cond("Description", "equal", "x"), "FIELD_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Referrer.Account_Name.Account_Name", "equal", "x"), "FIELD_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Lead_Source", "greater_than", "x"), "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Annual_Revenue", "between", [1, 2]), "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Email_Opt_Out", "not_equal", True), "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Lead_Source", "like", "x"), "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"),
    (cond("Lead_Source", "in", "Chat"), "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Created_Time", "between", ["2024-01-01T00:00:00+00:00"]), "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Lead_Source", "contains", "${EMPTY}"), "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Annual_Revenue", "greater_than", "lots"), "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Created_Time", "greater_than", "2024-01-01"), "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Owner", "equal", "Jane Admin"), "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"),
    (cond("Last_Name", "equal", None), "VALUE_TYPE_NOT_SUPPORTED"),
    (cond("Last_Name", "equal", ["a"]), "VALUE_TYPE_NOT_SUPPORTED"),
    (cond("Lead_Source", "in", [str(i) for i in range(101)]), "VALUE_LIMIT_EXCEEDED_IN_CRITERIA"),
    ({"group_operator": "or", "group": [cond("Last_Name", "equal", str(i)) for i in range(26)]},
     "CRITERIA_LIMIT_EXCEEDED"),
]


@pytest.mark.parametrize("criteria,code", BULK_ERRORS, ids=[c for _, c in BULK_ERRORS])
def test_bulk_criteria_errors(criteria, code):
    with pytest.raises(ZohoError) as exc:
        bulk_criteria.parse_bulk_criteria(criteria, schema.LEADS)
    assert exc.value.status == 400 and exc.value.code == code, exc.value.body()
    assert set(exc.value.body()) == {"code", "details", "message", "status"}


def test_bulk_criteria_accepts_the_documented_shapes(emulator, org):
    ok = {"group_operator": "AND", "group": [
        cond("Modified_Time", "greater_equal", "2024-01-01T00:00:00+00:00"),
        cond("Lead_Source", "in", ["Web Download", "Advertisement"]),
        cond("Annual_Revenue", "greater_than", "40000"),  # Zoho's own samples quote numbers
        cond("Owner", "not_equal", {"id": str(schema.USERS[1].id)}),
        cond("Referrer.Last_Name", "starts_with", "O'"),
        cond("Rating", "not_equal", "${EMPTY}"),
        {"group_operator": "or", "group": [cond("Email_Opt_Out", "equal", False),
                                           cond("Created_Time", "not_between",
                                                ["2024-01-01T00:00:00+05:30", "2024-02-01T00:00:00+05:30"])]}]}
    node = bulk_criteria.parse_bulk_criteria(ok, schema.LEADS)
    assert isinstance(node, filters.Group) and filters.count_conditions(node) == 8
    ids_of(emulator, "Leads", node)  # compiles and runs
