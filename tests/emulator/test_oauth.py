"""The accounts server as a client written from Zoho's docs sees it (oauth-and-regions.md sections 3-10).

Every test gets a private emulator: token limits and the clock are per instance.
Header rules and scopes on the CRM side are in test_oauth_basic.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from connector.emulator import Emulator, schema
from connector.emulator.tokens import parse_scopes

CALLBACK = "http://127.0.0.1:8765/callback"  # loopback: any port is accepted
THROTTLE_BODY = {"error_description": "You have made too many requests continuously. Please try again after "
                 "some time.", "error": "Access Denied", "status": "failure"}


def token_call(emu: Emulator, *, in_query: bool = False, **params: Any) -> dict[str, Any]:
    url = f"{emu.accounts_url}/oauth/v2/token"
    r = requests.post(url, params=params, timeout=30) if in_query else requests.post(url, data=params, timeout=30)
    assert r.status_code == 200, r.text  # token errors are HTTP 200 as well (section 6)
    return dict(r.json())


def refresh(emu: Emulator, refresh_token: str | None = None, **over: Any) -> dict[str, Any]:
    params = {"grant_type": "refresh_token", "client_id": emu.client_id, "client_secret": emu.client_secret,
              "refresh_token": refresh_token or emu.refresh_token}
    params.update(over)
    return token_call(emu, **params)


def consent(emu: Emulator, **over: Any) -> requests.Response:
    params = {"client_id": emu.client_id, "response_type": "code", "redirect_uri": CALLBACK,
              "scope": "ZohoCRM.modules.ALL,ZohoCRM.org.READ", "access_type": "offline", "state": "xyz 1/2"}
    params.update(over)
    return requests.get(f"{emu.accounts_url}/oauth/v2/auth", params=params, allow_redirects=False, timeout=30)


def redirect_params(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    loc = urlsplit(resp.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(loc.query).items()}


def exchange(emu: Emulator, code: str, **over: Any) -> dict[str, Any]:
    params = {"grant_type": "authorization_code", "client_id": emu.client_id,
              "client_secret": emu.client_secret, "redirect_uri": CALLBACK, "code": code}
    params.update(over)
    return token_call(emu, **params)


def org_status(emu: Emulator, access_token: str) -> int:
    r = requests.get(f"{emu.api_domain}/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
                     timeout=30)
    return r.status_code


def admin_grant(emu: Emulator, **body: Any) -> dict[str, Any]:
    r = requests.post(f"{emu.origin}/__emulator/grant", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
def emu(make_emulator: Any) -> Emulator:
    return make_emulator(records=60)


# -- token endpoint: success ------------------------------------------------------------

@pytest.mark.parametrize("in_query", [False, True], ids=["form-body", "query-string"])
def test_parameters_come_from_form_body_or_query_string(emu, in_query):
    body = token_call(emu, in_query=in_query, grant_type="refresh_token", client_id=emu.client_id,
                      client_secret=emu.client_secret, refresh_token=emu.refresh_token)
    assert org_status(emu, body["access_token"]) == 200


def test_code_exchange_answers_the_documented_token_json(emu):
    got = redirect_params(consent(emu, scope="ZohoCRM.modules.ALL,ZohoCRM.org.READ"))
    body = exchange(emu, got["code"])
    assert set(body) == {"access_token", "refresh_token", "scope", "api_domain", "token_type", "expires_in"}
    assert body["scope"] == "ZohoCRM.modules.ALL ZohoCRM.org.READ"  # space-separated in the answer
    assert body["expires_in"] == 3600 and "expires_in_sec" not in body
    assert body["token_type"] == "Bearer" and body["api_domain"] == emu.api_domain
    for tok in (body["access_token"], body["refresh_token"]):
        prefix, a, b = tok.split(".")
        assert prefix == "1000" and int(a, 16) >= 0 and int(b, 16) >= 0
    # the refresh grant answers the same shape without a refresh token, and does not rotate it
    again = refresh(emu, body["refresh_token"])
    assert set(again) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert org_status(emu, again["access_token"]) == 200 and org_status(emu, body["access_token"]) == 200


def test_online_access_gives_no_refresh_token(emu):
    body = exchange(emu, redirect_params(consent(emu, access_type="online"))["code"])
    assert "refresh_token" not in body and org_status(emu, body["access_token"]) == 200
    body = exchange(emu, redirect_params(consent(emu, access_type=None))["code"])  # online is the default
    assert "refresh_token" not in body


def test_repeat_consent_gives_a_refresh_token_only_with_prompt_consent(emu):
    first = exchange(emu, redirect_params(consent(emu))["code"])
    assert "refresh_token" in first
    repeat = exchange(emu, redirect_params(consent(emu))["code"])
    assert "refresh_token" not in repeat and org_status(emu, repeat["access_token"]) == 200
    forced = exchange(emu, redirect_params(consent(emu, prompt="consent"))["code"])
    assert "refresh_token" in forced and forced["refresh_token"] != first["refresh_token"]
    # once every refresh token from consent is revoked, the next offline grant issues one again
    for rt in (first["refresh_token"], forced["refresh_token"]):
        assert requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", data={"token": rt}).json() == {
            "status": "success"}
    assert "refresh_token" in exchange(emu, redirect_params(consent(emu))["code"])


def test_client_credentials_needs_the_org_as_soid(emu):
    base = {"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
            "scope": "ZohoCRM.org.READ,ZohoCRM.modules.READ"}
    body = token_call(emu, in_query=True, soid=f"ZohoCRM.{schema.ORG.id}", **base)
    assert set(body) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert body["scope"] == "ZohoCRM.org.READ ZohoCRM.modules.READ"
    assert org_status(emu, body["access_token"]) == 200
    assert token_call(emu, **base) == {"error": "missing_org_info"}
    assert token_call(emu, soid="ZohoCRM.123", **base) == {"error": "missing_org_info"}
    assert token_call(emu, soid=f"ZohoCRM.{schema.ORG.id}", **{**base, "client_secret": "x"}) == {
        "error": "invalid_client_secret"}


# -- token endpoint: errors (HTTP 200 with an error body) ---------------------------------

def _used_code(emu: Emulator) -> dict[str, Any]:
    code = redirect_params(consent(emu))["code"]
    assert "access_token" in exchange(emu, code)
    return exchange(emu, code)


def _expired_code(emu: Emulator) -> dict[str, Any]:
    code = redirect_params(consent(emu))["code"]
    emu.advance_clock(181)  # codes live 3 minutes
    return exchange(emu, code)


def _revoked_refresh(emu: Emulator) -> dict[str, Any]:
    rt = admin_grant(emu)["refresh_token"]
    requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", params={"token": rt}, timeout=30)
    return refresh(emu, rt)


def _other_data_center(emu: Emulator) -> dict[str, Any]:
    with Emulator(records=30, seed=emu.settings.seed) as other:  # same data, other data center
        return refresh(other, emu.refresh_token, client_id=emu.client_id, client_secret=emu.client_secret)


TOKEN_ERRORS = {
    "wrong code": (lambda emu: exchange(emu, "1000.abc.def"), "invalid_code"),
    "used code": (_used_code, "invalid_code"),
    "expired code": (_expired_code, "invalid_code"),
    "unknown refresh token": (lambda emu: refresh(emu, "1000.0.0"), "invalid_code"),
    "revoked refresh token": (_revoked_refresh, "invalid_code"),
    "unknown client": (lambda emu: refresh(emu, client_id="1000.NOSUCHCLIENT"), "invalid_client"),
    "another data center's client": (_other_data_center, "invalid_client"),
    "wrong secret": (lambda emu: refresh(emu, client_secret="nope"), "invalid_client_secret"),
    "redirect mismatch": (lambda emu: exchange(emu, redirect_params(consent(emu))["code"],
                                               redirect_uri="http://127.0.0.1:9/other"), "invalid_redirect_uri"),
    "unknown grant type": (lambda emu: refresh(emu, grant_type="password"), "unsupported_grant_type"),
}


@pytest.mark.parametrize("case", list(TOKEN_ERRORS))
def test_token_errors_are_http_200_with_an_error_key(emu, case):
    make, expected = TOKEN_ERRORS[case]
    assert make(emu) == {"error": expected}


def test_code_still_works_just_before_it_expires(emu):
    code = redirect_params(consent(emu))["code"]
    emu.advance_clock(170)
    assert "access_token" in exchange(emu, code)


def test_ten_access_tokens_per_refresh_token_per_ten_minutes(emu):
    for _ in range(10):
        assert "access_token" in refresh(emu)
    assert refresh(emu) == THROTTLE_BODY
    other = admin_grant(emu)["refresh_token"]  # the limit is per refresh token
    assert "access_token" in refresh(emu, other)
    emu.advance_clock(600)
    assert "access_token" in refresh(emu)
    assert emu.stats()["token_requests_throttled"] == 1


def test_sixteenth_live_access_token_kills_the_oldest(emu):
    tokens = [refresh(emu)["access_token"] for _ in range(10)]
    emu.advance_clock(601)  # past the minting window, well inside the 1 h lifetime
    tokens += [refresh(emu)["access_token"] for _ in range(5)]
    assert all(org_status(emu, t) == 200 for t in tokens)  # 15 live
    tokens.append(refresh(emu)["access_token"])
    assert org_status(emu, tokens[0]) == 401
    assert all(org_status(emu, t) == 200 for t in tokens[1:])


def test_twenty_first_refresh_token_of_a_user_deletes_the_oldest(emu):
    at = refresh(emu)["access_token"]
    grants = [admin_grant(emu)["refresh_token"] for _ in range(19)]  # 20 live with the emulator's own
    assert "access_token" in refresh(emu)
    grants.append(admin_grant(emu)["refresh_token"])
    assert refresh(emu) == {"error": "invalid_code"}  # silently deleted, with its access tokens
    assert org_status(emu, at) == 401
    assert all("access_token" in refresh(emu, rt) for rt in grants)


# -- consent page -------------------------------------------------------------------------

def test_consent_redirect_carries_state_code_location_and_accounts_server(make_emulator):
    emu = make_emulator(records=30, location="eu")
    got = redirect_params(consent(emu, state="a b&c"))
    assert got["state"] == "a b&c" and got["location"] == "eu"
    assert got["accounts-server"] == emu.accounts_url
    assert got["code"].startswith("1000.")


def test_manual_consent_page_accept_and_deny(make_emulator):
    emu = make_emulator(records=30, auto_approve=False)
    page = consent(emu)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Accept" in page.text and "Deny" in page.text
    assert redirect_params(consent(emu, decision="deny")) == {"error": "access_denied", "state": "xyz 1/2"}
    assert "access_token" in exchange(emu, redirect_params(consent(emu, decision="approve"))["code"])


def test_consent_needs_a_registered_redirect_uri_and_a_known_client(emu):
    bad = consent(emu, redirect_uri="https://evil.example/callback")
    assert bad.status_code == 400 and "Location" not in bad.headers
    unknown = consent(emu, client_id="1000.NOSUCHCLIENT")
    assert unknown.status_code == 400 and "Location" not in unknown.headers
    for uri in ("http://localhost:51234/cb", "http://127.0.0.1:1/x?keep=1"):
        r = consent(emu, redirect_uri=uri)
        assert r.status_code == 302 and r.headers["Location"].startswith(uri)


def test_ten_grant_codes_per_client_per_ten_minutes(emu):
    for _ in range(10):
        assert "code" in redirect_params(consent(emu))
    assert redirect_params(consent(emu)) == {"error": "access_denied", "state": "xyz 1/2"}
    emu.advance_clock(600)
    assert "code" in redirect_params(consent(emu))


def test_serverinfo_maps_the_location_to_this_accounts_server(emu):
    r = requests.get(f"{emu.accounts_url}/oauth/serverinfo", timeout=30)
    assert r.json() == {"result": "success", "locations": {"us": emu.accounts_url}}


# -- revoke -------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["data", "params"], ids=["form-body", "query-string"])
def test_revoking_a_refresh_token_kills_its_access_tokens(emu, where):
    rt = admin_grant(emu)["refresh_token"]
    ats = [refresh(emu, rt)["access_token"] for _ in range(3)]
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", **{where: {"token": rt}}, timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert all(org_status(emu, t) == 401 for t in ats)
    assert refresh(emu, rt) == {"error": "invalid_code"}
    assert "access_token" in refresh(emu)  # the other refresh tokens are untouched


def test_revoking_an_unknown_token_is_http_400(emu):
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", data={"token": "1000.nope.nope"}, timeout=30)
    assert r.status_code == 400 and "error" in r.json() and r.json().get("status") != "success"
    r = requests.post(f"{emu.accounts_url}/oauth/v2/token/revoke", timeout=30)
    assert r.status_code == 400


# -- the scope parser ---------------------------------------------------------------------

_scope = st.from_regex(r"ZohoCRM\.[a-z_]{1,10}(\.[a-z]{1,8})?\.(ALL|READ|CREATE|UPDATE|DELETE)", fullmatch=True)


@given(st.lists(_scope, min_size=1, max_size=8), st.sampled_from([",", " ", ", ", " ,  "]))
def test_scopes_parse_from_commas_or_spaces(scopes, sep):
    assert parse_scopes(sep.join(scopes)) == tuple(scopes)
    assert parse_scopes(f" {sep}".join(scopes) + sep) == tuple(scopes)
