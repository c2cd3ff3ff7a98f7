"""Pure pieces of the front doors: statement kinds, parameter styles, DB-API type codes (no HTTP)."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.engine import dbapi
from connector.engine.statements import describe_target, named_to_dollar, prepare_params, statement_kind
from connector.errors import NotSupportedError, ProgrammingError


@pytest.mark.parametrize(("sql", "kind"), [
    ("SELECT 1", "query"),
    ("  -- a comment\n  select 1", "query"),
    ("/* block */ WITH x AS (SELECT 1) SELECT * FROM x", "query"),
    ("(SELECT 1) UNION ALL (SELECT 2)", "query"),
    ("FROM Leads SELECT id", "query"),
    ("explain SELECT 1", "explain"),
    ("SHOW TABLES", "show"),
    ("desc Leads", "describe"),
    ("DESCRIBE Leads", "describe"),
    ("insert into Leads (Last_Name) values ('x')", "insert"),
    ("UPDATE Leads SET City = 'x' WHERE true", "update"),
    ("DELETE FROM Leads WHERE true", "delete"),
])
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind


@pytest.mark.parametrize("sql", ["CREATE TABLE t (x INT)", "DROP TABLE Leads", "PRAGMA version", "COPY x",
                                 "EXPLAIN ANALYZE SELECT 1"])
def test_other_statements_are_not_supported(sql: str) -> None:
    with pytest.raises(NotSupportedError):
        statement_kind(sql)


@pytest.mark.parametrize(("sql", "want"), [
    ("SELECT :a", "SELECT $a"),
    ("SELECT * FROM t WHERE a = :a AND b=:b_2", "SELECT * FROM t WHERE a = $a AND b=$b_2"),
    ("SELECT :a, :a", "SELECT $a, $a"),
    ("SELECT ':a'", "SELECT ':a'"),
    ("SELECT x::INTEGER, y :: DATE", "SELECT x::INTEGER, y :: DATE"),
    ("SELECT l[1:2], l[a:b]", "SELECT l[1:2], l[a:b]"),
    ("SELECT 1 -- :not_a_parameter\n, :p", "SELECT 1 -- :not_a_parameter\n, $p"),
    ("SELECT (:a)", "SELECT ($a)"),
    ("SELECT 'it''s :x' || :y", "SELECT 'it''s :x' || $y"),
])
def test_named_parameters_become_dollar_names(sql: str, want: str) -> None:
    assert named_to_dollar(sql) == want


@pytest.mark.parametrize(("sql", "params", "want_sql", "want_params"), [
    ("SELECT ?, '?', ?", (1, 2), "SELECT $1, '?', $2", [1, 2]),
    ("SELECT :a", {":a": 1}, "SELECT $a", {"a": 1}),
    ("SELECT $x", {"x": 1}, "SELECT $x", {"x": 1}),
    ("SELECT 1", None, "SELECT 1", None),
])
def test_prepare_params(sql: str, params: Any, want_sql: str, want_params: Any) -> None:
    assert prepare_params(sql, params) == (want_sql, want_params)


def test_a_string_is_not_a_parameter_sequence() -> None:
    with pytest.raises(ProgrammingError, match="tuple"):
        prepare_params("SELECT ?", "abc")


@pytest.mark.parametrize(("sql", "name"), [("DESCRIBE Leads", "Leads"), ('DESCRIBE "Leads"', "Leads"),
                                           ("desc zoho.Deals;", "Deals")])
def test_describe_target(sql: str, name: str) -> None:
    assert describe_target(sql) == name


def test_describe_takes_a_module_only() -> None:
    with pytest.raises(NotSupportedError, match="DESCRIBE Leads"):
        describe_target("DESCRIBE SELECT 1")


literals = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
names = st.from_regex(r"p_[a-z0-9_]{0,8}", fullmatch=True)
values = st.one_of(st.integers(-10**12, 10**12), st.text(max_size=8).filter(lambda s: "\x00" not in s),
                   st.booleans(), st.none())


@given(name=names, literal=literals, value=values)
def test_named_binding_keeps_literals_and_binds_values(name: str, literal: str, value: Any) -> None:
    quoted = "'" + literal.replace("'", "''") + "'"
    sql, params = prepare_params(f"SELECT :{name} AS p, {quoted} AS s, ':{name}' AS t", {name: value})
    row = duckdb.connect().execute(sql, params).fetchone()
    assert row == (value, literal, f":{name}")


@given(items=st.lists(st.tuples(values, literals), min_size=1, max_size=5))
def test_qmark_binding_is_in_text_order(items: list[tuple[Any, str]]) -> None:
    parts = []
    for _, lit in items:
        parts.append("?")
        parts.append("'" + lit.replace("'", "''") + "'")
    sql, params = prepare_params("SELECT " + ", ".join(parts), [v for v, _ in items])
    row = duckdb.connect().execute(sql, params).fetchone()
    assert list(row) == [x for v, lit in items for x in (v, lit)]


@pytest.mark.parametrize(("arrow", "column", "kinds"), [
    (pa.string(), "Email", {"STRING"}),
    (pa.string(), "id", {"STRING", "ROWID"}),
    (pa.int64(), "n", {"NUMBER"}),
    (pa.float64(), "x", {"NUMBER"}),
    (pa.decimal128(18, 2), "Amount", {"NUMBER"}),
    (pa.bool_(), "flag", {"NUMBER"}),
    (pa.timestamp("us", tz="UTC"), "t", {"DATETIME"}),
    (pa.date32(), "d", {"DATETIME"}),
    (pa.binary(), "b", {"BINARY"}),
    (pa.list_(pa.string()), "Interests", {"STRING"}),
])
def test_type_codes_compare_with_type_objects(arrow: pa.DataType, column: str, kinds: set[str]) -> None:
    code = dbapi.type_code(arrow, column)
    objects = {"STRING": dbapi.STRING, "NUMBER": dbapi.NUMBER, "DATETIME": dbapi.DATETIME,
               "BINARY": dbapi.BINARY, "ROWID": dbapi.ROWID}
    assert {name for name, obj in objects.items() if code == obj and obj == code} == kinds
    assert code == str(arrow) and hash(code) == hash(str(arrow))
