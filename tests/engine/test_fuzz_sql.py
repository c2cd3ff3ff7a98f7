"""Fuzzing SQL text through the engine and the CLI: no internal error, no traceback, exit status by cause.

Statements are random token soups, random expression trees (nesting included), and mutations of
valid queries (a span cut out, a token put in, a span doubled). Whatever the engine does with them,
it answers or raises a ConnectorError whose message has no parser internals in it; DML is refused
by the read-only connection, never sent. A few of the statements also go through the real
``zohocrm query`` process, whose exit status must be the one its error class maps to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.cli.common import EXIT_INTERNAL, exit_status
from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.errors import ApiError, ConnectorError, InternalError
from connector.session import ZohoSession

from .conftest import with_token_store

INTERNALS = re.compile(r"sqlglot|<class|<Token|TokenType|Required keyword|Traceback|internal error")
IDENTS = ["Leads", "Contacts", "Deals", "Accounts", "id", "Email", "Lead_Source", "Annual_Revenue", "Created_Time",
          "Lead_Score", "Last_Name", "Interests", "Converted__s", "x", "t", '"Leads"', '"Email"', "zoho.Leads", "l"]
LITERALS = ["1", "-1", "0", "1e400", "-1e400", "1e-400", "0.5", "99999999999999999999999", "'Web Download'", "''",
            "'O''Neil'", "'%a%'", "'2024-01-01'", "DATE '2024-01-01'", "TIMESTAMP '2024-01-01 10:00:00'", "NULL",
            "TRUE", "FALSE", "?", ":a", "$1", "[1, 2]", "'\\'", "'☕'"]
KEYWORDS = ["SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ILIKE", "IS", "NULL", "GROUP BY",
            "ORDER BY", "LIMIT", "OFFSET", "JOIN", "LEFT JOIN", "ON", "USING", "UNION", "WITH", "AS", "CASE", "WHEN",
            "THEN", "ELSE", "END", "INSERT INTO", "VALUES", "UPDATE", "SET", "DELETE", "EXPLAIN", "DESCRIBE",
            "SHOW TABLES", "count(*)", "CAST", "::", "DISTINCT", "HAVING", "QUALIFY", "EXISTS", "ASC", "DESC"]
PUNCT = ["(", ")", ",", ";", "*", "=", "<>", "<", ">=", "+", "-", "/", "||", ".", "[", "]", "'", '"', "--", "/*"]
VALID = [
    "SELECT id, Email FROM Leads WHERE Lead_Source = 'Web Download' LIMIT 5",
    "SELECT Lead_Source, count(*) AS n FROM Leads WHERE Annual_Revenue > 1000 GROUP BY 1 ORDER BY 2 DESC",
    "SELECT l.Email, c.Last_Name FROM Leads l JOIN Contacts c ON l.Email = c.Email WHERE l.Lead_Score >= 10",
    "WITH w AS (SELECT id, Created_Time FROM Leads WHERE Created_Time >= TIMESTAMP '2024-01-01') "
    "SELECT count(*) FROM w",
    "SELECT count(*) FROM Deals WHERE Stage IN ('Closed Won', 'Closed Lost') OR Amount BETWEEN 10 AND 20",
    "EXPLAIN SELECT Email FROM Leads WHERE Email LIKE 'a%' AND NOT Converted__s",
    "SELECT * FROM Leads WHERE id = '123' OR Last_Name ILIKE '%son' ORDER BY Created_Time LIMIT 3",
    "INSERT INTO Leads (Last_Name) VALUES ('Fuzz')",
    "UPDATE Leads SET City = 'Nowhere' WHERE Email = 'nobody@example.com'",
    "DESCRIBE Leads",
]

token = st.sampled_from(IDENTS + LITERALS + KEYWORDS + PUNCT)
soup = st.lists(token, min_size=1, max_size=20).map(" ".join)
expr = st.recursive(
    st.sampled_from(IDENTS[4:13] + LITERALS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["=", "<>", "<", ">=", "+", "AND", "OR", "LIKE", "||"]), inner)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"NOT {e}"),
        st.lists(inner, min_size=1, max_size=3).map(lambda es: f"{es[0]} IN ({', '.join(es)})"),
        inner.map(lambda e: f"CASE WHEN {e} THEN 1 ELSE 0 END"),
    ),
    max_leaves=12,
)
queries = st.builds(lambda cols, table, where, tail: f"SELECT {cols} FROM {table} WHERE {where}{tail}",
                    st.sampled_from(["*", "id", "Email, Lead_Score", "count(*)", "id, Annual_Revenue * 2"]),
                    st.sampled_from(["Leads", "Contacts", "Deals", "Leads l", "(SELECT * FROM Leads) s"]), expr,
                    st.sampled_from(["", " LIMIT 3", " ORDER BY 1 LIMIT 2", " GROUP BY ALL"]))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    sql = draw(st.sampled_from(VALID))
    at = draw(st.integers(0, len(sql)))
    how = draw(st.sampled_from(["cut", "insert", "double"]))
    if how == "cut":
        return sql[:at] + sql[at + draw(st.integers(1, 12)):]
    if how == "insert":
        return sql[:at] + " " + draw(token) + " " + sql[at:]
    end = min(len(sql), at + draw(st.integers(1, 15)))
    return sql[:end] + sql[at:end] + sql[end:]


nested = st.builds(lambda n, wrap, e: f"SELECT id FROM Leads WHERE {wrap[0] * n}{e}{wrap[1] * n}",
                   st.integers(0, 400), st.sampled_from([("(", ")"), ("NOT (", ")"), ("(SELECT ", ")")]), expr)
statements = st.one_of(soup, queries, mutated(), nested)
params = st.one_of(st.none(), st.lists(st.sampled_from([1, "Web", None, 1e308, "x'y"]), max_size=2),
                   st.just({"a": 1}))


@pytest.fixture(scope="module")
def fuzz_conn(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shared read-only org, through one token store (every CLI process reuses its token)."""
    return with_token_store(emulator, tmp_path_factory.mktemp("fuzz-tokens")) + ";APIType=REST"


@pytest.fixture(scope="module")
def engine(fuzz_conn: str) -> Iterator[Engine]:
    session = ZohoSession(fuzz_conn, backoff_base=0.02, backoff_cap=0.2)
    yield Engine(session)
    session.close()


def outcome(engine: Engine, sql: str, bound: Any = None) -> ConnectorError | None:
    """None when the statement ran; else the ConnectorError it raised (anything else fails the test)."""
    try:
        engine.run(sql, bound).reader.read_all()
    except ConnectorError as exc:
        assert not isinstance(exc, InternalError), (sql, exc)
        assert not INTERNALS.search(str(exc)), (sql, str(exc))
        # Zoho refusing a request the planner made would be a pushdown bug, not the user's error.
        assert not isinstance(exc, ApiError) or exc.code in ("INVALID_MODULE",), (sql, exc)
        return exc
    return None


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(sql=statements, bound=params)
def test_the_engine_answers_or_raises_a_clear_connector_error(engine: Engine, sql: str, bound: Any) -> None:
    outcome(engine, sql, bound)


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(sql=st.one_of(soup, mutated()))
def test_the_cli_exits_by_cause_without_a_traceback(engine: Engine, fuzz_conn: str, tmp_path: Path,
                                                    sql: str) -> None:
    if sql.strip() in ("-", "") or sql.lstrip().startswith("-"):
        sql = "SELECT " + sql  # `-` means stdin, and a leading dash would read as an option
    expected = outcome(engine, sql)
    env = dict(os.environ, ZOHOCRM_CONNECTION=fuzz_conn)
    p = subprocess.run([sys.executable, "-m", "connector.cli", "query", "--format", "csv", sql], env=env,
                       capture_output=True, timeout=120, cwd=tmp_path)
    stderr = p.stderr.decode()
    assert not INTERNALS.search(stderr) and p.returncode != EXIT_INTERNAL, (sql, stderr)
    assert p.returncode == (0 if expected is None else exit_status(expected)), (sql, stderr)
    assert len(stderr.strip().splitlines()) == (0 if expected is None and not stderr else 1), (sql, stderr)
