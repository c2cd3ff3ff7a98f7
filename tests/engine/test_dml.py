"""SQL DML through the DB-API: INSERT, INSERT ... SELECT, UPDATE, DELETE and upsert, written by the
writers with a per-row report; refused writes never read or write anything."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.engine import dbapi
from connector.errors import NotSupportedError, PermissionDenied, ProgrammingError
from connector.writers import WriteReport

from ..conftest import ZohoClient, client_fixture, org_fixture
from .conftest import calls_since, data_calls

ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Leads,Contacts"


org = org_fixture("A private org for this module: every test writes rows tagged with its own marker.",
                  records=600, seed=13)
client = client_fixture("org")


@pytest.fixture(scope="module")
def conn(org: Emulator) -> Iterator[dbapi.Connection]:
    with dbapi.connect(org.connection_string + ALLOW) as c:
        yield c


@pytest.fixture
def tag() -> str:
    return "t" + uuid.uuid4().hex[:10]


def tagged(client: ZohoClient, tag: str) -> dict[str, dict[str, Any]]:
    return {r["Email"]: r for r in client.export("Leads") if r.get("Company") == tag}


def insert(conn: dbapi.Connection, tag: str, n: int) -> dbapi.Cursor:
    rows = [(f"L{i}", f"{tag}.{i}@dml.test", tag) for i in range(n)]
    cur = conn.cursor()
    cur.executemany("INSERT INTO Leads (Last_Name, Email, Company) VALUES (?, ?, ?)", rows)
    return cur


def test_insert_values_reports_every_row(conn: dbapi.Connection, client: ZohoClient, tag: str) -> None:
    cur = conn.cursor().execute(
        "INSERT INTO Leads (Last_Name, Email, Company, Lead_Score, Annual_Revenue) VALUES "
        "(?, ?, ?, 7, 1234.5), ('Zoë', ?, ?, NULL, NULL)",
        ["Ölund", f"{tag}.a@dml.test", tag, f"{tag}.z@dml.test", tag])
    assert cur.rowcount == 2
    report = cur.write_report
    assert isinstance(report, WriteReport) and report.summary() == {"inserted": 2, "total": 2}
    assert [d[0] for d in cur.description] == ["row", "key", "record_id", "status", "code", "message", "at"]
    rows = cur.fetchall()
    assert [r[3] for r in rows] == ["inserted", "inserted"] and all(r[2] for r in rows)
    written = tagged(client, tag)
    assert set(written) == {f"{tag}.a@dml.test", f"{tag}.z@dml.test"}
    assert written[f"{tag}.a@dml.test"]["Last_Name"] == "Ölund" and written[f"{tag}.a@dml.test"]["Lead_Score"] == 7
    assert {r["id"] for r in written.values()} == {r[2] for r in rows}


def test_insert_select_from_another_module(org: Emulator, conn: dbapi.Connection, client: ZohoClient,
                                           tag: str) -> None:
    sql = ("INSERT INTO Leads (Last_Name, Email, Company) SELECT Last_Name, lower(Email), ? FROM Contacts "
           "WHERE Lead_Source = 'Partner' AND Email IS NOT NULL AND Last_Name IS NOT NULL")
    contacts = [c for c in client.export("Contacts") if c.get("Lead_Source") == "Partner" and c.get("Email")
                and c.get("Last_Name")]
    cur = conn.execute(sql, [tag])
    assert cur.rowcount == len(contacts) > 0
    assert set(tagged(client, tag)) == {c["Email"].lower() for c in contacts}


def test_update_computes_new_values_in_duckdb(org: Emulator, conn: dbapi.Connection, client: ZohoClient,
                                              tag: str) -> None:
    insert(conn, tag, 3)
    other = next(r for r in client.export("Leads") if r.get("Company") != tag)
    before = data_calls(org)
    cur = conn.execute("UPDATE Leads SET Lead_Score = coalesce(Lead_Score, 0) + 10, City = :city, "
                       "Last_Name = Last_Name || '-x' WHERE Company = :tag AND Email <> :skip",
                       {"city": "Kraków", "tag": tag, "skip": f"{tag}.2@dml.test"})
    assert cur.rowcount == 2 and cur.write_report.summary() == {"updated": 2, "total": 2}
    used = calls_since(org, before)
    assert used.get("list_records", 0) == 0 and used.get("create_read_job", 0) == 0, used  # a filtered read
    rows = tagged(client, tag)
    assert [rows[f"{tag}.{i}@dml.test"]["City"] for i in range(3)] == ["Kraków", "Kraków", None]
    assert [rows[f"{tag}.{i}@dml.test"]["Last_Name"] for i in range(3)] == ["L0-x", "L1-x", "L2"]
    assert rows[f"{tag}.0@dml.test"]["Lead_Score"] == 10
    assert next(r for r in client.export("Leads") if r["id"] == other["id"]) == other


def test_update_from_another_module(conn: dbapi.Connection, client: ZohoClient, tag: str) -> None:
    contacts = {c["Email"]: c for c in client.export("Contacts") if c.get("Email") and c.get("Last_Name")
                and c.get("Mailing_City") and c.get("Lead_Source") == "Chat"}
    conn.execute("INSERT INTO Leads (Last_Name, Email, Company) SELECT Last_Name, Email, ? FROM Contacts "
                 "WHERE Lead_Source = 'Chat' AND Email IS NOT NULL AND Mailing_City IS NOT NULL", [tag])
    cur = conn.execute("UPDATE Leads AS l SET City = c.Mailing_City FROM Contacts c "
                       "WHERE l.Email = c.Email AND l.Company = ? AND c.Lead_Source = 'Chat'", [tag])
    assert cur.rowcount == len(contacts) > 0
    assert {e: r["City"] for e, r in tagged(client, tag).items()} == \
        {e: c["Mailing_City"] for e, c in contacts.items()}


def test_delete_and_an_update_that_matches_nothing(conn: dbapi.Connection, client: ZohoClient, tag: str) -> None:
    insert(conn, tag, 4)
    cur = conn.execute("DELETE FROM Leads WHERE Company = ? AND Email LIKE ?", [tag, f"{tag}.%"])
    assert cur.rowcount == 4 and cur.write_report.summary() == {"deleted": 4, "total": 4}
    assert tagged(client, tag) == {}
    cur = conn.execute("UPDATE Leads SET City = 'x' WHERE Company = ?", [tag])
    assert cur.rowcount == 0 and cur.fetchall() == []


def test_upsert_by_email(conn: dbapi.Connection, client: ZohoClient, tag: str) -> None:
    insert(conn, tag, 1)
    cur = conn.execute(
        "INSERT INTO Leads (Last_Name, Email, Company, City) VALUES ('New', ?, ?, 'Seoul'), ('Other', ?, ?, NULL) "
        "ON CONFLICT (Email) DO UPDATE SET Last_Name = excluded.Last_Name, Company = excluded.Company, "
        "City = excluded.City", [f"{tag}.0@dml.test", tag, f"{tag}.9@dml.test", tag])
    assert cur.rowcount == 2
    assert sorted(r[3] for r in cur.fetchall()) == ["inserted", "updated"]
    rows = tagged(client, tag)
    assert rows[f"{tag}.0@dml.test"]["Last_Name"] == "New" and rows[f"{tag}.0@dml.test"]["City"] == "Seoul"
    assert len(rows) == 2


def test_bad_rows_are_reported_and_do_not_stop_the_others(conn: dbapi.Connection, client: ZohoClient,
                                                          tag: str, tmp_path: Path) -> None:
    cur = conn.cursor()
    cur.report_path = tmp_path / "report.csv"
    cur.execute("INSERT INTO Leads (Last_Name, Email, Company, Lead_Source) VALUES "
                "('Good', ?, ?, 'Partner'), (NULL, ?, ?, 'Partner'), ('Bad', ?, ?, 'Not a source'), "
                "(repeat('x', 300), ?, ?, NULL)",
                [f"{tag}.0@dml.test", tag, f"{tag}.1@dml.test", tag, f"{tag}.2@dml.test", tag, f"{tag}.3@dml.test",
                 tag])
    assert cur.rowcount == 1
    report = cur.write_report
    assert report.summary() == {"inserted": 1, "failed": 3, "total": 4} and not report.ok
    entries = report.entries()
    assert entries[1].code == "MANDATORY_NOT_FOUND" and entries[2].code == "INVALID_DATA"
    assert "maximum_length" in (entries[3].message or "")  # 300 characters in a 255-character field
    assert set(tagged(client, tag)) == {f"{tag}.0@dml.test"}
    assert WriteReport.read(cur.report_path).summary() == report.summary()


def test_executemany_writes_once(org: Emulator, conn: dbapi.Connection, client: ZohoClient, tag: str) -> None:
    inserts = org.stats()["calls"].get("insert", 0)
    cur = insert(conn, tag, 25)
    assert cur.rowcount == 25 and len(tagged(client, tag)) == 25
    assert org.stats()["calls"].get("insert", 0) - inserts == 1  # one batch of 25, not 25 calls


def test_dry_run_writes_nothing(org: Emulator, client: ZohoClient, tag: str) -> None:
    with dbapi.connect(org.connection_string + ALLOW + ";DryRun=true") as c:
        cur = c.execute("INSERT INTO Leads (Last_Name, Email, Company) VALUES ('Dry', ?, ?)",
                        [f"{tag}@dml.test", tag])
    assert cur.rowcount == 0 and cur.write_report.summary() == {"would_insert": 1, "total": 1}
    assert tagged(client, tag) == {}


@pytest.mark.parametrize(("allow", "sql"), [
    ("", "DELETE FROM Leads WHERE Company = 'x'"),
    (";AllowedOperations=read,insert;AllowedModules=Leads", "UPDATE Leads SET City = 'x' WHERE Company = 'x'"),
    (";AllowedOperations=read,insert;AllowedModules=Contacts", "INSERT INTO Leads (Last_Name) VALUES ('x')"),
    (";AllowedOperations=read,insert,upsert;AllowedModules=Contacts",
     "INSERT INTO Leads (Last_Name, Email) SELECT Last_Name, Email FROM Contacts "
     "ON CONFLICT (Email) DO UPDATE SET Last_Name = excluded.Last_Name"),
])
def test_permission_is_checked_before_any_read(org: Emulator, allow: str, sql: str) -> None:
    with dbapi.connect(org.connection_string + allow) as c:
        c.execute("SHOW TABLES")  # metadata loaded, so what follows would be data calls only
        before = data_calls(org)
        with pytest.raises(PermissionDenied, match="not allowed"):
            c.execute(sql)
        assert calls_since(org, before) == {}


@pytest.mark.parametrize(("sql", "error", "text"), [
    ("UPDATE Leads SET City = 'x'", ProgrammingError, "WHERE true"),
    ("DELETE FROM Leads", ProgrammingError, "every Leads record"),
    ("UPDATE Leads SET Owner_Name = 'x' WHERE true", ProgrammingError, "Owner_Id"),
    ("UPDATE Leads SET id = '1' WHERE true", ProgrammingError, "record ids"),
    ("UPDATE Leads SET Days_Open = 1 WHERE true", ProgrammingError, "read-only"),
    ("UPDATE Leads SET Citty = 'x' WHERE true", ProgrammingError, "did you mean City"),
    ("INSERT INTO Leads VALUES ('x')", ProgrammingError, "column list"),
    ("INSERT INTO Leads (Last_Name, Email) VALUES ('x', 'y') ON CONFLICT (Email) DO UPDATE SET "
     "Last_Name = 'fixed'", NotSupportedError, "excluded"),
    ("INSERT INTO Leads (Last_Name, Email, City) VALUES ('x', 'y', 'z') ON CONFLICT (Email) DO UPDATE SET "
     "Last_Name = excluded.Last_Name", NotSupportedError, "City"),
    ("INSERT INTO Leads (Last_Name, Email) VALUES ('x', 'y') ON CONFLICT (Email) DO NOTHING", NotSupportedError,
     "DO NOTHING"),
    ("INSERT INTO Leads (Last_Name) VALUES ('x') RETURNING id", NotSupportedError, "RETURNING"),
    ("INSERT INTO Leadz (Last_Name) VALUES ('x')", Exception, "did you mean Leads"),
])
def test_statements_that_cannot_be_written_as_asked(conn: dbapi.Connection, sql: str, error: type,
                                                    text: str) -> None:
    with pytest.raises(error, match=text):
        conn.execute(sql)


def test_executemany_is_for_dml(conn: dbapi.Connection) -> None:
    with pytest.raises(ProgrammingError, match="executemany"):
        conn.cursor().executemany("SELECT ?", [(1,), (2,)])
