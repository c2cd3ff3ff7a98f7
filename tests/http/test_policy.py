"""Reads governed like writes: AllowedOperations/AllowedModules decide every call, each decision is audited.

Over real HTTP against the emulator: a denied read never reaches it (its call counters, token calls
included, do not move), leaves one audit line with decision=deny, and the log still verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import requests

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.errors import PermissionDenied
from connector.http.audit import verify_audit_log
from connector.http.policy import classify_call
from connector.readers import reader_for
from connector.writers import RestWriter
from tests.http.support import conn, fast_session, stats

CLASSIFIED = [
    ("GET", "/crm/v8/Leads/5843104000000425001", None, "get_record", "Leads"),
    ("GET", "/crm/v8/Leads", None, "list_records", "Leads"),
    ("GET", "/crm/v8/Leads/deleted", None, "list_records", "Leads"),
    ("GET", "/crm/v8/Leads/actions/count", None, "list_records", "Leads"),
    ("GET", "/crm/v8/Accounts/5843104000000425001/Contacts", None, "list_records", "Contacts"),
    ("GET", "/crm/v8/Contacts/search", None, "search_records", "Contacts"),
    ("POST", "/crm/v8/coql", {"select_query": "select id from Deals where id > 0 limit 2000"}, "query", "Deals"),
    ("POST", "/crm/bulk/v8/read", {"query": {"module": {"api_name": "Calls"}}}, "bulk_read", "Calls"),
    ("POST", "/crm/v8/Leads", {"data": []}, "insert", "Leads"),
    ("PUT", "/crm/v8/Leads", {"data": []}, "update", "Leads"),
    ("POST", "/crm/v8/Leads/upsert", {"data": []}, "upsert", "Leads"),
    ("DELETE", "/crm/v8/Leads", None, "delete", "Leads"),
    ("POST", "/crm/bulk/v8/write", {"operation": "upsert", "resource": [{"module": {"api_name": "Deals"}}]},
     "upsert", "Deals"),
    ("POST", "http://127.0.0.1:1/crm/v8/upload", None, "bulk_write", ""),
    ("GET", "http://127.0.0.1:1/crm/v8/org", None, "metadata", ""),
    ("GET", "/crm/v8/users", None, "metadata", ""),
    ("GET", "/crm/v8/settings/fields", None, "metadata", ""),
    ("GET", "/crm/bulk/v8/write/5843104000000425001", None, "metadata", ""),
    # attachments are governed as Attachments (Zoho's attachments scope), not as their parent
    ("POST", "/crm/v8/Leads/5843104000000425001/Attachments", None, "insert", "Attachments"),
    ("DELETE", "/crm/v8/Deals/5843104000000425001/Attachments/5843104000000425002", None, "delete", "Attachments"),
    ("GET", "/crm/v8/Leads/5843104000000425001/Attachments", None, "list_records", "Attachments"),
    ("GET", "/crm/v8/Leads/5843104000000425001/photo", None, "get_record", "Leads"),
    ("POST", "/crm/v8/Accounts/5843104000000425001/photo", None, "update", "Accounts"),
    ("DELETE", "/crm/v8/Accounts/5843104000000425001/photo", None, "update", "Accounts"),
    # a file for a file field: allowed only as part of the write that names it
    ("POST", "/crm/v8/files", None, "bulk_write", ""),
    ("GET", "/crm/v8/files", None, "list_records", "files"),
    ("PUT", "/crm/v8/Campaigns/5843104000000425001/Leads/5843104000000425002", {"data": [{}]}, "update", "Campaigns"),
]


@pytest.mark.parametrize(("method", "url", "body", "operation", "module"), CLASSIFIED)
def test_each_call_is_classified_by_what_it_does(method: str, url: str, body: Any, operation: str,
                                                  module: str) -> None:
    kind = classify_call(method, url, body)
    assert (kind.operation, kind.module) == (operation, module)


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=40, seed=21)


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def counters(emu: Emulator) -> tuple[int, int]:
    st = stats(emu)
    return st["calls_total"], st["credits_used"]


def refused(emu: Emulator, log: Path, sql: str, **props: str) -> PermissionDenied:
    with fast_session(conn(emu, AuditLog=str(log), **props)) as s:
        before = counters(emu)
        with pytest.raises(PermissionDenied) as info:
            Engine(s).run(sql).reader.read_all()
        assert counters(emu) == before  # nothing reached the emulator, not even a token request
    return info.value


@pytest.mark.parametrize(("props", "sql", "module", "words"), [
    ({"AllowedOperations": "insert", "AllowedModules": "Leads"}, "SELECT Last_Name FROM Leads", "Leads",
     "does not list query or read"),
    ({"AllowedModules": "Leads"}, "SELECT count(*) FROM Contacts", "Contacts", "AllowedModules (Leads)"),
    ({"AllowedOperations": "get_record,list_records"}, "SELECT id FROM Deals", "Deals", "query or read"),
    ({"AllowedModules": "Leads"}, "SELECT l.id FROM Leads l JOIN contacts c ON c.id = l.id", "contacts",
     "does not list contacts"),
])
def test_a_refused_read_never_reaches_zoho_and_is_audited(emu: Emulator, tmp_path: Path, props: dict[str, str],
                                                          sql: str, module: str, words: str) -> None:
    log = tmp_path / "audit.jsonl"
    err = refused(emu, log, sql, **props)
    assert words in str(err) and "add `;Allowed" in str(err)  # what was refused, why, and the text to allow it
    (line,) = audit_lines(log)
    assert (line["decision"], line["operation"], line["module"], line["rows"], line["credits"]) == \
        ("deny", "query", module, 0, 0)
    assert words in line["reason"]
    assert verify_audit_log(log).ok


def test_allowed_reads_are_audited_with_rows_and_reason(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with fast_session(conn(emu, AuditLog=str(log), AllowedModules="Leads", APIType="REST")) as s:
        rows = Engine(s).run("SELECT id, Last_Name FROM Leads").reader.read_all()
    record_lines = [e for e in audit_lines(log) if e["operation"] != "metadata"]
    assert record_lines and all(e["decision"] == "allow" and e["module"] == "Leads" for e in record_lines)
    assert all(e["operation"] == "query" for e in record_lines)  # SQL reads are `query`, whatever API reads
    assert sum(e["rows"] for e in record_lines if e["api"] == "list") == rows.num_rows
    assert "AllowedModules lists Leads" in record_lines[0]["reason"]
    assert all(e["decision"] == "allow" and e["reason"] for e in audit_lines(log))
    assert verify_audit_log(log).ok


def test_finer_read_names_allow_only_their_api(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with fast_session(conn(emu, AuditLog=str(log), AllowedOperations="get_record")) as s:
        some_id = emu_export(emu, "Leads")[0]["id"]
        assert s.http.get(f"/Leads/{some_id}").status == 200
        before = counters(emu)
        with pytest.raises(PermissionDenied, match="list_records on Leads"):
            s.http.get("/Leads", params={"fields": "id"})
        with pytest.raises(PermissionDenied, match="search_records on Leads"):
            s.http.get("/Leads/search", params={"word": "x"})
        assert counters(emu) == before
    with fast_session(conn(emu, AuditLog=str(log), AllowedOperations="query", APIType="REST")) as s:
        assert Engine(s).run("SELECT id FROM Leads").reader.read_all().num_rows == len(emu_export(emu, "Leads"))
        with pytest.raises(PermissionDenied, match="list_records on Leads"):
            s.http.get("/Leads")  # the same API outside SQL is list_records, not allowed
    denied = [e for e in audit_lines(log) if e["decision"] == "deny"]
    assert [e["operation"] for e in denied] == ["list_records", "search_records", "list_records"]
    assert verify_audit_log(log).ok


def test_bulk_jobs_are_followed_to_their_module(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with fast_session(conn(emu, AuditLog=str(log), AllowedOperations="bulk_read", AllowedModules="Leads",
                           APIType="Bulk")) as s:
        rows = sum(b.num_rows for b in reader_for("Bulk", s.reader_context()).batches("Leads", ["id"], None))
    assert rows == len(emu_export(emu, "Leads"))
    bulk = [e for e in audit_lines(log) if e["path"].count("/crm/bulk/")]
    assert bulk and all(e["operation"] == "bulk_read" and e["module"] == "Leads" and e["decision"] == "allow"
                        for e in bulk)


def test_a_write_only_connection_writes_but_does_not_read(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    props = {"AuditLog": str(log), "AllowedOperations": "insert", "AllowedModules": "Leads"}
    with fast_session(conn(emu, **props)) as s:
        report = RestWriter(s).write("Leads", pa.table({"Last_Name": ["W1", "W2"], "Company": ["A", "B"]}),
                                     key="Last_Name")
        assert report.summary()["inserted"] == 2  # its own reads (ids, Zoho's clock) are part of the write
        with pytest.raises(PermissionDenied):
            Engine(s).run("SELECT id FROM Leads").reader.read_all()
    inserts = [e for e in audit_lines(log) if e["operation"] == "insert"]
    assert inserts and all(e["decision"] == "allow" for e in inserts)
    assert audit_lines(log)[-1]["decision"] == "deny"


def test_dml_reading_a_module_not_allowed_is_refused_before_any_write(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    props = {"AuditLog": str(log), "AllowedOperations": "read,insert", "AllowedModules": "Leads"}
    leads_before = len(emu_export(emu, "Leads"))
    with fast_session(conn(emu, **props)) as s, pytest.raises(PermissionDenied, match="query on Contacts"):
        Engine(s).run("INSERT INTO Leads (Last_Name, Company) SELECT Last_Name, 'x' FROM Contacts")
    assert len(emu_export(emu, "Leads")) == leads_before
    assert [e["decision"] for e in audit_lines(log) if e["decision"] == "deny"] == ["deny"]


def emu_export(emu: Emulator, module: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{emu.origin}/__emulator/export/{module}", timeout=30).json()["data"])


def test_the_cli_exits_4_and_the_log_verifies(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "ZOHOCRM_CONNECTION"}
    env["ZOHOCRM_CONNECTION"] = conn(emu, AuditLog=str(log), AllowedModules="Leads")
    before = counters(emu)
    p = subprocess.run([sys.executable, "-m", "connector.cli", "query", "SELECT count(*) FROM Contacts"],
                       env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 4, p.stderr
    assert "query on Contacts: not allowed" in p.stderr and "AllowedModules=Leads,Contacts" in p.stderr
    assert counters(emu) == before
    ok = subprocess.run([sys.executable, "-m", "connector.cli", "audit", "verify", str(log)], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 1 lines"), ok.stdout + ok.stderr
