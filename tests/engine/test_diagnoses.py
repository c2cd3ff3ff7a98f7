"""Statements that used to get a misleading diagnosis or an internal error (issue 11, item 16).

Each is run through ``connector.connect`` and through the real ``zohocrm query`` process: a clear
error in words with the exit status of its cause (6 for SQL), or the right answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

import connector
from connector.emulator import Emulator
from connector.errors import ConversionError, PermissionDenied, PlanningError

from .conftest import Sessions, Truth, assert_same_result

NESTED = "SELECT " + "(" * 500 + "1" + ")" * 500
#: (statement, error class, words in the message, exit status)
REFUSED: list[tuple[str, type[Exception], str, int]] = [
    ("SELECT * FROM Leads, Leads", PlanningError, "the name 'Leads' is given to two tables", 6),
    ("SELECT l.Email FROM Leads l JOIN Deals l ON true", PlanningError, "the name 'l' is given to two tables", 6),
    (NESTED, PlanningError, "nests too deeply", 6),
    ("", PlanningError, "the SQL statement is empty", 6),
    ("  -- nothing here\n", PlanningError, "the SQL statement is empty", 6),
    ("SELECT * FROM Leads WHERE", PlanningError, "line 1, column 25 near 'WHERE': something is missing", 6),
    ("SELECT Email FROM Leads WHERE City = 'Zürich", PlanningError, "this string is never closed", 6),
    ("SELECT id, Email FROM $1 Leads", PlanningError, 'syntax error at or near "$" (at line 1, column 23)', 6),
    ("SELECT 1\nFROM Leads WHERE Email = 'x'::INTEGER", ConversionError, "(at line 2, column 18)", 5),
    ("Lead_Score > 1", PlanningError, "syntax error at line 1, column 1 near 'Lead_Score > 1': a statement starts "
                                      "with SELECT", 6),
    ("EXPLAIN EXPLAIN", PlanningError, "EXPLAIN takes a query", 6),
    ("WITH x AS (SELECT 'cte' AS n) INSERT INTO Leads (Last_Name) SELECT n FROM x", PermissionDenied,
     "insert on Leads: not allowed", 4),
    ("WITH x AS (SELECT id FROM Leads LIMIT 1) DELETE FROM Leads WHERE id IN (SELECT id FROM x)", PermissionDenied,
     "delete on Leads: not allowed", 4),
]
HUGE = [
    "SELECT id FROM Leads WHERE Annual_Revenue = 1e400",
    "SELECT id FROM Leads WHERE Annual_Revenue < -1e400 OR Annual_Revenue IN (1e400, 5)",
    "SELECT id FROM Leads WHERE No_of_Employees > 1e999999999",
    "SELECT id FROM Leads WHERE id = 1e999999999 OR Annual_Revenue > 1e-999",
    "SELECT id FROM Leads WHERE Annual_Revenue >= 1e30",
]


def zohocrm(sql: str, connection: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, ZOHOCRM_CONNECTION=connection)
    return subprocess.run([sys.executable, "-m", "connector.cli", "query", "--format", "csv", sql], env=env,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize(("sql", "error", "words", "status"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_clear_errors_through_connect(sessions: Sessions, sql: str, error: type[Exception], words: str,
                                      status: int) -> None:
    with connector.connect(sessions.session()) as conn:
        with pytest.raises(error) as info:
            conn.execute(sql).fetchall()
    assert words in str(info.value)


@pytest.mark.parametrize(("sql", "error", "words", "status"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_clear_errors_through_the_cli(org_conn: str, sql: str, error: type[Exception], words: str,
                                      status: int) -> None:
    p = zohocrm(sql, org_conn)
    lines = p.stderr.decode().strip().splitlines()
    assert p.returncode == status, p.stderr.decode()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "internal error" not in lines[0] and p.stdout == b""


@pytest.mark.parametrize("sql", HUGE)
def test_huge_and_tiny_literals_are_answered(sessions: Sessions, truth: Truth, sql: str) -> None:
    got = sessions.engine().execute(sql).read_all()
    assert_same_result(got, truth.query(sql, modules=("Leads",)), ordered=False, label=sql)


def test_cte_insert_and_update_write_what_the_cte_says(private_org: Any) -> None:
    emu: Emulator = private_org(records=200)
    conn_string = emu.connection_string + ";AllowedOperations=read,insert,update;AllowedModules=Leads"
    with connector.connect(conn_string) as conn:
        cur = conn.execute("WITH names AS (SELECT 'Cte' || i AS n FROM range(3) t(i)) "
                           "INSERT INTO Leads (Last_Name, Company) SELECT n, 'From a CTE' FROM names")
        assert cur.rowcount == 3
        cur = conn.execute("WITH mine AS (SELECT id FROM Leads WHERE Company = 'From a CTE') "
                           "UPDATE Leads SET City = 'Cte City' WHERE id IN (SELECT id FROM mine)")
        assert cur.rowcount == 3
        rows = conn.execute("SELECT Last_Name, City FROM Leads WHERE Company = 'From a CTE' ORDER BY 1").fetchall()
    assert rows == [("Cte0", "Cte City"), ("Cte1", "Cte City"), ("Cte2", "Cte City")]
    p = zohocrm("INSERT INTO Leads (Last_Name) WITH x AS (SELECT 'Inner' AS n) SELECT n FROM x", conn_string)
    assert p.returncode == 0, p.stderr.decode()
    assert b"inserted" in p.stdout and b"rowcount 1" in p.stderr
