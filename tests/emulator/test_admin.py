"""``/__emulator/`` endpoints (stats, export, clock, reset, grant, config) and ``--data-dir`` persistence."""

from __future__ import annotations

import os
import stat

import requests

from connector.emulator import schema
from connector.emulator.tokens import READ_SCOPES
from tests.conftest import ZohoClient


def test_stats_count_calls_statuses_credits_and_tokens(private):
    before = private.emu.stats()
    private.get("/org")
    private.get("/org")
    private.get("/Leads", params={"fields": "Last_Name", "per_page": 3})
    private.get("/Leads")  # 400: fields missing
    private.mint()
    after = private.emu.stats()
    assert after["calls"]["org"] - before["calls"].get("org", 0) == 2
    assert after["calls"]["list_records"] - before["calls"].get("list_records", 0) == 2
    assert after["calls"]["token"] - before["calls"].get("token", 0) == 1
    assert after["statuses"]["400"] - before["statuses"].get("400", 0) == 1
    assert after["credits_used"] - before["credits_used"] == 4
    assert after["credits_remaining"] == private.emu.settings.credits - after["credits_used"]
    assert after["tokens_minted"] - before["tokens_minted"] == 1
    assert after["records_read"] - before["records_read"] == 3
    assert after["module_sizes"]["Leads"] > 0 and after["faults_injected"] == {}
    # the HTTP endpoint serves the same snapshot
    assert private.admin("GET", "stats").json()["tokens_minted"] == after["tokens_minted"]


def test_export_is_every_record_in_the_api_shape(zoho):
    rows = zoho.export("Accounts")
    assert len(rows) == zoho.admin("GET", "stats").json()["module_sizes"]["Accounts"]
    assert all(isinstance(r["id"], str) and r["id"].isdigit() for r in rows)
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    one = zoho.get(f"/Accounts/{rows[0]['id']}").json()["data"][0]
    assert {k: v for k, v in one.items() if not k.startswith("$")} == {
        k: v for k, v in rows[0].items() if not k.startswith("$")}
    lines = zoho.admin("GET", "export/Accounts", params={"format": "jsonl"}).text.splitlines()
    assert len(lines) == len(rows)
    r = zoho.admin("GET", "export/Acount")
    assert r.status_code == 404 and r.json()["code"] == "INVALID_MODULE"


def test_clock_moves_forward_only(private):
    start = private.admin("GET", "clock").json()
    moved = private.admin("POST", "clock", json={"advance_s": 3600}).json()
    assert moved["offset_s"] - start["offset_s"] == 3600
    assert moved["epoch_s"] - start["epoch_s"] >= 3600
    assert moved["now"][-6:] == "+05:30"  # rendered in the org user's time zone
    assert private.admin("POST", "clock", params={"advance_s": "60"}).json()["offset_s"] == 3660
    for bad in ({"advance_s": -1}, {"advance_s": "soon"}, {"advance_s": True}, [1]):
        r = private.admin("POST", "clock", json=bad)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    assert private.admin("GET", "clock").json()["offset_s"] == 3660


def test_reset_gives_a_fresh_org_and_keeps_credentials(private):
    emu = private.emu
    original = private.export("Tasks")
    ids = [int(r["id"]) for r in original[:5]]
    emu.app.store.delete_rows(schema.TASKS, ids, deleted_by=schema.ADMIN_USER.id, now=emu.app.clock.now_naive())
    assert len(private.export("Tasks")) == len(original) - 5
    emu.advance_clock(7200)
    r = private.admin("POST", "reset")
    assert r.status_code == 200 and r.json()["status"] == "reset"
    assert private.export("Tasks") == original
    stats = emu.stats()
    assert stats["clock_offset_s"] == 0 and stats["credits_used"] == 0 and stats["calls"] == {}
    assert private.get("/org").status_code == 200  # the access token still works
    private.token = private.mint()  # and so does the refresh token
    assert private.get("/Tasks", params={"fields": "Subject"}).status_code == 200


def test_grant_mints_scoped_credentials(private):
    emu = private.emu
    g = private.admin("POST", "grant", json={"scopes": "read"}).json()
    assert g["client_id"] == emu.client_id and g["scopes"] == list(READ_SCOPES)
    body = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": g["client_id"], "client_secret": g["client_secret"],
        "refresh_token": g["refresh_token"]}, timeout=30).json()
    assert body["scope"] == " ".join(READ_SCOPES)
    # the code is a self-client code: exchanged without a redirect_uri, it carries a refresh token
    body = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": g["client_id"], "client_secret": g["client_secret"],
        "code": g["code"]}, timeout=30).json()
    assert "refresh_token" in body and body["scope"] == " ".join(READ_SCOPES)
    new = private.admin("POST", "grant", json={"client": "new", "scopes": "ZohoCRM.org.READ"}).json()
    assert new["client_id"] != emu.client_id and new["client_secret"] != emu.client_secret
    wrong = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "refresh_token": new["refresh_token"]}, timeout=30).json()
    assert wrong == {"error": "invalid_code"}  # a refresh token works only with its own client
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": new["client_id"], "client_secret": new["client_secret"],
        "refresh_token": new["refresh_token"]}, timeout=30).json()
    assert r["scope"] == "ZohoCRM.org.READ"
    for bad in ({"scopes": ""}, {"user_id": "42"}, {"user_id": True}):
        assert private.admin("POST", "grant", json=bad).status_code == 400


def test_config_changes_knobs_at_run_time_all_or_nothing(private):
    cfg = private.admin("GET", "config").json()
    assert cfg["fault_rate"] == 0 and cfg["token_ttl_s"] == 3600
    new = private.admin("POST", "config", json={"token_ttl_s": 120, "index_lag_s": 30, "latency_ms": 0,
                                                "credits": 5000, "concurrency": 7}).json()
    assert (new["token_ttl_s"], new["index_lag_s"], new["credits"], new["concurrency"]) == (120, 30.0, 5000, 7)
    assert private.emu.stats()["credits_remaining"] == 5000 - private.emu.stats()["credits_used"]
    body = requests.post(f"{private.emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": private.emu.client_id,
        "client_secret": private.emu.client_secret, "refresh_token": private.emu.refresh_token}).json()
    assert body["expires_in"] == 120  # applies to tokens minted from now on
    for bad in ({"fault_rate": 2}, {"fault_kinds": ["500", "teapot"]}, {"credits": "many"},
                {"concurrency": 0}, {"no_such_knob": 1}, {"token_ttl_s": 1.5}, {"latency_ms": 5, "fault_rate": -1}):
        r = private.admin("POST", "config", json=bad)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA", bad
    assert private.admin("GET", "config").json() == new  # nothing of the bad calls stuck


def test_data_dir_keeps_org_and_credentials_across_restarts(make_emulator, tmp_path):
    first = make_emulator(records=120, seed=5, data_dir=str(tmp_path))
    z = ZohoClient(first)
    gone = int(z.export("Contacts")[0]["id"])
    first.app.store.delete_rows(schema.CONTACTS, [gone], deleted_by=schema.ADMIN_USER.id,
                                now=first.app.clock.now_naive())
    first.advance_clock(900)
    contacts = z.export("Contacts")
    creds = (first.client_id, first.client_secret, first.refresh_token)
    first.stop()
    state = tmp_path / "state.json"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600 and (tmp_path / "org.duckdb").exists()

    second = make_emulator(records=999, seed=99, data_dir=str(tmp_path))  # what is on disk wins
    assert (second.client_id, second.client_secret, second.refresh_token) == creds
    z.emu, z.base = second, f"{second.api_domain}/crm/v8"
    assert z.get("/org").status_code == 200  # the access token survived the restart
    z.token = z.mint()  # and the refresh token works
    assert z.export("Contacts") == contacts and gone not in {int(r["id"]) for r in contacts}
    assert second.stats()["clock_offset_s"] >= 900
    assert second.info()["records"] == first.info()["records"]


def test_bulk_page_size_is_configurable_within_zohos_limit(make_emulator):
    import requests

    emu = make_emulator(records=100)
    r = requests.post(f"{emu.origin}/__emulator/config", json={"bulk_page_size": 50}, timeout=10)
    assert r.status_code == 200 and r.json()["bulk_page_size"] == 50
    r = requests.post(f"{emu.origin}/__emulator/config", json={"bulk_page_size": 200_001}, timeout=10)
    assert r.status_code == 400
    assert requests.get(f"{emu.origin}/__emulator/config", timeout=10).json()["bulk_page_size"] == 50
