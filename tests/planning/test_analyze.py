"""Statement analysis: which tables, which columns, which conjuncts may be pushed where."""

from __future__ import annotations

import pytest

from connector.errors import PlanningError
from connector.planning.analyze import TableRef, analyze
from connector.planning.params import number_placeholders
from connector.planning.predicates import Opaque

from .conftest import TABLES, resolve


def refs(sql: str, params: object = None) -> list[TableRef]:
    return analyze(sql, params, resolve).refs  # type: ignore[arg-type]


def one(sql: str, params: object = None) -> TableRef:
    got = refs(sql, params)
    assert len(got) == 1, got
    return got[0]


def pushed(ref: TableRef) -> list[str]:
    return [ref.conjunct_sql(i) for i in range(len(ref.conjuncts)) if any(u.conjunct == i and not isinstance(u.node, Opaque)
                                                          for u in ref.units)]


@pytest.mark.parametrize(("sql", "columns"), [
    ("SELECT Email FROM Leads", {"id", "Email"}),
    ("SELECT COUNT(*) FROM Leads", {"id"}),
    ("SELECT l.Email, upper(Last_Name) FROM Leads l WHERE City = 'x' GROUP BY ALL ORDER BY Lead_Score",
     {"id", "Email", "Last_Name", "City", "Lead_Score"}),
    ("SELECT zoho.Leads.Email FROM zoho.Leads", {"id", "Email"}),
    ("SELECT email FROM leads", {"id", "Email"}),
    ("SELECT Email AS e FROM Leads ORDER BY e", {"id", "Email"}),
    ("SELECT x FROM (SELECT Email AS x FROM Leads) s", {"id", "Email"}),
])
def test_projection(sql: str, columns: set[str]) -> None:
    ref = one(sql)
    assert set(ref.column_list()) == columns and not ref.all_columns


@pytest.mark.parametrize("sql", [
    "SELECT * FROM Leads", "SELECT l.* FROM Leads l", "FROM Leads", "SELECT Leads FROM Leads",
    "SELECT * EXCLUDE (Email) FROM Leads", "SELECT COLUMNS('Last.*') FROM Leads",
    "SELECT count(*) FROM (SELECT * FROM Leads) s",
])
def test_all_columns(sql: str) -> None:
    ref = one(sql)
    assert ref.all_columns and ref.column_list() == tuple(c.name for c in TABLES["Leads"].columns)


def test_join_columns_go_to_their_table() -> None:
    c, a = refs("SELECT c.Email, Account_Name, Industry FROM Contacts c JOIN Accounts a ON c.Account_Name_Id = a.id")
    assert set(c.column_list()) == {"id", "Email", "Account_Name_Id"}
    assert set(a.column_list()) == {"id", "Account_Name", "Industry"}


def test_using_columns_are_fetched_on_both_sides() -> None:
    c, l_ = refs("SELECT count(*) FROM Contacts c JOIN Leads l USING (Email)")
    assert "Email" in c.column_list() and "Email" in l_.column_list()


def test_unknown_qualified_column_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(PlanningError, match="Leads has no column 'Emial'") as err:
        refs("SELECT l.Emial FROM Leads l")
    assert "did you mean Email" in str(err.value)


def test_parse_errors_and_many_statements() -> None:
    with pytest.raises(PlanningError, match="syntax error at line 1, column 17"):
        refs("SELECT FROM WHERE (")
    with pytest.raises(PlanningError, match="one SQL statement"):
        refs("SELECT 1; SELECT 2")


def test_cte_names_and_other_schemas_are_not_zoho() -> None:
    assert refs("WITH Leads AS (SELECT 1 AS x) SELECT * FROM Leads") == []
    assert refs("SELECT * FROM main.Leads") == []
    assert refs("SELECT * FROM local_table") == []
    inner = one("WITH x AS (SELECT * FROM Leads WHERE City = 'Oslo') SELECT * FROM x WHERE x.Email = 'a'")
    assert pushed(inner) == ["City = 'Oslo'"]


def test_where_conjuncts_only_reference_one_table() -> None:
    c, a = refs("SELECT * FROM Contacts c JOIN Accounts a ON c.Account_Name_Id = a.id "
                "WHERE c.Email = 'x' AND a.Industry = 'y' AND c.Last_Name = a.Account_Name AND (c.Title = 'z' OR "
                "a.Rating = 'r') AND Loyalty_Points > 3")
    assert pushed(c) == ["c.Email = 'x'", "Loyalty_Points > 3"]
    assert pushed(a) == ["a.Industry = 'y'"]


def test_outer_joins_protect_the_null_supplying_side() -> None:
    c, a = refs("SELECT * FROM Contacts c LEFT JOIN Accounts a ON c.Account_Name_Id = a.id AND a.Rating = 'r' "
                "AND c.Title = 't' WHERE a.Industry IS NULL AND c.Email = 'x'")
    assert pushed(c) == ["c.Email = 'x'"]  # the ON term on the preserved side must not filter it
    assert pushed(a) == ["a.Rating = 'r'"]  # its own ON term yes, the WHERE term no
    c, a = refs("SELECT * FROM Contacts c RIGHT JOIN Accounts a ON c.Account_Name_Id = a.id WHERE c.Email = 'x' "
                "AND a.Industry = 'y'")
    assert pushed(c) == [] and pushed(a) == ["a.Industry = 'y'"]
    c, a = refs("SELECT * FROM Contacts c FULL JOIN Accounts a ON c.Account_Name_Id = a.id AND a.Rating = 'r' "
                "WHERE c.Email = 'x' AND a.Industry = 'y'")
    assert pushed(c) == [] and pushed(a) == []


def test_inner_join_on_terms_push_to_either_side() -> None:
    c, a = refs("SELECT * FROM Contacts c JOIN Accounts a ON c.Account_Name_Id = a.id AND c.Title = 't' "
                "AND a.Rating = 'r'")
    assert pushed(c) == ["c.Title = 't'"] and pushed(a) == ["a.Rating = 'r'"]


@pytest.mark.parametrize("sql", [
    "SELECT * FROM Contacts c ASOF JOIN Accounts a ON c.Created_Time >= a.Created_Time WHERE a.Rating = 'r'",
    "SELECT * FROM Contacts c POSITIONAL JOIN Accounts a WHERE a.Rating = 'r'",
    "SELECT * FROM Contacts c SEMI JOIN Accounts a ON c.Account_Name_Id = a.id WHERE c.Title = 't'",
    "SELECT * FROM Contacts c NATURAL JOIN Accounts a WHERE c.Title = 't'",
    "SELECT * FROM Contacts c USING SAMPLE 10 WHERE c.Title = 't'",
])
def test_joins_that_forbid_pushdown(sql: str) -> None:
    assert all(not r.filters_allowed for r in refs(sql))


def test_subqueries_filter_their_own_tables() -> None:
    leads, deals = refs("SELECT * FROM Leads l WHERE Email = 'e' AND id IN (SELECT Contact_Name_Id FROM Deals "
                        "WHERE Amount > 100 AND Stage = l.Lead_Status)")
    assert pushed(leads) == ["Email = 'e'"]
    assert pushed(deals) == ["Amount > 100"]
    assert "Lead_Status" in leads.column_list()  # the correlated column comes from the outer table


def test_single_table_limit_order_and_count() -> None:
    ref = one("SELECT id FROM Deals WHERE Amount > 5 ORDER BY Created_Time DESC, Amount LIMIT 10 OFFSET 5")
    assert ref.lone and ref.limit == 15
    assert [(c.name, asc) for c, asc in ref.order_by or ()] == [("Created_Time", False), ("Amount", True)]
    assert one("SELECT * FROM Deals LIMIT ?", [7]).limit == 7
    assert one("WITH unused AS (SELECT 1 AS k) SELECT * FROM Deals LIMIT 4").limit == 4
    assert one("SELECT * FROM Deals ORDER BY 1 LIMIT 3").order_by is None
    assert one("SELECT Amount * 2 AS Amount FROM Deals ORDER BY Amount LIMIT 3").order_by is None
    assert one("SELECT * FROM Deals ORDER BY lower(Deal_Name) LIMIT 3").order_by is None
    for sql in ("SELECT DISTINCT Stage FROM Deals LIMIT 3", "SELECT Stage, count(*) FROM Deals GROUP BY 1 LIMIT 3",
                "SELECT sum(Amount) FROM Deals LIMIT 3", "SELECT row_number() OVER () FROM Deals LIMIT 3",
                "SELECT * FROM Deals LIMIT 10%", "SELECT unnest([1, 2]) FROM Deals LIMIT 3",
                "SELECT * FROM Deals d JOIN Accounts a ON d.Account_Name_Id = a.id LIMIT 3",
                "SELECT * FROM Deals UNION ALL SELECT * FROM Deals LIMIT 3",
                "SELECT * FROM (SELECT * FROM Deals LIMIT 3) s"):
        assert all(r.limit is None for r in refs(sql)), sql
    assert one("SELECT COUNT(*) FROM Deals").count_only
    assert one("SELECT count(id) AS n FROM Deals WHERE Amount > 1").count_only
    assert one("SELECT COUNT(1) FROM Deals").count_only
    for sql in ("SELECT COUNT(Amount) FROM Deals", "SELECT COUNT(DISTINCT Stage) FROM Deals",
                "SELECT COUNT(*) FROM Deals GROUP BY Stage", "SELECT COUNT(*), 1 FROM Deals",
                "SELECT COUNT(*) FROM Deals OFFSET 1"):
        assert not one(sql).count_only, sql


def test_placeholders_bind_in_text_order() -> None:
    assert number_placeholders("SELECT '?', ? -- ?\n FROM t WHERE a = ?") == "SELECT '?', $1 -- ?\n FROM t WHERE a = $2"
    ref = one("WITH x AS (SELECT ? AS k) SELECT * FROM Leads, x WHERE Lead_Score = ? AND City = ?", [0, 7, "Oslo"])
    assert pushed(ref) == ["Lead_Score = 7", "City = 'Oslo'"]
    named = one("SELECT * FROM Leads WHERE City = $city AND Lead_Score > $2", {"city": "Rome", "2": 3})
    assert pushed(named) == ["City = 'Rome'", "Lead_Score > 3"]


def test_explain_prefix() -> None:
    a = analyze("explain SELECT * FROM Leads", None, resolve)
    assert a.explain and a.sql == "SELECT * FROM Leads" and len(a.refs) == 1
    assert not analyze("EXPLAIN ANALYZE SELECT 1", None, resolve).explain


def test_statements_that_wrap_a_query() -> None:
    ref = one("CREATE TABLE t AS SELECT Email FROM Leads WHERE City = 'x'")
    assert [ref.conjunct_sql(i) for i in range(len(ref.conjuncts))] == ["City = 'x'"]
    assert one("INSERT INTO t SELECT Email FROM Leads").column_list() == ("id", "Email")
