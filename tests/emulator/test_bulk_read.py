"""Bulk Read over HTTP: create/status/download life cycle, every error case, paging.

The CSV's content (round trip against the export, criteria, the zip writer) is in
test_bulk_read_csv.py.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from connector.emulator import schema
from tests.conftest import ZohoClient, client_fixture, org_fixture
from tests.emulator.bulk_read_client import (
    BULK_JOB_KEYS,
    create,
    download,
    err,
    grant_client,
    run_job,
    wait_state,
)

bulk_emu = org_fixture("A private org for this module: jobs and downloads here never touch the shared org's limits.",
                       records=900, seed=11, downloads_per_minute=10_000)
bz = client_fixture("bulk_emu")


# -- create ------------------------------------------------------------------------------------


def test_create_answers_201_with_the_documented_shape_and_costs_50_credits(bz, bulk_emu):
    before = bulk_emu.stats()["credits_used"]
    r = create(bz, {"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Email"]})
    after = bulk_emu.stats()["credits_used"]
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"data", "info"} and body["info"] == {}
    item = body["data"][0]
    assert (item["status"], item["code"], item["message"]) == ("success", "ADDED_SUCCESSFULLY", "Added successfully.")
    d = item["details"]
    assert d["operation"] == "read" and d["state"] == "ADDED" and d["id"].isdigit() and len(d["id"]) == 19
    assert d["created_by"] == {"id": str(schema.ADMIN_USER.id), "name": schema.ADMIN_USER.full_name}
    assert d["created_time"].endswith("+05:30")
    assert after - before == 50


def test_content_type_must_be_json(bz):
    r = bz.post("/read", base=bz.bulk, data=json.dumps({"query": {"module": {"api_name": "Leads"}}}),
                headers={"Content-Type": "text/plain"})
    err(r, 415, "MEDIA_TYPE_NOT_SUPPORTED")


@pytest.mark.parametrize(("body", "code"), [
    (b"", "REQUEST_BODY_IS_EMPTY"),
    (b"{not json", "REQUEST_BODY_NOT_READABLE"),
    (b"[1, 2]", "INVALID_DATA"),
    (b"{}", "MANDATORY_NOT_FOUND"),
    (b'{"query": []}', "INVALID_DATA"),
    (b'{"query": {}}', "MANDATORY_NOT_FOUND"),
])
def test_body_errors(bz, body, code):
    r = bz.post("/read", base=bz.bulk, data=body, headers={"Content-Type": "application/json"})
    err(r, 400, code)


@pytest.mark.parametrize(("module", "code"), [
    ("Lead", "INVALID_MODULE"), ("Reports", "MODULE_NOT_SUPPORTED"), ("Notes", "MODULE_NOT_SUPPORTED"),
])
def test_module_errors(bz, module, code):
    details = err(create(bz, {"module": {"api_name": module}}), 400, code)
    assert details["api_name"] == module


@pytest.mark.parametrize(("module", "field", "code"), [
    ("Leads", "No_Such_Field", "FIELD_NOT_AVAILABLE"),
    ("Projects", "Milestones", "FIELD_NOT_SUPPORTED"),  # subform: export Project_Milestones instead
    ("Projects", "Contract", "FIELD_NOT_SUPPORTED"),  # fileupload
    ("Deals", "Competitors", "FIELD_NOT_SUPPORTED"),  # multi-select lookup
    ("Contacts", "Email.Domain", "FIELD_NOT_SUPPORTED"),  # dot notation only through a lookup
    ("Contacts", "Account_Name.Parent_Account.Account_Name", "FIELD_NOT_SUPPORTED"),  # one level only
    ("Contacts", "Account_Name.Nope", "FIELD_NOT_AVAILABLE"),
    ("Contacts", "Owner.shoe_size", "FIELD_NOT_AVAILABLE"),
])
def test_field_errors(bz, module, field, code):
    details = err(create(bz, {"module": {"api_name": module}, "fields": ["id", field]}), 400, code)
    assert details["api_name"] == field and details["module"] == module


@pytest.mark.parametrize(("query", "code"), [
    ({"page": 0}, "INVALID_DATA"), ({"page": "1"}, "INVALID_DATA"), ({"page": True}, "INVALID_DATA"),
    ({"page": 51}, "PAGE_RANGE_EXCEEDED"), ({"page": 1, "page_token": "x"}, "AMBIGUITY_DURING_PROCESSING"),
    ({"page_token": "garbage.token"}, "INVALID_DATA"), ({"cvid": 5843104000000091001}, "INVALID_DATA"),
    ({"fields": "Last_Name"}, "INVALID_DATA"),
])
def test_query_errors(bz, query, code):
    details = err(create(bz, {"module": {"api_name": "Leads"}, **query}), 400, code)
    if code == "PAGE_RANGE_EXCEEDED":
        assert details == {"max_limit": 50}


@pytest.mark.parametrize(("extra", "code"), [
    ({"callback": {"url": "not a url", "method": "post"}}, "INVALID_CALLBACK_URL"),
    ({"callback": {"url": "https://app.example.com/cb", "method": "get"}}, "INVALID_CALLBACK_METHOD"),
    ({"callback": {"url": "https://app.example.com/cb"}}, "INVALID_CALLBACK_METHOD"),
    ({"file_type": "ics"}, "INVALID_DATA"),
])
def test_callback_and_file_type_errors(bz, extra, code):
    details = err(create(bz, {"module": {"api_name": "Leads"}}, **extra), 400, code)
    if code == "INVALID_CALLBACK_METHOD":
        assert details == {"supported_callback_methods": ["post"]}


@pytest.mark.parametrize(("scopes", "status"), [
    ("ZohoCRM.modules.ALL", 401),  # no bulk scope
    ("ZohoCRM.bulk.READ", 401),  # no module scope
    ("ZohoCRM.bulk.read,ZohoCRM.modules.leads.READ", 201),  # the docs' spelling, case-insensitive
    ("ZohoCRM.bulk.ALL,ZohoCRM.modules.READ", 201),
])
def test_scopes(bulk_emu, scopes, status):
    z = grant_client(bulk_emu, scopes)
    r = create(z, {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]})
    assert r.status_code == status, r.text
    if status == 401:
        assert r.json()["code"] == "OAUTH_SCOPE_MISMATCH"


# -- status and download ------------------------------------------------------------------------


def test_status_shape_and_relative_download_url(bz):
    r = create(bz, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Owner"]})
    job = wait_state(bz, r.json()["data"][0]["details"]["id"])
    assert set(job) >= BULK_JOB_KEYS and job["state"] == "COMPLETED" and job["file_type"] == "csv"
    assert job["query"]["module"] == {"id": str(schema.ACCOUNTS.module_id), "api_name": "Accounts"}
    assert job["query"]["fields"] == ["Account_Name", "Owner"] and job["query"]["page"] == 1
    res = job["result"]
    # a last page carries no next_page_token at all (Zoho's v8 sample of a completed last page)
    assert set(res) == {"page", "per_page", "count", "download_url", "more_records"}
    assert res["per_page"] == 200_000 and res["more_records"] is False
    assert res["download_url"] == f"/crm/bulk/v8/read/{job['id']}/result"
    assert res["count"] == len(bz.export("Accounts"))
    d = bz.get(res["download_url"], base=bz.emu.api_domain)
    assert d.status_code == 200
    assert d.headers["Content-Type"] == "application/x-download"
    assert f"{job['id']}.zip" in d.headers["Content-Disposition"]


def test_unknown_job_is_404_on_status_and_400_on_download(bz):
    assert err(bz.get("/read/5843104000009999999", base=bz.bulk), 404, "RESOURCE_NOT_FOUND") == {
        "resource": "5843104000009999999"}
    err(bz.get("/read/5843104000009999999/result", base=bz.bulk), 400, "RESOURCE_NOT_FOUND")
    err(bz.get("/read/not-a-job", base=bz.bulk), 404, "RESOURCE_NOT_FOUND")


def test_v7_path_is_served(bz):
    r = bz.post("/read", base=bz.bulk.replace("/v8", "/v7"), json={"query": {"module": {"api_name": "Tasks"}}})
    assert r.status_code == 201, r.text


def test_states_queue_and_snapshot_at_start(make_emulator):
    emu = make_emulator(records=300, bulk_rows_per_s=0.1)  # minutes per job: only the clock moves it
    z = ZohoClient(emu)
    n_acc = len(z.export("Accounts"))
    j1 = create(z, {"module": {"api_name": "Accounts"}}).json()["data"][0]["details"]["id"]
    j2 = create(z, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]}).json()["data"][0]["details"]["id"]
    assert wait_state(z, j1, ("IN PROGRESS",))["state"] == "IN PROGRESS"
    # One job at a time per org: the second waits while the first runs.
    assert wait_state(z, j2, ("ADDED",), timeout=0)["state"] == "ADDED"
    err(z.get(f"/read/{j1}/result", base=z.bulk), 400, "RESOURCE_NOT_FOUND")  # not finished yet
    # A record written now lands before job 2 starts, so job 2's snapshot has it and job 1's has not.
    r = z.post("/Accounts", json={"data": [{"Account_Name": "Snapshot Test GmbH"}], "trigger": []})
    assert r.status_code == 201, r.text
    emu.advance_clock(n_acc / 0.1 + 1)
    first = wait_state(z, j1)
    assert first["state"] == "COMPLETED" and first["result"]["count"] == n_acc
    assert wait_state(z, j2, ("IN PROGRESS",))["state"] == "IN PROGRESS"
    emu.advance_clock((n_acc + 1) / 0.1 + 1)
    second = wait_state(z, j2)
    assert second["state"] == "COMPLETED" and second["result"]["count"] == n_acc + 1
    _, rows = download(z, j2)
    assert "Snapshot Test GmbH" in {row[1] for row in rows}


def test_a_queued_job_starts_when_the_one_before_ends_without_anyone_asking(make_emulator):
    from connector.emulator.bulk_read import queue_of

    emu = make_emulator(records=300)
    z = ZohoClient(emu)
    j1 = create(z, {"module": {"api_name": "Accounts"}}).json()["data"][0]["details"]["id"]
    j2 = create(z, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]}).json()["data"][0]["details"]["id"]
    q = queue_of(emu.app)
    # no request about any job from here: Zoho runs the org's queue on its own, so job 2's export is made
    # once job 1's time is up (before, it waited for the next request to look at the queue)
    q.jobs[int(j2)].done.wait()
    assert q.jobs[int(j1)].state == "COMPLETED" and q.jobs[int(j2)].started_at == q.jobs[int(j1)].finish_at
    assert wait_state(z, j2)["state"] == "COMPLETED"


def test_eleventh_download_in_a_minute_is_429_and_results_expire_after_a_day(make_emulator):
    emu = make_emulator(records=200)
    z = ZohoClient(emu)
    job = wait_state(z, create(z, {"module": {"api_name": "Tasks"}}).json()["data"][0]["details"]["id"])
    for _ in range(10):
        assert z.get(f"/read/{job['id']}/result", base=z.bulk).status_code == 200
    r = z.get(f"/read/{job['id']}/result", base=z.bulk)
    assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS"
    emu.advance_clock(61)
    assert z.get(f"/read/{job['id']}/result", base=z.bulk).status_code == 200
    emu.advance_clock(86_400)
    z.token = z.mint()  # access tokens live an hour
    err(z.get(f"/read/{job['id']}/result", base=z.bulk), 400, "RESOURCE_NOT_FOUND")


def test_callback_is_posted_when_the_job_completes(bz):
    got: list[dict[str, Any]] = []
    arrived = threading.Event()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cb"
        r = create(bz, {"module": {"api_name": "Tasks"}}, callback={"url": url, "method": "post"})
        assert r.status_code == 201, r.text
        assert arrived.wait(30)
    finally:
        server.server_close()
    assert got[0]["job_id"] == r.json()["data"][0]["details"]["id"]
    assert got[0]["state"] == "COMPLETED" and got[0]["result"]["count"] > 0


# -- paging ------------------------------------------------------------------------------------


def test_paging_with_page_and_page_token(make_emulator):
    emu = make_emulator(records=200, sizes={"Leads": 2500})
    emu.app.state["bulk_page_size"] = 1000  # the real default stays 200,000
    z = ZohoClient(emu)
    query = {"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Email"]}
    seen: list[int] = []
    token = None
    for expected in (1000, 1000, 500):
        q = dict(query, page_token=token) if token else query
        job, header, rows = run_job(z, q)
        res = job["result"]
        assert res["count"] == expected == len(rows) and res["per_page"] == 1000
        assert res["more_records"] is (expected == 1000)
        ids = [int(r[0]) for r in rows]
        assert ids == sorted(ids)
        seen += ids
        token = res.get("next_page_token")
        assert ("next_page_token" in res) is (expected == 1000) and (token is None) is (expected == 500)
    assert sorted(seen) == sorted(int(r["id"]) for r in z.export("Leads")) and len(set(seen)) == 2500
    _, _, rows2 = run_job(z, dict(query, page=2))
    assert [int(r[0]) for r in rows2] == seen[1000:2000]
    # The token is bound to its query and lives 24 hours.
    first, _, _ = run_job(z, query)
    tok = first["result"]["next_page_token"]
    err(create(z, {"module": {"api_name": "Leads"}, "fields": ["Last_Name"], "page_token": tok}), 400,
        "TOKEN_BOUND_DATA_MISMATCH")
    emu.advance_clock(86_401)
    z.token = z.mint()
    err(create(z, dict(query, page_token=tok)), 400, "EXPIRED_VALUE")


def test_counters_give_the_jobs_finished_and_the_seconds_zoho_spent_on_them(make_emulator):
    # One job of n rows takes max(0.2, n / bulk_rows_per_s) virtual seconds, jobs of an org one after another:
    # the part of a load no client can shorten, which benchmarks/latency.py builds its lower bound on.
    emu = make_emulator(records=900, seed=11, bulk_rows_per_s=1_000)
    z = ZohoClient(emu)
    assert emu.stats()["bulk_jobs"] == {}
    sizes = []
    for module in ("Contacts", "Leads"):
        _, _, rows = run_job(z, {"module": {"api_name": module}, "fields": ["Last_Name"]})
        sizes.append(len(rows))
    seen = emu.stats()["bulk_jobs"]["bulk_read"]
    assert seen["jobs"] == 2
    assert seen["seconds"] == pytest.approx(sum(max(0.2, n / 1_000) for n in sizes), abs=0.002)
