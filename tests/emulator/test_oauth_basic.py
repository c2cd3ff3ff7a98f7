"""The CRM side of OAuth: the Authorization header, INVALID_TOKEN, expiry and scopes
(oauth-and-regions.md sections 8, 11 and 12). The accounts server itself is test_oauth.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.emulator import Emulator
from tests.conftest import ZohoClient

INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
AUTH_FAILURE = {"code": "AUTHENTICATION_FAILURE", "details": {}, "message": "Authentication failed",
                "status": "error"}
SCOPE_MISMATCH = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope to access this URL",
                  "status": "error"}


def test_token_json_shape(make_emulator):
    emu = make_emulator(records=30)  # a private org: the shared one's minting budget is for the read tests
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": emu.client_id,
        "client_secret": emu.client_secret, "refresh_token": emu.refresh_token}, timeout=30)
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["api_domain"] == emu.api_domain
    assert body["access_token"].startswith("1000.")


def test_bearer_prefix_is_rejected(zoho):
    r = zoho.http.get(f"{zoho.base}/org", headers={"Authorization": f"Bearer {zoho.token}"})
    assert r.status_code == 401 and r.json() == AUTH_FAILURE
    r = zoho.http.get(f"{zoho.base}/org")
    assert r.status_code == 401 and r.json() == AUTH_FAILURE
    r = zoho.http.get(f"{zoho.base}/org", headers={"Authorization": "Zoho-oauthtoken "})
    assert r.status_code == 401 and r.json() == AUTH_FAILURE
    r = zoho.http.get(f"{zoho.base}/org", headers={"Authorization": "Zoho-oauthtoken 1000.bad.token"})
    assert r.status_code == 401 and r.json() == INVALID_TOKEN


def test_token_in_the_query_string_is_not_accepted(zoho):
    # Tokens travel only in the header (section 8).
    r = zoho.http.get(f"{zoho.base}/org", params={"access_token": zoho.token})
    assert r.status_code == 401 and r.json() == AUTH_FAILURE


def test_access_token_expires(make_emulator):
    emu = make_emulator(records=100, token_ttl_s=60)
    z = ZohoClient(emu)
    assert z.get("/org").status_code == 200
    emu.advance_clock(61)
    r = z.get("/org")
    assert r.status_code == 401 and r.json() == INVALID_TOKEN
    z.token = z.mint()  # refresh and retry once: what the docs tell a client to do
    assert z.get("/org").status_code == 200


def test_revoked_and_foreign_tokens_are_invalid_token(make_emulator):
    emu = make_emulator(records=30)
    z = ZohoClient(emu)
    other = ZohoClient(make_emulator(records=30, seed=emu.settings.seed))  # same data, other data center
    r = requests.get(f"{z.base}/org", headers=other.headers(), timeout=30)
    assert r.status_code == 401 and r.json() == INVALID_TOKEN
    assert z.get("/org").status_code == 200
    revoke = requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", data={"token": z.token}, timeout=30)
    assert revoke.json() == {"status": "success"}
    r = z.get("/org")
    assert r.status_code == 401 and r.json() == INVALID_TOKEN


# -- scopes -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scoped_org() -> Iterator[Emulator]:
    # Private: every grant adds a refresh token for the admin user (20 at most per user).
    with Emulator(records=100, seed=3) as emu:
        yield emu


def _token_with(emu: Emulator, scopes: str) -> ZohoClient:
    grant = requests.post(f"{emu.origin}/__emulator/grant", json={"scopes": scopes}, timeout=30).json()
    return ZohoClient(emu, refresh_token=grant["refresh_token"])


SCOPE_CASES = [
    # (granted scopes, path, query, allowed)
    ("ZohoCRM.modules.READ", "/Leads", {"fields": "Last_Name"}, True),
    ("ZohoCRM.modules.READ", "/settings/fields", {"module": "Leads"}, False),
    ("ZohoCRM.modules.READ", "/settings/modules", {}, False),
    ("ZohoCRM.modules.READ", "/org", {}, False),
    ("ZohoCRM.modules.READ", "/users", {"type": "AllUsers"}, False),
    ("ZohoCRM.modules.leads.READ", "/Leads", {"fields": "Last_Name"}, True),
    ("ZohoCRM.modules.leads.READ", "/Contacts", {"fields": "Last_Name"}, False),
    ("ZohoCRM.modules.leads.ALL", "/Leads", {"fields": "Last_Name"}, True),
    ("ZohoCRM.modules.custom.READ", "/Projects", {"fields": "Name"}, True),
    ("ZohoCRM.modules.custom.READ", "/Leads", {"fields": "Last_Name"}, False),
    ("ZohoCRM.modules.CREATE", "/Leads", {"fields": "Last_Name"}, False),
    ("ZohoCRM.settings.fields.READ", "/settings/fields", {"module": "Leads"}, True),
    ("ZohoCRM.settings.ALL", "/settings/modules", {}, True),
    ("ZohoCRM.org.READ", "/org", {}, True),
    ("ZohoCRM.org.READ", "/users", {"type": "AllUsers"}, False),
    ("ZohoCRM.users.READ", "/users", {"type": "AllUsers"}, True),
    ("zohocrm.org.read", "/org", {}, True),  # scope names are case-insensitive in practice
]


@pytest.mark.parametrize(("scopes", "path", "query", "allowed"), SCOPE_CASES,
                         ids=[f"{s}:{p}" for s, p, _, _ in SCOPE_CASES])
def test_scopes_are_enforced(scoped_org, scopes, path, query, allowed):
    z = _token_with(scoped_org, scopes)
    r = z.get(path, params=query)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 401 and r.json() == SCOPE_MISMATCH
