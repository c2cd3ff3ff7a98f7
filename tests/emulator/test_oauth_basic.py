"""Accounts server basics: token JSON, header rules, expiry (the full OAuth suite is test_oauth.py)."""

from __future__ import annotations

from tests.conftest import ZohoClient


def test_token_json_shape(emulator):
    z = ZohoClient(emulator)
    r = z.http.post(f"{emulator.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": emulator.client_id,
        "client_secret": emulator.client_secret, "refresh_token": emulator.refresh_token})
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["api_domain"] == emulator.api_domain
    assert body["access_token"].startswith("1000.")


def test_bearer_prefix_is_rejected(zoho):
    r = zoho.http.get(f"{zoho.base}/org", headers={"Authorization": f"Bearer {zoho.token}"})
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    r = zoho.http.get(f"{zoho.base}/org")
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    r = zoho.http.get(f"{zoho.base}/org", headers={"Authorization": "Zoho-oauthtoken 1000.bad.token"})
    assert r.status_code == 401 and r.json() == {"code": "INVALID_TOKEN", "details": {},
                                                 "message": "invalid oauth token", "status": "error"}


def test_access_token_expires(make_emulator):
    emu = make_emulator(records=100, token_ttl_s=60)
    z = ZohoClient(emu)
    assert z.get("/org").status_code == 200
    emu.advance_clock(61)
    r = z.get("/org")
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"
