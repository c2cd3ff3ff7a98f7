"""PEP 249 conformance of ``connector.connect``: module attributes, description, fetch variants,
parameters, errors, plus EXPLAIN, SHOW TABLES, DESCRIBE and COUNT(*) through COQL."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import connector
from connector.emulator import Emulator
from connector.engine import dbapi
from connector.errors import ApiError, ConnectorError, PermissionDenied, PlanningError, QuotaExhaustedError

from .conftest import Sessions, Truth, assert_same_result, calls_since, data_calls

COLUMNS = "SELECT id, Email, Annual_Revenue, Created_Time, Last_Contacted_On, Lead_Score, Email_Opt_Out, " \
          "Interests FROM Leads"


@pytest.fixture(scope="module")
def conn(org_conn: str, org: Emulator) -> Iterator[dbapi.Connection]:
    with connector.connect(org_conn) as c:
        yield c


def test_module_attributes_and_exceptions() -> None:
    assert (dbapi.apilevel, dbapi.threadsafety, dbapi.paramstyle) == ("2.0", 1, "qmark")
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
                 "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        cls = getattr(dbapi, name)
        assert issubclass(cls, Exception)
        assert getattr(dbapi.Connection, name) is cls
        if name != "Warning":
            assert issubclass(cls, dbapi.Error)
    assert connector.connect is dbapi.connect and connector.read_sql is dbapi.read_sql
    assert dbapi.Timestamp(2024, 1, 2) == datetime(2024, 1, 2)


def test_description_has_seven_tuples_with_type_codes(conn: dbapi.Connection) -> None:
    cur = conn.cursor().execute(COLUMNS + " LIMIT 1")
    desc = {d[0]: d for d in cur.description}
    assert all(len(d) == 7 for d in cur.description)
    assert list(desc) == ["id", "Email", "Annual_Revenue", "Created_Time", "Last_Contacted_On", "Lead_Score",
                          "Email_Opt_Out", "Interests"]
    assert desc["id"][1] == dbapi.STRING and desc["id"][1] == dbapi.ROWID
    assert desc["Email"][1] == dbapi.STRING and desc["Email"][1] != dbapi.NUMBER
    assert desc["Annual_Revenue"][1] == dbapi.NUMBER and desc["Annual_Revenue"][4:6] == (18, 2)
    assert desc["Created_Time"][1] == dbapi.DATETIME and desc["Last_Contacted_On"][1] == dbapi.DATETIME
    assert desc["Lead_Score"][1] == dbapi.NUMBER and desc["Email_Opt_Out"][1] == dbapi.NUMBER
    assert desc["Interests"][1] == dbapi.STRING
    assert desc["Created_Time"][1] == "timestamp[us, tz=UTC]"  # the Arrow type's name (DuckDB's result)
    assert cur.rowcount == -1


def test_fetch_variants_continue_where_the_last_stopped(conn: dbapi.Connection, truth: Truth) -> None:
    sql = "SELECT id, Email FROM Leads WHERE Lead_Source = 'Partner' ORDER BY id"
    want = [tuple(r.values()) for r in truth.query(sql, modules=("Leads",)).to_pylist()]
    cur = conn.cursor()
    cur.arraysize = 3
    cur.execute(sql)
    got = [cur.fetchone()]
    got += cur.fetchmany()
    got += cur.fetchmany(2)
    table = cur.fetch_arrow_table()
    got += [tuple(r.values()) for r in table.to_pylist()]
    assert got == want and len(cur.fetchmany(5)) == 0 and cur.fetchone() is None and cur.fetchall() == []

    cur.execute(sql)
    assert cur.fetchall() == want

    cur.execute(sql)
    cur.fetchone()
    reader = cur.fetch_record_batch(4)
    assert isinstance(reader, pa.RecordBatchReader)
    batches = list(reader)
    assert all(b.num_rows <= 4 for b in batches) and sum(b.num_rows for b in batches) == len(want) - 1

    df = cur.execute(sql).fetch_df()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["id", "Email"] and len(df) == len(want)
    assert list(iter(conn.cursor().execute(sql + " LIMIT 2"))) == want[:2]


def test_values_come_back_typed(conn: dbapi.Connection) -> None:
    cur = conn.execute(COLUMNS + " WHERE Annual_Revenue IS NOT NULL AND Interests IS NOT NULL "
                                 "AND Last_Contacted_On IS NOT NULL ORDER BY id LIMIT 1")
    row = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert isinstance(row["id"], str) and len(row["id"]) >= 18
    assert isinstance(row["Annual_Revenue"], decimal.Decimal)
    assert row["Created_Time"].tzinfo is not None and row["Created_Time"].utcoffset().total_seconds() == 0
    assert isinstance(row["Interests"], list)


@pytest.mark.parametrize(("sql", "params"), [
    ("SELECT id, Email FROM Leads WHERE Lead_Source = ? AND Lead_Score > ?", ("Partner", 100)),
    ("SELECT id, Email FROM Leads WHERE Lead_Source = :src AND Lead_Score > :n", {"src": "Partner", "n": 100}),
    ("SELECT id, Email FROM Leads WHERE Lead_Source = $1 AND Lead_Score > $2", ["Partner", 100]),
    ("SELECT id, Email FROM Leads WHERE Lead_Source = $src AND Lead_Score > $n", {"src": "Partner", "n": 100}),
])
def test_parameter_styles_bind_the_same(conn: dbapi.Connection, truth: Truth, sql: str, params: Any) -> None:
    want = truth.query("SELECT id, Email FROM Leads WHERE Lead_Source = 'Partner' AND Lead_Score > 100",
                       modules=("Leads",))
    got = conn.execute(sql, params).fetch_arrow_table()
    assert_same_result(got, want, ordered=False)


def test_parameters_are_bound_not_formatted(conn: dbapi.Connection) -> None:
    hostile = "x' OR '1'='1"
    assert conn.execute("SELECT count(*) FROM Leads WHERE Email = ?", (hostile,)).fetchone() == (0,)
    row = conn.execute("SELECT :a AS a, '?' AS q, ':x' AS c, 1::VARCHAR AS cast_kept", {"a": "ok"}).fetchone()
    assert row == ("ok", "?", ":x", "1")
    assert conn.execute("SELECT ? AS a, '?' AS q", ["v"]).fetchone() == ("v", "?")
    assert conn.execute("SELECT ? AS t", [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)]).fetchone()[0] == \
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(("sql", "params", "error", "text"), [
    ("SELECT * FROM Leadz", None, dbapi.ProgrammingError, "did you mean Leads"),
    ("SELECT * FROM Lead", None, dbapi.ProgrammingError, "did you mean Leads"),  # a label, not a table
    ("SELECT Emial FROM Leads", None, dbapi.ProgrammingError, "Emial"),
    ("SELECT FROM WHERE", None, dbapi.ProgrammingError, "syntax error at line 1, column 17 near 'WHERE'"),
    ("CREATE TABLE t (x INT)", None, dbapi.NotSupportedError, "CREATE"),
    ("SELECT id FROM Leads WHERE Email = ?", None, dbapi.ProgrammingError, "parameter"),
    ("SELECT id FROM Leads WHERE Email = ?", "abc", dbapi.ProgrammingError, "sequence"),
    ("SELECT 'x'::INTEGER", None, dbapi.DataError, "convert"),
    ("SHOW DATABASES", None, dbapi.ProgrammingError, "SHOW TABLES"),
    ("DESCRIBE Leadz", None, ApiError, "Leads"),
])
def test_errors_are_pep249_classes(conn: dbapi.Connection, sql: str, params: Any, error: type, text: str) -> None:
    with pytest.raises(error) as info:
        conn.execute(sql, params).fetchall()
    assert text.lower() in str(info.value).lower()
    assert isinstance(info.value, dbapi.Error)


def test_unknown_column_says_the_nearest(conn: dbapi.Connection) -> None:
    with pytest.raises(PlanningError, match="did you mean Email"):
        conn.execute("SELECT Emial FROM Leads")
    with pytest.raises(PlanningError, match="did you mean Account_Name"):
        conn.execute("SELECT a.Acount_Name FROM Accounts a JOIN Contacts c ON c.Account_Name_Id = a.id")


def test_closed_cursor_and_connection_and_transactions(org_conn: str, org: Emulator) -> None:
    c = dbapi.connect(org_conn)
    cur = c.cursor()
    with pytest.raises(dbapi.ProgrammingError, match="execute"):
        cur.fetchone()
    c.commit()
    with pytest.raises(dbapi.NotSupportedError, match="transactions"):
        c.rollback()
    cur.close()
    with pytest.raises(dbapi.InterfaceError):
        cur.execute("SELECT 1")
    c.close()
    c.close()  # twice is fine
    with pytest.raises(dbapi.InterfaceError):
        c.cursor()
    with pytest.raises(dbapi.InterfaceError):
        dbapi.connect(12345)


def test_a_zoho_error_inside_a_query_surfaces_as_itself(private_org: Any) -> None:
    """An error raised while DuckDB pulls the rows is the connector's own (Zoho's code), not DuckDB's text."""
    emu = private_org(credits=0)
    with dbapi.connect(emu.connection_string + ";APIType=REST") as c, pytest.raises(QuotaExhaustedError):
        c.execute("SELECT id FROM Leads").fetchall()


def test_read_sql_returns_a_dataframe(org_conn: str, org: Emulator, truth: Truth) -> None:
    sql = "SELECT Lead_Source, count(*) AS n FROM Leads GROUP BY 1 ORDER BY n DESC, Lead_Source NULLS FIRST"
    df = connector.read_sql(sql, org_conn)
    want = truth.query(sql, modules=("Leads",)).to_pandas(types_mapper=pd.ArrowDtype)  # the exact default
    pd.testing.assert_frame_equal(df, want)
    with connector.connect(org_conn) as c:
        df2 = connector.read_sql("SELECT count(*) AS n FROM Leads WHERE Lead_Source = ?", c, ["Chat"])
    assert df2["n"][0] == int(want.set_index("Lead_Source").loc["Chat", "n"])


def test_explain_shows_the_plan_and_reads_nothing(org: Emulator, conn: dbapi.Connection) -> None:
    before = data_calls(org)
    cur = conn.execute("EXPLAIN SELECT Email FROM Leads WHERE Lead_Source = 'Partner' AND Email LIKE '%x%'")
    plan = cur.fetch_arrow_table().to_pylist()
    assert calls_since(org, before).get("search_records", 0) == 0
    assert calls_since(org, before).get("list_records", 0) == 0
    (row,) = plan
    assert row["table"] == "Leads" and row["api"] in ("Search", "COQL", "Bulk", "REST")
    assert row["search_criteria"] == "(Lead_Source:equals:Partner)"
    assert row["coql_where"].startswith("Lead_Source = 'Partner'")
    assert "LIKE" in row["residual"] and row["exact"] is False
    assert row["estimated_calls"] >= 1 and row["estimated_credits"] >= 1
    assert set(row["columns"]) == {"id", "Email", "Lead_Source"}
    text = conn.engine.run("EXPLAIN SELECT count(*) FROM Leads").explain_text
    assert text is not None and "COUNT(*) answered by one COQL aggregate" in text and "select COUNT(id)" in text


def test_count_star_is_one_coql_call(org: Emulator, conn: dbapi.Connection, truth: Truth) -> None:
    sql = "SELECT count(*) FROM Leads WHERE Lead_Score > 100"  # numbers: COQL's filter is exact
    before = data_calls(org)
    (n,) = conn.execute(sql).fetchone()
    used = calls_since(org, before)
    used.pop("count_records", None)  # the planner's size estimate (cached per engine)
    assert used == {"coql_query": 1}, used
    assert n == truth.query(sql, modules=("Leads",))[0][0].as_py()


@pytest.mark.parametrize("use_sources", [True, False])
def test_a_relation_scanned_twice_is_read_once(org: Emulator, sessions: Sessions, use_sources: bool) -> None:
    engine = sessions.engine(";APIType=COQL", use_sources=use_sources)
    sql = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r, "
           "(SELECT count(*) AS n FROM Leads WHERE Lead_Source = 'Chat') c WHERE i < 4 AND c.n > 0) "
           "SELECT count(*) FROM r")
    before = data_calls(org)
    assert engine.execute(sql).read_all().to_pylist() == [{"count_star()": 4}]
    used = calls_since(org, before)
    used.pop("count_records", None)
    assert used == {"coql_query": 1}, used


def test_show_tables_and_describe(conn: dbapi.Connection) -> None:
    tables = {r[0]: r for r in conn.execute("SHOW TABLES").fetchall()}
    assert {"Leads", "Contacts", "Accounts", "Deals", "Tasks", "Projects"} <= set(tables)
    assert tables["Leads"][1:] == ("Lead", "Leads", "default")
    assert tables["Projects"][3] == "custom"
    cols = {r[0]: r for r in conn.execute("DESCRIBE Leads").fetchall()}
    assert [d[0] for d in conn.cursor().execute("DESCRIBE Leads").description] == \
        ["column", "arrow_type", "zoho_field", "data_type", "notes"]
    assert cols["Owner_Id"][1:4] == ("string", "Owner", "ownerlookup") and "lookup id -> Users" in cols["Owner_Id"][4]
    assert "lookup name" in cols["Owner_Name"][4]
    assert cols["Annual_Revenue"][1:4] == ("decimal128(18, 2)", "Annual_Revenue", "currency")
    assert cols["Created_Time"][1] == "timestamp[s, tz=UTC]"
    assert "list of picklist values" in cols["Interests"][4]
    assert "formula" in cols["Days_Open"][4] and "read-only" in cols["Days_Open"][4]
    assert "mandatory" in cols["Last_Name"][4]
    assert conn.execute("DESCRIBE zoho.leads").fetchone()[0] == "id"  # any case, schema-qualified


def test_writes_are_refused_on_a_read_only_connection(org: Emulator, conn: dbapi.Connection) -> None:
    before = data_calls(org)
    with pytest.raises(PermissionDenied, match="AllowedOperations"):
        conn.execute("DELETE FROM Leads WHERE Email = 'nobody@example.com'")
    assert calls_since(org, before) == {}  # refused before any read
    assert isinstance(PermissionDenied("x"), ConnectorError)
