"""What the broker sends back: Zoho's bytes as they came (a page is not even decoded), except the
download URLs of Bulk Write results, which it points through itself; each call audited."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pytest
import requests

from connector.api.bulk import download_write_result
from connector.http.audit import verify_audit_log
from connector.session import ZohoSession
from connector.writers import BulkWriter
from tests.broker.conftest import Brokered
from tests.http.support import conn


def audit(b: Brokered) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (b.state / "audit.jsonl").read_text().splitlines()]


def test_a_page_goes_through_as_zoho_sent_it_and_the_broker_never_decodes_it(
        brokered: Brokered, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[bytes] = []  # what "Zoho" answered the broker, read off the broker's own session
    upstream = brokered.service.served["analytics"].session.http.session
    monkeypatch.setattr(upstream, "hooks", {"response": [lambda r, *a, **kw: sent.append(r.content)]})
    decoded_by: list[str] = []
    real_json = requests.Response.json
    monkeypatch.setattr(requests.Response, "json", lambda self, **kw: (
        decoded_by.append(threading.current_thread().name), real_json(self, **kw))[1])
    key = brokered.keys["analytics"]["key"]
    pages = []
    for params in ({"fields": "Last_Name,Email,Company", "per_page": 40},
                   {"fields": "Last_Name", "per_page": 200, "page_token": None}):
        got = requests.get(f"{brokered.url}/crm/v8/Leads", params=params, timeout=30,
                           headers={"Authorization": f"Zoho-oauthtoken {key}"})
        assert got.status_code == 200 and got.content == sent[-1]  # byte for byte
        pages.append(len(json.loads(got.content)["data"]))
    assert decoded_by == []  # neither page was decoded on its way through
    lines = [e for e in audit(brokered) if e["path"].endswith("/crm/v8/Leads")]
    assert pages[0] == 40 and pages[1] > 40  # the whole module (under 200 Leads) on the second
    assert [(e["workspace"], e["decision"], e["operation"], e["records"], e["rows"]) for e in lines] == [
        ("analytics", "allow", "list_records", n, n) for n in pages]
    assert verify_audit_log(brokered.state / "audit.jsonl").ok


def test_bulk_write_results_point_their_download_through_the_broker(brokered: Brokered, tmp_path: Path) -> None:
    rows = pa.table({"Last_Name": [f"Dl{i}" for i in range(30)], "Company": ["k"] * 30})
    with ZohoSession(brokered.connection("loader")) as s:
        assert BulkWriter(s).write("Leads", rows).summary()["inserted"] == 30
    jobs = {urlsplit(e["path"]).path for e in audit(brokered)
            if "/crm/bulk/v8/write/" in e["path"] and e["method"] == "GET"}
    assert len(jobs) == 1
    job_path = jobs.pop()
    key = {"Authorization": f"Zoho-oauthtoken {brokered.keys['loader']['key']}"}
    job = requests.get(brokered.url + job_path, headers=key, timeout=30)
    assert job.status_code == 200 and brokered.emu.origin.encode() not in job.content
    url = job.json()["result"]["download_url"]
    assert url.startswith(f"{brokered.url}/__broker/download/")
    via_broker = requests.get(url, headers=key, timeout=30)
    with ZohoSession(conn(brokered.emu, OAuthSettingsLocation=str(tmp_path / "t.sealed"))) as direct:
        zoho_url = direct.http.get(job_path, base="root").body["result"]["download_url"]
        assert zoho_url.startswith(brokered.emu.origin)
        expected = download_write_result(direct.http, zoho_url)
    assert via_broker.status_code == 200 and via_broker.content == expected and expected[:2] == b"PK"
    assert requests.get(url, timeout=30).status_code == 401  # the rewritten URL still needs the workspace key
