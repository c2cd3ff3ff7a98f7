"""``zohocrm query`` as a subprocess: every format, EXPLAIN, errors, --api, and DML exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from connector.emulator import Emulator

from .conftest import Truth, assert_same_result, calls_since, data_calls

SQL = "SELECT id, Email, City, Annual_Revenue, Created_Time FROM Leads WHERE Lead_Source = 'Partner'"
COLUMNS = ["id", "Email", "City", "Annual_Revenue", "Created_Time"]


def zohocrm(*args: str, connection: str | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    if connection is not None:
        env["ZOHOCRM_CONNECTION"] = connection
    return subprocess.run([sys.executable, "-m", "connector.cli", "query", *args], env=env, cwd=cwd,
                          capture_output=True, timeout=120, input=stdin.encode() if stdin is not None else None)


@pytest.fixture(scope="module")
def want(truth: Truth) -> list[dict[str, Any]]:
    table = truth.query(SQL, modules=("Leads",))
    return sorted(table.to_pylist(), key=lambda r: r["id"])


def test_csv_on_stdout_and_progress_on_stderr(org_conn: str, org: Emulator, truth: Truth) -> None:
    p = zohocrm("--format", "csv", SQL, connection=org_conn)
    assert p.returncode == 0, p.stderr.decode()
    got = pcsv.read_csv(io.BytesIO(p.stdout), convert_options=pcsv.ConvertOptions(strings_can_be_null=True,
        column_types={"id": pa.string(), "Annual_Revenue": pa.decimal128(18, 2),
                      "Created_Time": pa.timestamp("us", tz="UTC")}))
    assert got.column_names == COLUMNS
    assert_same_result(got, truth.query(SQL, modules=("Leads",)), ordered=False)
    assert b"rows" in p.stderr and b"credits" in p.stderr and b"id" not in p.stderr


def test_json_lines(org_conn: str, org: Emulator, want: list[dict[str, Any]], tmp_path: Path) -> None:
    conn_file = tmp_path / "zoho.conn"
    conn_file.write_text(org_conn)
    p = zohocrm("--connection", f"@{conn_file}", "--format", "json", SQL)
    assert p.returncode == 0, p.stderr.decode()
    rows = sorted((json.loads(line) for line in p.stdout.decode().splitlines()), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [r["id"] for r in want]
    assert [r["Email"] for r in rows] == [r["Email"] for r in want]
    # decimals: a JSON number when a float holds them exactly, else their exact text
    assert [None if r["Annual_Revenue"] is None else Decimal(str(r["Annual_Revenue"])) for r in rows] == \
        [r["Annual_Revenue"] for r in want]
    assert rows[0]["Created_Time"].endswith("+00:00")


def test_parquet_to_a_file(org_conn: str, org: Emulator, truth: Truth, tmp_path: Path) -> None:
    out = tmp_path / "leads.parquet"
    p = zohocrm("--format", "parquet", "--output", str(out), SQL, connection=org_conn)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == b""
    assert_same_result(pq.read_table(out), truth.query(SQL, modules=("Leads",)), ordered=False)


def test_table_format_and_sql_from_stdin(org_conn: str, org: Emulator, want: list[dict[str, Any]]) -> None:
    p = zohocrm("-", connection=org_conn, stdin=SQL + " ORDER BY id LIMIT 3")
    assert p.returncode == 0, p.stderr.decode()
    text = p.stdout.decode()
    assert all(r["id"] in text for r in want[:3]) and "(3 rows)" in text and "Email" in text


def test_explain_is_printed_readably(org_conn: str, org: Emulator) -> None:
    before = data_calls(org)
    p = zohocrm("EXPLAIN " + SQL, connection=org_conn)
    assert p.returncode == 0, p.stderr.decode()
    text = p.stdout.decode()
    # a picklist value of ~30 of 531 leads: one COQL call (1 credit) against Search's page and its call for
    # recently modified records (2); every candidate's price is listed
    assert "Leads -> COQL" in text and "COQL where:" in text and "Lead_Source = 'Partner'" in text
    assert "candidates:" in text and "Search 2 calls, 2 credits" in text
    assert "estimate:" in text and "total estimated credits" in text
    assert calls_since(org, before).get("search_records", 0) == 0


def test_api_option_forces_the_read_api(org_conn: str, org: Emulator) -> None:
    before = data_calls(org)
    p = zohocrm("--api", "coql", "--format", "csv", SQL, connection=org_conn)
    assert p.returncode == 0, p.stderr.decode()
    used = calls_since(org, before)
    assert used.get("coql_query", 0) >= 1 and used.get("search_records", 0) == 0, used


@pytest.mark.parametrize(("args", "needle", "status"), [
    (["SELECT Emial FROM Leads"], b"did you mean Email", 6),
    (["DROP TABLE Leads"], b"not supported", 6),
    (["SELECT * FROM Leadz"], b"error:", 6),
])
def test_errors_exit_by_cause_with_one_line(org_conn: str, org: Emulator, args: list[str], needle: bytes,
                                           status: int) -> None:
    p = zohocrm(*args, connection=org_conn)
    assert p.returncode == status and needle in p.stderr and b"Traceback" not in p.stderr and p.stdout == b""


def test_no_connection_is_a_usage_error() -> None:
    p = zohocrm("SELECT 1")
    assert p.returncode == 2 and b"ZOHOCRM_CONNECTION" in p.stderr


def test_dml_reports_rows_and_exits_1_when_some_failed(private_org: Any, tmp_path: Path) -> None:
    emu = private_org()
    conn = emu.connection_string + ";AllowedOperations=read,insert;AllowedModules=Leads"
    report = tmp_path / "report.csv"
    ok = zohocrm("--format", "csv", "INSERT INTO Leads (Last_Name, Email) VALUES ('Cli', 'cli@dml.test')",
                 connection=conn)
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"inserted" in ok.stdout and b"rowcount 1" in ok.stderr
    bad = zohocrm("--report", str(report), "--format", "json",
                  "INSERT INTO Leads (Last_Name, Email) VALUES ('Fine', 'fine@dml.test'), (NULL, 'nolast@dml.test')",
                  connection=conn)
    assert bad.returncode == 1
    assert str(report).encode() in bad.stderr and b"1 row not written" in bad.stderr
    statuses = [json.loads(line)["status"] for line in bad.stdout.decode().splitlines()]
    assert statuses == ["inserted", "failed"]
    assert "MANDATORY_NOT_FOUND" in report.read_text()
    denied = zohocrm("DELETE FROM Leads WHERE Email = 'cli@dml.test'", connection=conn)
    assert denied.returncode == 4 and b"AllowedOperations" in denied.stderr
