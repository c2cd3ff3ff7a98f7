"""One SQL text read once: kind, parameters and tree from one pass of DuckDB's tokenizer (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp

from connector.errors import NotSupportedError, PlanningError, ProgrammingError
from connector.planning.statement import derived, read_statement


@pytest.mark.parametrize(("text", "params", "kind", "sql", "placeholders"), [
    ("SELECT * FROM Leads WHERE City = ? AND Lead_Score > ?", ["Oslo", 3], "query",
     "SELECT * FROM Leads WHERE City = $1 AND Lead_Score > $2", ["1", "2"]),
    ("FROM Leads SELECT ?, Email WHERE City = ?", [1, 2], "query", "FROM Leads SELECT $1, Email WHERE City = $2",
     ["1", "2"]),  # text order, whatever order the tree keeps
    ("SELECT :a, ':b', x::INT, l[a:b] FROM t", {":a": 1}, "query", "SELECT $a, ':b', x::INT, l[a:b] FROM t", ["a"]),
    ("SELECT ?", None, "query", "SELECT ?", ["1"]),  # no values: the text goes to DuckDB as written
    ("explain SELECT * FROM Leads WHERE Email = ?", ["x"], "explain", "SELECT * FROM Leads WHERE Email = $1",
     ["1"]),
    ("WITH x AS (SELECT 1) DELETE FROM Leads WHERE id IN (SELECT * FROM x)", None, "delete",
     "WITH x AS (SELECT 1) DELETE FROM Leads WHERE id IN (SELECT * FROM x)", []),
    ("UPDATE Leads SET City = ? WHERE id = ?", ("x", "1"), "update", "UPDATE Leads SET City = $1 WHERE id = $2",
     ["1", "2"]),
])
def test_one_read_gives_kind_text_and_tree(text: str, params: Any, kind: str, sql: str,
                                           placeholders: list[str]) -> None:
    s = read_statement(text, params)
    assert (s.kind, s.sql) == (kind, sql)
    assert s.tree is not None
    assert [str(p.this) for p in s.tree.find_all(exp.Placeholder)] == placeholders
    assert s.params == (list(params) if isinstance(params, tuple) else
                        {k.lstrip(":"): v for k, v in params.items()} if isinstance(params, dict) else params)


@pytest.mark.parametrize(("text", "kind", "target"), [
    ("SHOW TABLES", "show", None), ("show all tables;", "show", None), ("DESC zoho.Deals;", "describe", "Deals"),
    ('DESCRIBE "Leads"', "describe", "Leads"),
])
def test_catalog_statements_need_no_tree(text: str, kind: str, target: str | None) -> None:
    s = read_statement(text)
    assert (s.kind, s.target, s.tree) == (kind, target, None)


@pytest.mark.parametrize(("text", "error", "words"), [
    ("", PlanningError, "empty"), (" ; ", PlanningError, "empty"),
    ("PRAGMA version", NotSupportedError, "PRAGMA"), ("CREATE TABLE t (x INT)", NotSupportedError, "CREATE"),
    ("EXPLAIN ANALYZE SELECT 1", NotSupportedError, "EXPLAIN ANALYZE"),
    ("EXPLAIN INSERT INTO Leads (City) VALUES ('x')", PlanningError, "EXPLAIN takes a query"),
    ("SHOW DATABASES", ProgrammingError, "only SHOW TABLES"),
    ("DESCRIBE SELECT 1", NotSupportedError, "one module name"),
    ("SELEC 1", PlanningError, "line 1, column 1 near 'SELEC 1'"),
    ("SELECT 'open", PlanningError, "never closed"),
    ("SELECT * FROM read_csv('x.csv')", NotSupportedError, "read_csv"),
    ("SELECT 1; SELECT 2", PlanningError, "one SQL statement"),
])
def test_refusals_in_words(text: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        read_statement(text)


def test_lenient_reading_keeps_other_statements_and_the_text_as_given() -> None:
    other = read_statement("CREATE TABLE t AS SELECT Email FROM Leads", strict=False)
    assert other.kind == "other" and isinstance(other.tree, exp.Create)
    given = read_statement("SELECT * FROM t WHERE a = ?", ["x"], strict=False, as_given=True)
    assert given.sql == "SELECT * FROM t WHERE a = ?" and not given.numbered and given.qmarks == 1


def test_values_for_another_call_and_derived_queries_read_nothing_again() -> None:
    s = read_statement("INSERT INTO Leads (City) VALUES (?)", [1])
    again = s.with_params(("x",))
    assert again.tree is s.tree and again.params == ["x"]
    with pytest.raises(ProgrammingError, match="tuple"):
        s.with_params("abc")
    rows = derived(exp.select("a").from_("t").where("a = $1"), [5])
    assert (rows.kind, rows.sql, rows.params) == ("query", "SELECT a FROM t WHERE a = $1", [5])
