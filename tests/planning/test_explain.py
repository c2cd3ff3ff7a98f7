"""EXPLAIN output, as text and as an Arrow table."""

from __future__ import annotations

import json

from connector.config.config import ConnectionConfig
from connector.planning import explain, explain_table, plan_query

from .conftest import resolve


def test_explain_text_shows_api_reason_pushdown_residual_and_costs() -> None:
    plan = plan_query("EXPLAIN SELECT Last_Name FROM Leads WHERE Email = 'a@b.com' AND lower(City) = 'oslo'",
                      None, resolve, ConnectionConfig(), estimate_rows=lambda m: 10_000)
    text = explain(plan)
    lines = text.splitlines()
    # a unique field: one row at most, one 1-credit COQL call whatever it finds
    assert lines[0] == "Leads -> COQL: cheapest whatever the filter selects (0-1 rows): ~1 credit"
    assert "COQL where:      Email = 'a@b.com'" in text
    assert "residual:        (Email = 'a@b.com') AND (LOWER(City) = 'oslo')" in text
    assert "exact:           no (DuckDB re-applies the WHERE clause)" in text
    assert "columns:         id, Last_Name, Email, City (4)" in text
    assert "estimate:        1 row, 1 call, 1 credit" in text
    assert ("candidates:      REST 50 calls, 50 credits; COQL 1 call, 1 credit (chosen); Search 2 calls, 2 credits; "
            "Bulk 4 calls, 53 credits") in text
    assert lines[-2] == "total estimated credits: 1"
    assert lines[-1] == "DuckDB: SELECT Last_Name FROM Leads WHERE Email = 'a@b.com' AND lower(City) = 'oslo'"
    search = explain(plan_query(plan.source_sql, None, resolve, ConnectionConfig(api_type="Search"),
                                estimate_rows=lambda m: 10_000))
    assert search.splitlines()[0] == "Leads -> Search: APIType=Search"
    assert "search criteria: (Email:equals:a@b.com)" in search
    assert "COQL where:      Email = 'a@b.com' (for records newer than SearchIndexLag" in search
    assert "estimate:        1 row, 2 calls, 2 credits" in search and "candidates:" not in search


def test_explain_shows_the_price_range_of_what_was_not_counted() -> None:
    text = explain(plan_query("SELECT * FROM Leads WHERE Lead_Score > 5", None, resolve, ConnectionConfig(),
                              estimate_rows=lambda m: 90_000))
    assert text.splitlines()[0] == ("Leads -> Bulk: the filter selects 0-90,000 rows, not counted: at most 54 "
                                    "credits above the cheapest API anywhere in that range: ~55 credits")
    # 30,000 rows by COQL: 200 rows, then 15 pages of 2,000 (read in slices or in turn, the same pages)
    assert "COQL 16 calls, 46 credits (1-136 over the rows possible)" in text
    assert "Bulk 6 calls, 55 credits (chosen)" in text


def test_explain_bulk_join_count_and_limit() -> None:
    plan = plan_query("SELECT d.Amount, a.Industry FROM Deals d JOIN Accounts a ON d.Account_Name_Id = a.id "
                      "WHERE d.Closing_Date >= '2024-01-01' AND a.Employees > 10", None, resolve, ConnectionConfig())
    text = explain(plan)
    assert "Deals AS d -> Bulk: large scan (module of unknown size)" not in text  # it has a filter
    assert 'bulk criteria:   {"field": {"api_name": "Closing_Date"}, "comparator": "greater_equal", ' \
           '"value": "2024-01-01"}' in text
    assert "Accounts AS a -> Bulk" in text and "total estimated credits: 0 + unknown" in text
    count = explain(plan_query("SELECT COUNT(*) FROM Deals WHERE Amount > 5", None, resolve))
    assert "coql:      select COUNT(id) from Deals where Amount > 5" in count
    limited = explain(plan_query("SELECT * FROM Deals ORDER BY Modified_Time DESC LIMIT 3", None, resolve))
    assert "limit:           3 order by Modified_Time desc" in limited
    rest = explain(plan_query("SELECT * FROM Deals WHERE Modified_Time >= '2024-01-01'", None, resolve,
                              ConnectionConfig(api_type="REST")))
    assert "modified since:  2024-01-01T00:00:00+00:00" in rest and "exact:           yes" in rest
    assert "(no Zoho tables" in explain(plan_query("SELECT 1", None, resolve))


def test_explain_table_has_one_row_per_scan() -> None:
    plan = plan_query("SELECT * FROM Contacts c JOIN Accounts a ON c.Account_Name_Id = a.id "
                      "WHERE c.Lead_Source IN ('Web', 'Partner')", None, resolve, ConnectionConfig(),
                      estimate_rows=lambda m: 20_000 if m == "Contacts" else 3_000)
    table = explain_table(plan)
    assert table.num_rows == 2
    rows = table.to_pylist()
    assert [r["table"] for r in rows] == ["Contacts", "Accounts"]
    assert rows[0]["api"] == "COQL" and rows[0]["coql_where"] == "Lead_Source in ('Web', 'Partner')"
    assert json.loads(rows[0]["bulk_criteria"])["value"] == ["Web", "Partner"]
    # 3,000 accounts: COQL's 200 and 2,000 rows, then 800 rows (7 credits) against 15 list pages
    assert rows[1]["api"] == "COQL" and rows[1]["residual"] is None and rows[1]["estimated_calls"] == 3
    assert rows[1]["candidates"] == "REST 15 calls, 15 credits; COQL 3 calls, 7 credits (chosen); Bulk 6 calls, 55 credits"
    assert rows[0]["columns"][0] == "id" and rows[0]["exact"] is False
