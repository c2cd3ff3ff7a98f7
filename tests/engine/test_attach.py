"""``connector.duckdb.attach``: Zoho modules in the user's own DuckDB, with projection and filter pushdown.

The evidence of pushdown is the emulator's call log (a search, COQL or bulk
call with the filter instead of a full list scan) and the plans the sources
ran; the evidence of correctness is DuckDB over the export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import connector
import connector.duckdb as zduck
from connector.emulator import Emulator
from connector.errors import ConfigError

from .conftest import Truth, assert_same_result, calls_since, data_calls

QUERIES = [
    ("SELECT id, Email FROM {z}Leads WHERE Lead_Source = 'Partner'", ("Leads",)),
    ("SELECT id, Company FROM {z}Leads WHERE Company IN ('100% Organic', 'Smith (UK), Ltd') OR City = 'Kraków'",
     ("Leads",)),
    ("SELECT id, Lead_Score FROM {z}Leads WHERE Lead_Score BETWEEN 100 AND 200 AND Annual_Revenue IS NULL",
     ("Leads",)),
    ("SELECT id, Created_Time FROM {z}Leads WHERE Created_Time >= TIMESTAMPTZ '2025-01-01 00:00:00+00'",
     ("Leads",)),
    ("SELECT id FROM {z}Leads WHERE Company LIKE '100\\%%' ESCAPE '\\' OR Email ILIKE 'JOHN%'", ("Leads",)),
    ("SELECT count(*) AS n, count(Annual_Revenue) AS r FROM {z}Leads WHERE NOT Converted__s", ("Leads",)),
    ("SELECT a.Account_Name, count(*) AS contacts FROM {z}Accounts a JOIN {z}Contacts c ON c.Account_Name_Id = a.id "
     "WHERE a.Industry = 'ManagementISV' GROUP BY 1", ("Accounts", "Contacts")),
    ("SELECT Owner_Name, count(*) AS n FROM {z}Leads WHERE Owner_Name <> 'Jane Admin' GROUP BY 1", ("Leads",)),
]


@pytest.fixture(scope="module")
def attached(org_conn: str, org: Emulator) -> Iterator[tuple[duckdb.DuckDBPyConnection, zduck.Attachment]]:
    con = duckdb.connect()
    att = zduck.attach(con, org_conn)
    yield con, att
    att.close()
    con.close()


@pytest.mark.parametrize(("sql", "modules"), QUERIES, ids=range(len(QUERIES)))
def test_results_equal_duckdb_over_the_export(attached: tuple[duckdb.DuckDBPyConnection, zduck.Attachment],
                                              truth: Truth, sql: str, modules: tuple[str, ...]) -> None:
    con, att = attached
    assert att.pushdown  # DuckDB 2.0: the source protocol is there
    got = con.sql(sql.format(z="zoho.")).to_arrow_table()
    want = truth.query(sql.format(z=""), modules=modules)
    assert_same_result(got, want, ordered=False, label=sql)


def test_filters_and_columns_reach_zoho(org: Emulator, attached: tuple[duckdb.DuckDBPyConnection,
                                                                       zduck.Attachment]) -> None:
    con, att = attached
    before = data_calls(org)
    con.sql("SELECT Email FROM zoho.Leads WHERE Lead_Source = 'Partner' AND Lead_Score > 100").fetchall()
    used = calls_since(org, before)
    assert used.get("search_records", 0) + used.get("coql_query", 0) >= 1, used
    assert used.get("list_records", 0) == 0 and used.get("create_read_job", 0) == 0, used
    scan = att.scans["Leads"][-1]
    assert scan.columns == ("id", "Email", "Lead_Source", "Lead_Score")  # the projection, plus the filter columns
    assert "Lead_Source" in (scan.pushdown.criteria or "") or "Lead_Source" in (scan.pushdown.coql_where or "")


@pytest.mark.parametrize(("api", "call", "pushed"), [
    ("COQL", "coql_query", lambda s: "Lead_Score > 400" in (s.pushdown.coql_where or "")),
    ("Bulk", "create_read_job", lambda s: "Lead_Score" in str(s.pushdown.bulk_criteria)),
])
def test_each_api_gets_the_filter(org_conn: str, org: Emulator, truth: Truth, api: str, call: str,
                                  pushed: object) -> None:
    con = duckdb.connect()
    att = zduck.attach(con, org_conn + f";APIType={api}", schema="z", modules=["Leads"])
    try:
        before = data_calls(org)
        got = con.sql("SELECT id FROM z.Leads WHERE Lead_Score > 400").to_arrow_table()
        used = calls_since(org, before)
        assert used.get(call, 0) >= 1 and used.get("list_records", 0) == 0, used
        assert pushed(att.scans["Leads"][-1])  # type: ignore[operator]
        assert_same_result(got, truth.query("SELECT id FROM Leads WHERE Lead_Score > 400", modules=("Leads",)),
                           ordered=False)
    finally:
        att.close()
        con.close()


def test_filters_duckdb_does_not_offer_are_applied_by_duckdb(
        attached: tuple[duckdb.DuckDBPyConnection, zduck.Attachment], truth: Truth) -> None:
    con, att = attached
    sql = "SELECT id FROM {z}Leads WHERE lower(City) = 'zürich' AND Email LIKE '%@%'"
    got = con.sql(sql.format(z="zoho.")).to_arrow_table()
    scan = att.scans["Leads"][-1]
    assert scan.pushdown.criteria is None and scan.pushdown.coql_where is None  # nothing offered, nothing pushed
    assert_same_result(got, truth.query(sql.format(z=""), modules=("Leads",)), ordered=False)


def test_without_pushdown_every_scan_reads_everything(org_conn: str, org: Emulator, truth: Truth) -> None:
    con = duckdb.connect()
    att = zduck.attach(con, org_conn + ";APIType=REST", schema="plain", modules=["Leads"],
                       pushdown=False)
    try:
        assert not att.pushdown
        before = data_calls(org)
        sql = "SELECT id, Email FROM {z}Leads WHERE Lead_Source = 'Partner'"
        got = con.sql(sql.format(z="plain.")).to_arrow_table()
        used = calls_since(org, before)
        assert used.get("search_records", 0) == 0 and used.get("list_records", 0) >= 2, used
        assert len(att.scans["Leads"][-1].columns) > 50  # every column
        assert_same_result(got, truth.query(sql.format(z=""), modules=("Leads",)), ordered=False)
    finally:
        att.close()
        con.close()


def test_attach_names_and_lazy_module(org_conn: str, org: Emulator, tmp_path: Path) -> None:
    assert connector.duckdb is zduck
    con = duckdb.connect()
    with pytest.raises(ConfigError, match="plain SQL name"):
        zduck.attach(con, org_conn, schema="no good")
    con.execute(f"ATTACH '{tmp_path / 'mine.duckdb'}' AS zoho")
    with pytest.raises(ConfigError, match="already attached"):
        zduck.attach(con, org_conn)
    att = zduck.attach(con, org_conn, schema="crm", modules=["deals"])
    try:
        assert att.modules == ["Deals"]
        tables = con.sql("SELECT table_catalog, table_name FROM information_schema.tables "
                         "WHERE table_catalog = 'crm'").fetchall()
        assert tables == [("crm", "Deals")]
        again = zduck.attach(con, org_conn, schema="crm", modules=["Deals"])  # replaces the views
        again.close()
    finally:
        att.close()
        con.close()


@pytest.mark.parametrize(("sql", "want_calls"), [
    ("SELECT count(*) AS n FROM {z}Leads", {"coql_query": 1}),  # was a full list scan: 18 credits against 1
    ("SELECT count(*) AS n FROM {z}Leads WHERE Lead_Score > 100 AND Annual_Revenue IS NOT NULL", {"coql_query": 1}),
    ("SELECT count(1) AS n FROM {z}Deals WHERE Amount BETWEEN 1000 AND 50000", {"coql_query": 1}),
    ("SELECT 1 AS one FROM {z}Deals WHERE Probability >= 50", {"coql_query": 1}),  # rows, no column
])
def test_row_counts_are_one_coql_call(org: Emulator, attached: tuple[duckdb.DuckDBPyConnection, zduck.Attachment],
                                      truth: Truth, sql: str, want_calls: dict[str, int]) -> None:
    con, att = attached
    modules = ("Leads",) if "Leads" in sql else ("Deals",)
    before = data_calls(org)
    got = con.sql(sql.format(z="zoho.")).to_arrow_table()
    assert calls_since(org, before) == want_calls
    assert_same_result(got, truth.query(sql.format(z=""), modules=modules), ordered=False, label=sql)
    assert att.scans[modules[0]][-1].count_via_coql
    assert "__zoho_rows" not in con.sql(f"SELECT * FROM zoho.{modules[0]} LIMIT 0").columns


def test_a_count_coql_cannot_answer_exactly_counts_what_a_read_returns(
        org: Emulator, attached: tuple[duckdb.DuckDBPyConnection, zduck.Attachment], truth: Truth) -> None:
    con, _ = attached
    sql = "SELECT count(*) AS n FROM {z}Leads WHERE City = 'Zürich'"  # text: Zoho compares without case
    got = con.sql(sql.format(z="zoho.")).to_arrow_table()
    assert_same_result(got, truth.query(sql.format(z=""), modules=("Leads",)), ordered=False)
