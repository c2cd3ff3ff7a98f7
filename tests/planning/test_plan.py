"""plan_query: API choice per configuration and size, the Pushdown readers get, the DuckDB SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.config.config import ConnectionConfig
from connector.errors import FatalApiError
from connector.planning import Plan, TableScan, plan_query

from .conftest import resolve

AUTO = ConnectionConfig()


def plan(sql: str, config: ConnectionConfig = AUTO, rows: int | None = None, params: object = None) -> Plan:
    return plan_query(sql, params, resolve, config, estimate_rows=lambda m: rows)  # type: ignore[arg-type]


def scan(sql: str, config: ConnectionConfig = AUTO, rows: int | None = None) -> TableScan:
    got = plan(sql, config, rows).scans
    assert len(got) == 1
    return got[0]


@pytest.mark.parametrize(("sql", "rows", "api"), [
    # COQL 4 credits (200 rows, then 800) against 15 for list pages joined by id (5 pages x 2 field groups):
    # measured on the emulator in tests/engine/test_choice_credits.py, like every changed choice below
    ("SELECT * FROM Leads", 1_000, "COQL"),
    ("SELECT * FROM Leads", 50_000, "Bulk"),  # large unfiltered scan
    ("SELECT * FROM Leads", None, "Bulk"),  # unknown size: assume large
    ("SELECT * FROM Leads WHERE lower(Email) = 'x'", 1_000, "COQL"),  # filter nobody can push: a scan, as above
    # unique field: a point lookup, 1 COQL credit; Search pays a page, its second field group and the
    # COQL call for recently modified records (3)
    ("SELECT * FROM Leads WHERE Email = 'a@b.com'", None, "COQL"),
    ("SELECT * FROM Leads WHERE Last_Name LIKE 'Sm%'", 2_000, "COQL"),  # Search's wide pages cost more
    ("SELECT * FROM Leads WHERE Last_Name LIKE 'Sm%'", 10_000, "COQL"),  # ~1,000: COQL pages are cheaper
    ("SELECT * FROM Leads WHERE Last_Name LIKE 'Sm%'", 100_000, "Bulk"),  # ~10,000 rows: a large scan
    ("SELECT * FROM Leads WHERE Last_Name LIKE 'Sm%'", None, "Bulk"),
    ("SELECT * FROM Leads WHERE id = '5843104000000000001'", None, "COQL"),  # ids: COQL only
    ("SELECT * FROM Leads WHERE Referrer_Name = 'Ann'", 20_000, "COQL"),  # COQL pushes more than Search
    ("SELECT * FROM Leads WHERE Lead_Score > 5", 9_000, "COQL"),  # a range, ~3,000 rows
    ("SELECT * FROM Leads WHERE Lead_Score > 5", 90_000, "Bulk"),
    ("SELECT * FROM Leads WHERE Email = 'a@b.com' OR Email IS NULL", 2_000, "COQL"),  # search has no null test
    ("SELECT * FROM Leads LIMIT 10", None, "COQL"),  # 1 COQL call; the list API's page needs a 2nd field group
    ("SELECT Email FROM Leads LIMIT 10", None, "REST"),  # one field group: a page, 1 credit like COQL
    ("SELECT * FROM Leads WHERE Lead_Score > 5 LIMIT 10", None, "COQL"),  # exact filter + LIMIT
    ("SELECT * FROM Leads ORDER BY Created_Time DESC LIMIT 10", None, "COQL"),  # one sorted call
    ("SELECT * FROM Leads ORDER BY Last_Name LIMIT 10", 50_000, "Bulk"),  # text order: DuckDB's job
    ("SELECT COUNT(*) FROM Leads WHERE Lead_Score > 5", None, "COQL"),
])
def test_auto_api_choice(sql: str, rows: int | None, api: str) -> None:
    got = scan(sql, rows=rows)
    assert got.api == api, got.reason


@pytest.mark.parametrize("api", ["REST", "COQL", "Bulk", "Search"])
def test_api_type_forces_the_api(api: str) -> None:
    config = ConnectionConfig(api_type=api)
    got = scan("SELECT * FROM Leads WHERE Email = 'a@b.com' AND Lead_Score > 3", config, rows=10)
    assert got.api == api and got.reason.startswith(f"APIType={api}")
    assert got.pushdown.criteria == "((Email:equals:a@b.com)and(Lead_Score:greater_than:3))"
    assert got.pushdown.coql_where == "(Email = 'a@b.com' and Lead_Score > 3)"
    assert got.exact is False and got.residual == "Email = 'a@b.com'" or api == "REST"


def test_forced_rest_cannot_filter_except_by_modified_time() -> None:
    config = ConnectionConfig(api_type="REST")
    got = scan("SELECT * FROM Leads WHERE Modified_Time > '2024-05-01 10:00:00' AND Lead_Score > 3", config)
    assert got.pushdown.modified_since == datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert not got.exact and got.residual == "Lead_Score > 3"
    only = scan("SELECT * FROM Leads WHERE Modified_Time >= '2024-05-01' LIMIT 5", config)
    assert only.exact and only.pushdown.limit == 5 and only.residual == ""


def test_forced_search_without_criteria_says_so() -> None:
    got = scan("SELECT * FROM Leads WHERE Lead_Score IS NULL", ConnectionConfig(api_type="Search"))
    assert got.api == "Search" and "falls back" in got.reason and got.pushdown.criteria is None


def test_use_coql_prefers_coql_for_filtered_reads() -> None:
    config = ConnectionConfig(use_coql=True)
    assert scan("SELECT * FROM Leads WHERE Email = 'a@b.com'", config).api == "COQL"
    assert scan("SELECT * FROM Leads", config, rows=100_000).api == "Bulk"


def test_server_side_filtering_off_pushes_projection_only() -> None:
    config = ConnectionConfig(use_server_side_filtering=False)
    got = scan("SELECT Email FROM Leads WHERE Email = 'a@b.com' LIMIT 3", config, rows=100)
    assert got.pushdown.criteria is got.pushdown.coql_where is got.pushdown.bulk_criteria is None
    assert not got.exact and got.pushdown.limit is None and got.api == "REST"
    assert got.columns == ("id", "Email") and got.residual == "Email = 'a@b.com'"
    assert "UseServerSideFiltering=false" in got.reason
    unfiltered = scan("SELECT Email FROM Leads LIMIT 3", config)
    assert unfiltered.exact and unfiltered.pushdown.limit == 3
    assert not scan("SELECT COUNT(*) FROM Leads WHERE Lead_Score > 1", config).count_via_coql
    assert scan("SELECT COUNT(*) FROM Leads", config).count_via_coql


def test_limit_and_order_only_when_exact_and_honoured() -> None:
    got = scan("SELECT * FROM Deals WHERE Amount > 5 ORDER BY Created_Time DESC LIMIT 10 OFFSET 5")
    assert (got.api, got.pushdown.limit, got.pushdown.order_by, got.exact) == \
        ("COQL", 15, (("Created_Time", False),), True)
    assert scan("SELECT * FROM Deals WHERE Deal_Name = 'x' LIMIT 10").pushdown.limit is None  # text: inexact
    assert scan("SELECT * FROM Deals ORDER BY Amount LIMIT 10").pushdown.limit is None  # Amount may be NULL
    assert scan("SELECT * FROM Deals ORDER BY Created_Time LIMIT 5000", rows=10**6).pushdown.limit is None
    assert scan("SELECT * FROM Deals ORDER BY id LIMIT 5").pushdown.limit is None  # ids sort as numbers in Zoho
    big = scan("SELECT * FROM Deals LIMIT 50000", rows=10**6)
    assert big.pushdown.limit == 50000 and big.estimated_rows == 50000


def test_count_via_coql() -> None:
    got = scan("SELECT COUNT(*) FROM Deals WHERE Amount > 5 AND Closing_Date >= '2024-01-01'")
    assert got.count_via_coql and got.api == "COQL" and got.columns == ("id",)
    assert got.coql_count == "select COUNT(id) from Deals where (Amount > 5 and Closing_Date >= '2024-01-01')"
    assert scan("SELECT COUNT(*) FROM Deals").coql_count == "select COUNT(id) from Deals where id is not null"
    assert not scan("SELECT COUNT(*) FROM Deals WHERE Deal_Name = 'x'").count_via_coql  # text is not exact
    assert not scan("SELECT COUNT(*) FROM Deals", ConnectionConfig(api_type="Bulk")).count_via_coql
    assert plan("SELECT COUNT(*) FROM Deals").count_via_coql


def test_residual_names_what_duckdb_still_filters() -> None:
    got = scan("SELECT * FROM Deals WHERE Amount > 5 AND lower(Deal_Name) = 'x' AND Stage = 'Won'",
               ConnectionConfig(api_type="COQL"))
    assert got.residual == "(LOWER(Deal_Name) = 'x') AND (Stage = 'Won')"
    assert scan("SELECT * FROM Deals WHERE Amount > 5", ConnectionConfig(api_type="COQL")).residual == ""


def test_estimates() -> None:
    rest = scan("SELECT * FROM Leads", ConnectionConfig(api_type="REST"), rows=1_000)
    assert (rest.estimated_rows, rest.estimated_calls, rest.estimated_credits) == (1_000, 15, 15)  # 5 pages x 3
    assert scan("SELECT * FROM Leads", ConnectionConfig(api_type="REST"), rows=400).estimated_calls == 6
    assert scan("SELECT * FROM Leads", rows=400).estimated_calls == 2  # COQL: 200 rows, then the other 200
    bulk = scan("SELECT * FROM Leads", rows=450_000)
    assert (bulk.estimated_calls, bulk.estimated_credits) == (14, 161)  # 3 jobs (create, 2 polls, download),
    # and the users list and layouts for owner and layout names
    search = scan("SELECT * FROM Leads WHERE Email = 'a@b.com'", ConnectionConfig(api_type="Search"))
    assert (search.estimated_rows, search.estimated_calls, search.estimated_credits) == (1, 3, 3)
    coql = scan("SELECT * FROM Leads WHERE Lead_Score > 5", rows=9_000)
    # 200 and 2,000 rows, then 800
    assert (coql.estimated_rows, coql.estimated_calls, coql.estimated_credits) == (3_000, 3, 7)
    unknown = scan("SELECT * FROM Leads")
    assert unknown.estimated_rows is unknown.estimated_calls is unknown.estimated_credits is None


def test_estimate_failures_mean_unknown() -> None:
    def broken(module: str) -> int:
        raise FatalApiError("no count for you")

    got = plan_query("SELECT * FROM Leads", None, resolve, AUTO, estimate_rows=broken).scans[0]
    assert got.api == "Bulk" and got.estimated_rows is None


def test_duckdb_sql_keeps_the_statement_unless_names_must_change() -> None:
    sql = "SELECT * FROM leads WHERE Email = ?"
    assert plan(sql, params=["a"]).sql == sql
    p = plan("SELECT zoho.Leads.Email, c.Email FROM zoho.Leads JOIN Contacts c ON true JOIN Contacts r ON true "
             "WHERE Leads.City = ?", params=["x"])
    assert [s.relation for s in p.scans] == ["Leads", "Contacts", "Contacts__2"]
    assert p.sql == ('SELECT Leads.Email, c.Email FROM "Leads" AS Leads JOIN "Contacts" AS c ON TRUE '
                     'JOIN "Contacts__2" AS r ON TRUE WHERE Leads.City = ?')
    assert p.params == ["x"] and p.scan("Contacts__2").alias == "r"


def test_explain_statements_and_non_zoho_queries() -> None:
    p = plan("EXPLAIN SELECT * FROM Leads WHERE Email = 'x'")
    assert p.explain and p.sql == "SELECT * FROM Leads WHERE Email = 'x'" and len(p.scans) == 1
    local = plan("SELECT 42 AS answer")
    assert local.scans == () and local.sql == "SELECT 42 AS answer"
