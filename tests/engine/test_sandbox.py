"""SQL over Zoho reaches Zoho tables only: no file, URL, extension or setting (issue 11, item 1).

Each refused statement is tried through ``connector.connect``, ``read_sql`` and the real ``zohocrm
query`` process: a NotSupportedError (exit 6) that names the function or statement, before any
Zoho data call. Under the planner's early check, DuckDB itself is locked down: that is tested by
switching the early check off and watching DuckDB refuse, and on the sandboxed connection alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import connector
import connector.duckdb as zduck
from connector.emulator import Emulator
from connector.engine.feeds import ScanFeed, register_feed
from connector.engine.sandbox import refusal, sandboxed_connection
from connector.errors import NotSupportedError
from connector.planning import statement as statement_module

from .conftest import Sessions, calls_since, data_calls

#: (statement, what the error must name)
REFUSED = [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT * FROM glob('/tmp/*')", "glob()"),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet()"),
    ("SELECT * FROM read_json('/etc/passwd')", "read_json()"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob()"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv()"),
    ("SELECT * FROM parquet_metadata('/tmp/x.parquet')", "parquet_metadata()"),
    ("SELECT * FROM 'https://example.com/x.csv'", "'https://example.com/x.csv'"),
    ("SELECT * FROM 'leads.csv'", "'leads.csv'"),
    ("SELECT * FROM \"/etc/passwd\"", "'/etc/passwd'"),
    ("SELECT Email FROM Leads WHERE Email IN (SELECT * FROM read_csv_auto('/etc/passwd'))", "read_csv_auto()"),
    ("WITH x AS (SELECT * FROM read_text('/etc/hosts')) SELECT * FROM x", "read_text()"),
    ("EXPLAIN SELECT * FROM read_ndjson_objects('/etc/passwd')", "read_ndjson_objects()"),
    ("SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')", "query()"),
    ("INSERT INTO Leads (Last_Name) SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SET enable_external_access=true", "SET statements are refused"),
    ("RESET enable_external_access", "RESET statements are refused"),
    ("INSTALL httpfs", "INSTALL statements are refused"),
    ("LOAD httpfs", "LOAD statements are refused"),
    ("ATTACH '/tmp/x.duckdb' AS x", "ATTACH statements are refused"),
    ("COPY (SELECT 1) TO '/tmp/out.csv'", "COPY statements are refused"),
    ("EXPORT DATABASE '/tmp/exported'", "EXPORT statements are refused"),
    ("PRAGMA enable_profiling", "PRAGMA statements are refused"),
    ("SELECT * FROM enable_logging()", "enable_logging()"),
]
IDS = [sql[:40] for sql, _ in REFUSED]
#: a few of the table, through the real CLI process (each run is a new process)
CLI_CASES = [0, 3, 8, 12, 16, 18, 21]


@pytest.mark.parametrize(("sql", "named"), REFUSED, ids=IDS)
def test_refused_through_connect_and_read_sql(org: Emulator, sessions: Sessions, sql: str, named: str) -> None:
    before = data_calls(org)
    with connector.connect(sessions.session()) as conn:
        with pytest.raises(NotSupportedError) as info:
            conn.cursor().execute(sql).fetchall()
        assert named in str(info.value)
        with pytest.raises(NotSupportedError, match=named.replace("(", r"\(").replace(")", r"\)")):
            connector.read_sql(sql, conn)
    assert calls_since(org, before) == {}  # refused before any Zoho data call


@pytest.mark.parametrize("case", CLI_CASES, ids=[IDS[i] for i in CLI_CASES])
def test_refused_through_the_cli(org_conn: str, tmp_path: Path, case: int) -> None:
    sql, named = REFUSED[case]
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["ZOHOCRM_CONNECTION"] = org_conn + ";AllowedOperations=read,insert;AllowedModules=Leads"
    p = subprocess.run([sys.executable, "-m", "connector.cli", "query", sql], env=env, cwd=tmp_path,
                       capture_output=True, timeout=120)
    assert p.returncode == 6, p.stderr.decode()
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], lines
    assert p.stdout == b""
    assert not any(tmp_path.iterdir())  # nothing written where it ran


BYPASSED = [
    ("SELECT * FROM read_csv('{f}')", "tries to open"),
    ("SELECT * FROM read_text('{f}')", "tries to open"),
    ("SELECT * FROM glob('{d}/*')", "tries to open"),
    ("SELECT * FROM '{f}'", "tries to open"),
    ("SELECT * FROM 'https://example.com/x.csv'", "tries to open 'https://example.com/x.csv'"),
    ("SELECT * FROM query('SELECT * FROM read_blob(''{f}'')')", "tries to open"),
    ("SELECT * FROM enable_logging()", "cannot be changed by a statement"),
]


@pytest.mark.parametrize(("sql", "words"), BYPASSED, ids=[s[:40] for s, _ in BYPASSED])
def test_duckdb_refuses_what_the_early_check_would_let_through(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sql: str, words: str) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(statement_module, "refuse_external_access", lambda tree: None)  # the early check
    engine = sessions.engine()
    with pytest.raises(NotSupportedError, match=words):
        engine.execute(sql.format(f=secret, d=tmp_path)).read_all()
    assert not (home / ".duckdb").exists()  # no extension was downloaded or even looked for


def test_sandboxed_connection_keeps_python_feeds_and_refuses_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    con = sandboxed_connection()
    try:
        schema = pa.schema([("a", pa.int64())])
        batches = [pa.record_batch([pa.array([1, 2, 3])], schema=schema)]
        con.register("stream", pa.RecordBatchReader.from_batches(schema, iter(batches)))
        register_feed(con, ScanFeed("fed", schema, lambda: iter(batches)))
        assert con.sql("SELECT sum(s.a) + sum(f.a) FROM stream s JOIN fed f USING (a)").fetchall() == [(12,)]
        assert con.sql("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
        # the progress bar is off (checked outside pytest in tests/sync/test_bad_paths.py); turning it on is refused
        local_variable = pa.table({"a": [1]})  # noqa: F841 - what a replacement scan would find
        for sql in (f"SELECT * FROM read_csv('{data}')", f"SELECT * FROM '{data}'", "INSTALL httpfs",
                    "LOAD httpfs", f"ATTACH '{tmp_path / 'x.duckdb'}' AS x", f"COPY (SELECT 1) TO '{tmp_path}/o.csv'",
                    "SET enable_external_access=true", "SET lock_configuration=false",
                    "SET autoinstall_known_extensions=true", "SET TimeZone='Europe/Paris'",
                    "SET enable_progress_bar=true",
                    "SELECT * FROM local_variable"):
            with pytest.raises(duckdb.Error) as info:
                con.sql(sql).fetchall()
            if "local_variable" not in sql:
                assert refusal(info.value) is not None, (sql, info.value)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]
    finally:
        con.close()


def test_a_users_own_duckdb_stays_theirs(org_conn: str, org: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "local.csv"
    data.write_text("Email\nnobody@example.com\n")
    con = duckdb.connect()
    att = zduck.attach(con, org_conn, modules=["Leads"])
    try:
        assert con.sql(f"SELECT count(*) FROM read_csv('{data}')").fetchall() == [(1,)]
        joined = con.sql(f"SELECT count(*) FROM zoho.Leads l JOIN read_csv('{data}') f USING (Email)").fetchall()
        assert joined == [(0,)]
    finally:
        att.close()
        con.close()


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[duckdb.DuckDBPyConnection]:
    """Every sandboxed connection opened from now on."""
    import connector.engine.sandbox as sandbox

    opened: list[duckdb.DuckDBPyConnection] = []
    original = sandbox.sandboxed_connection

    def counted() -> duckdb.DuckDBPyConnection:
        opened.append(original())
        return opened[-1]

    monkeypatch.setattr(sandbox, "sandboxed_connection", counted)
    return opened


def _left_in(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal UNION ALL "
                       "SELECT table_name FROM duckdb_tables()").fetchall()


def test_statements_one_after_another_run_in_one_duckdb_connection_left_empty(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a sandboxed connection costs some 20 ms: an engine's statements reuse one, each finding it as
    the sandbox opens it (no relation of the statement before, its settings still locked)."""
    opened = _opened(monkeypatch)
    engine = sessions.engine()
    try:
        for sql in ("SELECT count(*) FROM Leads", "SELECT Last_Name FROM Leads ORDER BY id LIMIT 3",
                    "SELECT l.Last_Name, a.Account_Name FROM Contacts l JOIN Accounts a ON a.id = l.Account_Name_Id "
                    "LIMIT 5", "SELECT 1 AS one", "SELECT count(*) FROM Leads WHERE Email IS NOT NULL"):
            engine.execute(sql).read_all()
            assert len(opened) == 1, sql
            (idle,) = engine._sandboxes._idle
            assert _left_in(idle) == [], sql
        assert idle.sql("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
        with pytest.raises(duckdb.Error) as info:
            idle.sql("SET enable_external_access=true")
        assert refusal(info.value) is not None
    finally:
        engine.close()
    assert engine._sandboxes._idle == []


def test_a_statement_that_failed_or_was_left_unread_closes_its_connection(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _opened(monkeypatch)
    engine = sessions.engine()
    try:
        engine.execute("SELECT 1 AS one").read_all()
        assert len(opened) == 1
        with pytest.raises(connector.Error):  # fails in DuckDB as the rows stream
            engine.execute("SELECT CAST(Last_Name AS INTEGER) FROM Leads WHERE Last_Name IS NOT NULL").read_all()
        assert engine._sandboxes._idle == []  # the one it ran in is closed, not kept
        with pytest.raises(duckdb.Error):
            opened[0].execute("SELECT 1")
        reader = engine.execute("SELECT id FROM Leads")
        reader.read_next_batch()
        reader.close()  # left unread: its result may still be open in DuckDB
        assert engine._sandboxes._idle == []
        engine.execute("SELECT 2 AS two").read_all()
        assert len(opened) == 3 and len(engine._sandboxes._idle) == 1
    finally:
        engine.close()
