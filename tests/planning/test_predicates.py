"""The filter AST builder: negation normal form, literal typing, NULL handling (table-driven)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from connector.planning.predicates import And, Node, Opaque, Or, Pred, build

from .conftest import TABLES

LEADS = TABLES["Leads"]
REF = "5843104000000000001"


def bind(c: exp.Column):  # noqa: ANN201 - Column | None
    if c.table and c.table.lower() != "leads":
        return None
    return LEADS.column(c.name)


def node(where: str) -> Node:
    tree = sqlglot.parse_one(f"SELECT * FROM Leads WHERE {where}", read="duckdb")
    return build(tree.find(exp.Where).this, bind)  # type: ignore[union-attr]


def leaf(where: str) -> tuple[str, str, Any]:
    n = node(where)
    assert isinstance(n, Pred), n
    return n.column.name, n.op, n.value


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("where", "expected"), [
    ("No_of_Employees = 5", ("No_of_Employees", "eq", 5)),
    ("5 > No_of_Employees", ("No_of_Employees", "lt", 5)),
    ("No_of_Employees = '7'", ("No_of_Employees", "eq", 7)),
    ("No_of_Employees = -3", ("No_of_Employees", "eq", -3)),
    ("No_of_Employees > 5.5", ("No_of_Employees", "ge", 6)),
    ("No_of_Employees >= 5.5", ("No_of_Employees", "ge", 6)),
    ("No_of_Employees < 5.5", ("No_of_Employees", "le", 5)),
    ("No_of_Employees <> 5.5", ("No_of_Employees", "not_null", None)),
    ("No_of_Employees = 1e2", ("No_of_Employees", "eq", 100)),
    ("No_of_Employees IN (5.5, 6, 6)", ("No_of_Employees", "eq", 6)),
    ("No_of_Employees NOT IN (5.5)", ("No_of_Employees", "not_null", None)),
    ("No_of_Employees BETWEEN 1.5 AND 3.5", ("No_of_Employees", "between", (2, 3))),
    ("NOT No_of_Employees BETWEEN 1 AND 3", ("No_of_Employees", "not_between", (1, 3))),
    ("Annual_Revenue > 10.555", ("Annual_Revenue", "ge", Decimal("10.56"))),
    ("Annual_Revenue = '10.5'", ("Annual_Revenue", "eq", Decimal("10.5"))),
    ("Churn_Risk < 0.1", ("Churn_Risk", "lt", Decimal("0.1"))),
    ("Created_Time > '2024-01-01T10:00:00+05:30'", ("Created_Time", "gt", t(2024, 1, 1, 4, 30))),
    ("Created_Time = TIMESTAMP '2024-01-01 10:00:00+05:30'", ("Created_Time", "eq", t(2024, 1, 1, 10))),
    ("Created_Time = TIMESTAMPTZ '2024-01-01 10:00:00+05:30'", ("Created_Time", "eq", t(2024, 1, 1, 4, 30))),
    ("Created_Time >= DATE '2024-01-01'", ("Created_Time", "ge", t(2024, 1, 1))),
    ("Created_Time > '2024-01-01 10:00:00.5'", ("Created_Time", "ge", t(2024, 1, 1, 10, 0, 1))),
    ("Created_Time < '2024-01-01T10:00:00Z'", ("Created_Time", "lt", t(2024, 1, 1, 10))),
    ("Trial_Start = '2024-01-01'", ("Trial_Start", "eq", date(2024, 1, 1))),
    ("Trial_Start = CAST('2024-01-01' AS DATE)", ("Trial_Start", "eq", date(2024, 1, 1))),
    ("GDPR_Consent", ("GDPR_Consent", "eq", True)),
    ("NOT GDPR_Consent", ("GDPR_Consent", "eq", False)),
    ("GDPR_Consent = 1", ("GDPR_Consent", "eq", True)),
    ("GDPR_Consent = 'false'", ("GDPR_Consent", "eq", False)),
    ("GDPR_Consent <> FALSE", ("GDPR_Consent", "eq", True)),
    ("GDPR_Consent IS TRUE", ("GDPR_Consent", "eq", True)),
    (f"id = {REF}", ("id", "eq", REF)),
    ("id <> 'abc'", ("id", "not_null", None)),
    (f"Referrer_Id IN ('{REF}', 'x')", ("Referrer_Id", "eq", REF)),
    ("Last_Name IN ('a', NULL, 'b')", ("Last_Name", "in", ("a", "b"))),
    ("Last_Name NOT IN ('a', 'b')", ("Last_Name", "not_in", ("a", "b"))),
    ("leads.Last_Name = 'x'", ("Last_Name", "eq", "x")),
    ("Last_Name IS NULL", ("Last_Name", "is_null", None)),
    ("NOT (Last_Name IS NULL)", ("Last_Name", "not_null", None)),
    ("Last_Name LIKE 'a%'", ("Last_Name", "like", "a%")),
    ("Last_Name NOT LIKE 'a%'", ("Last_Name", "not_like", "a%")),
    ("NOT (Last_Name NOT ILIKE 'a%')", ("Last_Name", "ilike", "a%")),
    ("NOT NOT (No_of_Employees = 1)", ("No_of_Employees", "eq", 1)),
    ("((No_of_Employees < 1))", ("No_of_Employees", "lt", 1)),
])
def test_leaves(where: str, expected: tuple[str, str, Any]) -> None:
    assert leaf(where) == expected


@pytest.mark.parametrize("where", [
    "No_of_Employees = NULL", "NULL <> No_of_Employees", "No_of_Employees IN (NULL)",
    "No_of_Employees NOT IN (1, NULL)", "No_of_Employees BETWEEN NULL AND 3", "No_of_Employees = 5.5",
    "No_of_Employees = 'abc'", "No_of_Employees = 99999999999999999999", "Annual_Revenue = '10.555'",
    "Annual_Revenue = 10.555", "Trial_Start = TIMESTAMP '2024-01-01 00:00:00'", "Trial_Start = 'soon'",
    "Created_Time = '2024-01-01 10:00:00.5'", "Created_Time = 'yesterday'", "id = 'abc'", "id > 'abc'",
    "GDPR_Consent = 2", "NOT (GDPR_Consent IS TRUE)", "No_of_Employees = Lead_Score", "lower(Last_Name) = 'x'",
    "other.Last_Name = 'x'", "Nope = 1", "Interests = ['a']", "Last_Name = 5", "No_of_Employees = ?",
    "Last_Name LIKE Email", "No_of_Employees LIKE '1%'", "No_of_Employees IN (SELECT 1)",
    "No_of_Employees IS DISTINCT FROM 1", "TRUE", "No_of_Employees + 1 > 2",
])
def test_opaque(where: str) -> None:
    assert isinstance(node(where), Opaque), node(where)


def test_de_morgan_and_flattening() -> None:
    n = node("NOT (No_of_Employees = 1 AND (Lead_Score > 2 OR Last_Name IS NULL))")
    assert isinstance(n, Or) and len(n.items) == 2
    first, second = n.items
    assert first == Pred(LEADS.by_name["No_of_Employees"], "ne", 1)
    assert isinstance(second, And)
    assert [p.op for p in second.items] == ["le", "not_null"]  # type: ignore[union-attr]
    flat = node("(No_of_Employees = 1 AND Lead_Score = 2) AND (Last_Name = 'a' AND Email = 'b')")
    assert isinstance(flat, And) and len(flat.items) == 4


def test_like_keeps_its_escape_character() -> None:
    n = node("Last_Name LIKE 'a!_%' ESCAPE '!'")
    assert n == Pred(LEADS.by_name["Last_Name"], "like", "a!_%", "!")
    assert isinstance(node("Last_Name LIKE 'a' ESCAPE '!!'"), Opaque)  # an escape must be one character


def test_opaque_keeps_the_sql_and_why() -> None:
    n = node("No_of_Employees = NULL")
    assert isinstance(n, Opaque) and n.sql == "No_of_Employees = NULL" and "NULL" in n.reason


@pytest.mark.parametrize(("where", "expected"), [
    # the constants DuckDB hands a scan source (connector.duckdb.attach) are casts of numbers
    ("Annual_Revenue >= CAST('1000.00' AS DECIMAL(18, 2))", ("Annual_Revenue", "ge", Decimal("1000.00"))),
    ("Churn_Risk >= 50.0::DOUBLE", ("Churn_Risk", "ge", Decimal("50.0"))),
    ("No_of_Employees = 5::BIGINT", ("No_of_Employees", "eq", 5)),
    ("No_of_Employees > CAST('7' AS INTEGER)", ("No_of_Employees", "gt", 7)),
])
def test_numeric_casts_are_constants(where: str, expected: tuple[str, str, Any]) -> None:
    assert leaf(where) == expected


@pytest.mark.parametrize(("where", "never"), [
    ("id = 'abc'", True), ("No_of_Employees = 5.5", True), ("No_of_Employees = NULL", True),
    ("No_of_Employees IN (NULL, 5.5)", True), ("No_of_Employees NOT IN (1, NULL)", True),
    ("No_of_Employees BETWEEN NULL AND 3", True),
    ("NOT (No_of_Employees BETWEEN NULL AND 3)", False),  # true where No_of_Employees > 3
    ("id > 'abc'", False),  # an ordering of text: DuckDB's to answer
    ("No_of_Employees = CAST('1.5' AS INTEGER)", False),  # the cast rounds: DuckDB's to answer
    ("Annual_Revenue = CAST(1.5 AS FLOAT)", False), ("lower(Last_Name) = 'x'", False),
])
def test_what_no_row_satisfies(where: str, never: bool) -> None:
    n = node(where)
    assert isinstance(n, Opaque) and n.never is never, n
