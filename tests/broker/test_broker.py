"""`zohocrm broker`: workspaces served over the broker's Zoho connection, default-deny, audited.

The client side is an ordinary connection string, ``Broker=<url>;BrokerKey=<key>``: SQL, writes and
migrations run as against Zoho. The emulator's counters show what reached "Zoho".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import requests

from connector.engine.executor import engine_for
from connector.errors import AuthError, ConfigError, CreditBudgetReached, PermissionDenied
from connector.http.audit import verify_audit_log
from connector.http.brokered import ENVELOPE_TYPE
from connector.session import ZohoSession
from connector.writers import RestWriter
from tests.broker.conftest import Brokered
from tests.http.support import conn


def export(b: Brokered, module: str) -> list[dict]:
    return list(requests.get(f"{b.emu.origin}/__emulator/export/{module}", timeout=30).json()["data"])


def audit(b: Brokered) -> list[dict]:
    return [json.loads(line) for line in (b.state / "audit.jsonl").read_text().splitlines()]


def test_sql_runs_through_the_broker_and_a_denied_module_never_reaches_zoho(brokered: Brokered) -> None:
    engine, session = engine_for(brokered.connection("analytics"))
    with session:
        n = engine.run("SELECT count(*) AS n FROM Leads").reader.read_all().column("n")[0].as_py()
        assert n == len(export(brokered, "Leads"))
        rows = engine.run("SELECT id, Last_Name FROM Contacts ORDER BY id").reader.read_all()
        assert rows.num_rows == len(export(brokered, "Contacts"))
        before = brokered.counters()
        with pytest.raises(PermissionDenied, match="refused by the broker.*does not list Deals"):
            engine.run("SELECT count(*) FROM Deals").reader.read_all()
        assert brokered.counters() == before  # nothing of it reached Zoho
    lines = audit(brokered)
    denied = [e for e in lines if e["decision"] == "deny"]
    assert denied and all(e["workspace"] == "analytics" and e["module"] == "Deals" for e in denied)
    allowed = [e for e in lines if e["decision"] == "allow" and e.get("module") == "Leads"]
    assert allowed and {e["operation"] for e in allowed} <= {"query", "metadata"}  # SQL reads are `query`
    assert verify_audit_log(brokered.state / "audit.jsonl").ok


def test_dbapi_read_sql_and_duckdb_attach_work_through_the_broker(brokered: Brokered) -> None:
    import duckdb

    import connector.duckdb as zduck
    from connector.engine.dbapi import connect, read_sql

    text = brokered.connection("analytics")
    leads = len(export(brokered, "Leads"))
    with connect(text) as con:
        cur = con.cursor().execute("SELECT id FROM Leads WHERE Last_Name IS NOT NULL")
        assert len(cur.fetchall()) == sum(1 for r in export(brokered, "Leads") if r.get("Last_Name"))
    assert len(read_sql("SELECT id FROM Contacts", text)) == len(export(brokered, "Contacts"))
    db = duckdb.connect()
    att = zduck.attach(db, text, modules=["Leads"])
    try:
        assert db.sql("SELECT count(*) FROM zoho.Leads").fetchall() == [(leads,)]
    finally:
        att.close()
        db.close()


def test_writes_through_the_broker_and_what_the_policy_leaves_out(brokered: Brokered) -> None:
    with ZohoSession(brokered.connection("analytics")) as s:
        report = RestWriter(s).write("Leads", pa.table({"Last_Name": ["B1", "B2"], "Company": ["x", "y"]}))
        assert report.summary()["inserted"] == 2
        ids = report.record_ids()
        with pytest.raises(PermissionDenied, match="refused by the broker"):
            RestWriter(s).write("Leads", pa.table({"id": ids, "Company": ["z", "z"]}), operation="update")
    names = {r["Last_Name"] for r in export(brokered, "Leads")}
    assert {"B1", "B2"} <= names


def test_bulk_write_jobs_go_through_the_broker(brokered: Brokered) -> None:
    from connector.writers import BulkWriter

    rows = pa.table({"Last_Name": [f"Bulk{i}" for i in range(250)], "Company": ["k"] * 250})
    with ZohoSession(brokered.connection("loader")) as s:
        report = BulkWriter(s).write("Leads", rows)
        assert report.summary()["inserted"] == 250  # upload, job, polls and the result file, all via the broker
    with ZohoSession(brokered.connection("analytics")) as s, pytest.raises(PermissionDenied, match="bulk_write"):
        BulkWriter(s).write("Leads", rows)
    assert sum(r["Last_Name"].startswith("Bulk") for r in export(brokered, "Leads")) == 250
    uploads = [e for e in audit(brokered) if e["path"].endswith("/upload")]
    assert {(e["workspace"], e["decision"]) for e in uploads} == {("loader", "allow"), ("analytics", "deny")}


def test_a_write_only_workspace_cannot_read_by_claiming_a_purpose(brokered: Brokered) -> None:
    with ZohoSession(brokered.connection("scribe")) as s:
        assert RestWriter(s).write("Leads", [{"Last_Name": "W", "Company": "c"}]).summary()["inserted"] == 1
    key = brokered.keys["scribe"]["key"]
    before = brokered.counters()
    for purpose in ("insert:Leads", "insert:Leads;sql", "query;sql"):
        r = requests.get(f"{brokered.url}/crm/v8/Leads", params={"fields": "Email"}, timeout=30,
                         headers={"Authorization": f"Zoho-oauthtoken {key}", "X-Zohocrm-Purpose": purpose})
        assert r.status_code == 403 and r.json()["code"] == "BROKER_DENIED", (purpose, r.text)
    assert brokered.counters() == before


def test_a_dry_run_workspace_validates_but_never_writes(brokered: Brokered) -> None:
    before = len(export(brokered, "Leads"))
    with ZohoSession(brokered.connection("drafts", DryRun="true")) as s:
        report = RestWriter(s).write("Leads", pa.table({"Last_Name": ["D1"], "Company": ["x"]}))
        assert report.dry_run and report.summary()["total"] == 1
    with ZohoSession(brokered.connection("drafts")) as s, pytest.raises(PermissionDenied, match="dry-run only"):
        RestWriter(s).write("Leads", pa.table({"Last_Name": ["D2"], "Company": ["x"]}))
    assert len(export(brokered, "Leads")) == before


def test_a_workspace_of_another_org_is_refused(brokered: Brokered) -> None:
    assert "elsewhere" in brokered.service.refused
    before = brokered.counters()
    with ZohoSession(brokered.connection("elsewhere")) as s, pytest.raises(PermissionDenied, match="org 999000001"):
        s.http.get("/Leads")
    assert brokered.counters() == before


def test_unknown_and_revoked_keys_are_refused(brokered: Brokered) -> None:
    bad = f"Broker={brokered.url};BrokerKey=zb_{'x' * 43}"
    with ZohoSession(bad) as s, pytest.raises(AuthError, match="does not accept this workspace key"):
        s.http.get("/Leads")
    r = requests.get(f"{brokered.url}/crm/v8/Leads", timeout=30)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"
    assert all(brokered.keys["analytics"]["key"] not in line for line in (brokered.state / "keys.json").read_text())


def test_sealed_answers_open_only_with_the_workspace_keys(brokered: Brokered, tmp_path: Path) -> None:
    key_file = tmp_path / "sealed.key"
    key_file.write_text(json.dumps(brokered.keys["sealed"]))
    engine, session = engine_for(f"Broker={brokered.url};BrokerKeyFile={key_file}")
    with session:
        got = engine.run("SELECT count(*) AS n FROM Deals").reader.read_all().column("n")[0].as_py()
    assert got == len(export(brokered, "Deals"))
    raw = requests.get(f"{brokered.url}/crm/v8/org",
                       headers={"Authorization": f"Zoho-oauthtoken {brokered.keys['sealed']['key']}"}, timeout=30)
    assert raw.headers["Content-Type"] == ENVELOPE_TYPE and b"665000001" not in raw.content
    with ZohoSession(brokered.connection("sealed")) as s, pytest.raises(AuthError, match="no envelope keys"):
        s.http.get("/org")


def test_a_workspace_budget_stops_its_calls(brokered: Brokered) -> None:
    with ZohoSession(brokered.connection("thrifty")) as s:
        for _ in range(3):
            s.http.get("/Leads", params={"fields": "id", "per_page": 1})
        with pytest.raises(CreditBudgetReached, match="credit budget"):
            s.http.get("/Leads", params={"fields": "id", "per_page": 1})


def test_the_python_client_speaks_the_named_operations(brokered: Brokered) -> None:
    from connector.broker.client import BrokerClient

    with BrokerClient(brokered.url, key=brokered.keys["analytics"]["key"]) as crm:
        rows, token = crm.list_records("Leads", ["Last_Name", "Email"], per_page=5)
        assert len(rows) == 5 and token
        assert crm.get_record("Leads", rows[0]["id"])["id"] == rows[0]["id"]
        email = next(r["Email"] for r in export(brokered, "Leads") if r.get("Email"))
        assert any(r["Email"] == email for r in crm.search_records("Leads", f"(Email:equals:{email})"))
        assert crm.query("SELECT count(*) AS n FROM Accounts").column("n")[0].as_py() == \
            len(export(brokered, "Accounts"))
        assert crm.create_record("Leads", [{"Last_Name": "Py", "Company": "c"}]).summary()["inserted"] == 1
        with pytest.raises(PermissionDenied, match="refused by the broker"):
            crm.delete_record("Leads", [rows[0]["id"]])
        with pytest.raises(PermissionDenied, match="refused by the broker"):
            crm.get_record("Deals", rows[0]["id"])


def test_a_broker_connection_holds_no_zoho_secret(brokered: Brokered) -> None:
    with pytest.raises(ConfigError, match="holds no Zoho secret"):
        engine_for(brokered.connection("analytics", OAuthRefreshToken="1000.abc"))


CHILD = r"""
import gc, json, os, sys
import pyarrow as pa
import connector
from connector.engine.executor import engine_for
from connector.session import ZohoSession
from connector.writers import RestWriter

text = os.environ["ZOHOCRM_CONNECTION"]
engine, session = engine_for(text)
with session:
    print(engine.run("SELECT count(*) AS n FROM Leads").reader.read_all().column("n")[0].as_py())
result = connector.migrate(text, "duckdb:" + sys.argv[1], modules=["Leads", "Contacts"])
assert result.ok, result
with ZohoSession(text) as s:
    RestWriter(s).write("Leads", pa.table({"Last_Name": ["Child"], "Company": ["c"]}))
import time
time.sleep(1.1)  # rows changed in the very second a run starts are left for the next one (the signpost)
again = connector.migrate(text, "duckdb:" + sys.argv[1], modules=["Leads", "Contacts"], incremental=True)
assert again.ok and again.rows_written >= 1, again  # the incremental sync picks the new lead up
seen, strings = set(), set()
for obj in gc.get_objects():
    for ref in gc.get_referents(obj) + [obj]:
        if isinstance(ref, (str, bytes)) and id(ref) not in seen:
            seen.add(id(ref))
            strings.add(ref if isinstance(ref, str) else ref.decode("latin-1"))
with open(sys.argv[2], "w") as fh:
    json.dump(sorted(strings), fh)
"""


def test_a_process_with_only_a_workspace_key_queries_migrates_and_writes(brokered: Brokered, tmp_path: Path) -> None:
    import re

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHOCRM_CONNECTION")}
    env["ZOHOCRM_CONNECTION"] = brokered.connection("analytics")
    work = tmp_path / "child"
    work.mkdir()
    args = [sys.executable, "-c", CHILD, str(work / "crm.duckdb"), str(work / "strings.json")]
    p = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout.split()[0]) == len(export(brokered, "Leads")) - 1  # before its own write
    assert "Child" in {r["Last_Name"] for r in export(brokered, "Leads")}
    import duckdb

    with duckdb.connect(str(work / "crm.duckdb"), read_only=True) as db:
        assert db.sql("SELECT count(*) FROM Leads WHERE Last_Name = 'Child'").fetchall() == [(1,)]
    emu = brokered.emu
    secrets = [emu.client_secret, emu.refresh_token]
    token = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
    places = {"environment": "\n".join(f"{k}={v}" for k, v in env.items()), "arguments": " ".join(args),
              "output": p.stdout + p.stderr}
    for path in work.rglob("*"):
        if path.is_file():
            places[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    assert len(json.loads((work / "strings.json").read_text())) > 10_000  # the heap dump is real
    for where, text in places.items():
        assert not any(s in text for s in secrets), f"a Zoho secret in the child's {where}"
        assert not token.search(text), f"a Zoho token in the child's {where}"
    assert conn(emu)  # the broker's own connection does hold them: the check above can fail
    assert emu.client_secret in conn(emu)
