"""OAuth flows against the emulator's accounts server over real HTTP: desktop and headless logins,
self-client codes, revoke, data-center diagnosis and accounts-server outages."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from connector.auth.datacenter import known_locations
from connector.auth.login import exchange_self_client_code, login_desktop, login_headless
from connector.auth.oauth import TokenThrottled, ZohoOAuth, parse_redirect
from connector.config import parse_connection_string
from connector.config.values import Secret
from connector.emulator import Emulator
from connector.errors import AuthError, ConfigError
from tests.http.support import configure, conn, free_port, grant, raw_refresh, stats


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=30)


def oauth_for(emu: Emulator, **props: Any) -> ZohoOAuth:
    return ZohoOAuth(parse_connection_string(conn(emu, **props)), retry_waits=(0.01,) * 4)


def callback_url() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


def org_status(emu: Emulator, access_token: Secret) -> int:
    r = requests.get(f"{emu.api_domain}/crm/v8/org",
                     headers={"Authorization": f"Zoho-oauthtoken {access_token.reveal()}"},
                     timeout=30)
    return r.status_code


def with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for k, v in changes.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = v
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- desktop login -------------------------------------------------------------------------

def test_desktop_login_catches_the_redirect_on_the_callback_and_exchanges_the_code(emu):
    oauth = oauth_for(emu, CallbackURL=callback_url())
    pages: list[requests.Response] = []
    tokens = login_desktop(oauth, open_browser=lambda url: pages.append(requests.get(url, timeout=10)),
                           timeout_s=10)
    consent = parse_qs(urlsplit(pages[0].history[0].url).query)
    assert consent["access_type"] == ["offline"] and consent["prompt"] == ["consent"]
    assert consent["scope"] == [",".join(oauth.config.scope)]
    assert pages[0].status_code == 200 and "Signed in" in pages[0].text  # the callback page
    assert tokens.refresh_token and tokens.location == "us" and tokens.accounts_server == emu.accounts_url
    assert tokens.api_domain == emu.api_domain and "ZohoCRM.org.ALL" in tokens.scopes
    assert org_status(emu, tokens.access_token) == 200


@pytest.mark.parametrize("state", ["forged-state", None], ids=["other-state", "no-state"])
def test_desktop_login_refuses_a_redirect_without_our_state(emu, state):
    oauth = oauth_for(emu, CallbackURL=callback_url())
    minted = stats(emu)["tokens_minted"]
    with pytest.raises(AuthError, match="state") as info:
        login_desktop(oauth, open_browser=lambda url: requests.get(with_params(url, state=state), timeout=10),
                      timeout_s=10)
    assert "CSRF" in str(info.value)
    assert stats(emu)["tokens_minted"] == minted  # the code was never exchanged


def test_denied_consent_is_an_auth_error(make_emulator):
    emu = make_emulator(records=10, auto_approve=False)
    oauth = oauth_for(emu, CallbackURL=callback_url())
    page = requests.get(oauth.authorization_url(redirect_uri=oauth.config.callback_url)[0], timeout=10)
    assert "Accept" in page.text and "Deny" in page.text  # manual consent mode shows the form
    with pytest.raises(AuthError) as info:
        login_desktop(oauth, open_browser=lambda url: requests.get(url + "&decision=deny", timeout=10),
                      timeout_s=10)
    assert info.value.zoho_error == "access_denied" and "did not grant access" in str(info.value)


def test_desktop_login_gives_up_when_no_redirect_arrives(emu):
    oauth = oauth_for(emu, CallbackURL=callback_url())
    with pytest.raises(AuthError, match="no OAuth redirect"):
        login_desktop(oauth, open_browser=lambda url: None, timeout_s=0.2)


def test_desktop_login_needs_a_loopback_callback_and_a_free_port(emu):
    with pytest.raises(ConfigError, match="loopback"):
        login_desktop(oauth_for(emu, CallbackURL="https://example.com/cb"), open_browser=lambda url: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(AuthError, match="cannot listen"):
            login_desktop(oauth_for(emu, CallbackURL=f"http://127.0.0.1:{port}"), open_browser=lambda url: None,
                          timeout_s=1)


# -- headless login ----------------------------------------------------------------------------

def headless(emu: Emulator, paste: Callable[[str], str]) -> Any:
    oauth = oauth_for(emu)  # default CallbackURL http://localhost:33333: nothing listens, the user copies
    shown: list[str] = []

    def answer(prompt: str) -> str:
        url = next(line for line in shown if line.startswith("http"))
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        return paste(location)

    return login_headless(oauth, input_fn=answer, output=shown.append)


def test_headless_login_with_the_pasted_redirect_url(emu):
    tokens = headless(emu, lambda location: location)
    assert tokens.refresh_token and org_status(emu, tokens.access_token) == 200


def test_headless_login_with_a_bare_code(emu):
    tokens = headless(emu, lambda location: parse_qs(urlsplit(location).query)["code"][0])
    assert tokens.refresh_token and org_status(emu, tokens.access_token) == 200


def test_headless_login_refuses_a_pasted_url_with_another_state(emu):
    with pytest.raises(AuthError, match="different state"):
        headless(emu, lambda location: with_params(location, state="not-ours"))


def test_an_accounts_server_named_by_the_redirect_must_be_zohos_or_configured(emu):
    with pytest.raises(AuthError, match="unknown accounts server"):
        headless(emu, lambda location: with_params(location, **{"accounts-server": "https://evil.example.com"}))


# -- self-client codes, reuse, revoke ----------------------------------------------------------

def test_self_client_code_exchange(emu):
    g = grant(emu, scopes="ZohoCRM.modules.READ,ZohoCRM.org.READ")
    tokens = exchange_self_client_code(oauth_for(emu), "  " + g["code"] + "\n")
    assert tokens.refresh_token and set(tokens.scopes) == {"ZohoCRM.modules.READ", "ZohoCRM.org.READ"}
    assert org_status(emu, tokens.access_token) == 200


def test_a_reused_code_gets_the_invalid_code_diagnosis(emu):
    oauth = oauth_for(emu)
    code = grant(emu)["code"]
    exchange_self_client_code(oauth, code)
    with pytest.raises(AuthError) as info:
        exchange_self_client_code(oauth, code)
    assert info.value.zoho_error == "invalid_code"
    assert "already used" in str(info.value) and "each code works only once" in str(info.value)


def test_revoke_then_refresh_fails_with_a_clear_message(emu):
    oauth = oauth_for(emu)
    rt = grant(emu)["refresh_token"]
    assert oauth.refresh(rt).access_token
    oauth.revoke(rt)
    with pytest.raises(AuthError) as info:
        oauth.refresh(rt)
    assert info.value.zoho_error == "invalid_code" and "revoked" in str(info.value)
    assert "zohocrm auth login" in str(info.value)
    with pytest.raises(AuthError, match="revoking the token failed"):
        oauth.revoke(rt)  # Zoho no longer knows it


def test_bad_secret_is_named(emu):
    with pytest.raises(AuthError) as info:
        oauth_for(emu, OAuthClientSecret="0" * 42).refresh(emu.refresh_token)
    assert info.value.zoho_error == "invalid_client_secret"


def test_client_credentials_grant(emu):
    oauth = oauth_for(emu, OAuthGrantType="client_credentials", OrgId="665000001", OAuthRefreshToken=None)
    tokens = oauth.client_credentials()
    assert tokens.refresh_token is None and org_status(emu, tokens.access_token) == 200


# -- data-center mismatch --------------------------------------------------------------------

def test_invalid_client_names_the_data_center_that_knows_the_client(make_emulator):
    us = make_emulator(records=10)
    eu = make_emulator(records=10, location="eu")
    # A peer that is neither loopback nor a Zoho host is never probed (no secrets, no traffic to it).
    configure(us, peers={"eu": eu.accounts_url, "xx": "https://accounts.example.com"})
    with requests.Session() as probe:
        assert known_locations(probe, us.accounts_url) == {"eu": eu.accounts_url, "us": us.accounts_url}
    # The EU client's credentials sent to the US accounts server: the classic wrong-Region mistake.
    wrong = oauth_for(us, client_id=eu.client_id, client_secret=eu.client_secret, refresh_token=eu.refresh_token)
    with pytest.raises(AuthError) as info:
        wrong.refresh(eu.refresh_token)
    err = info.value
    assert err.zoho_error == "invalid_client"
    assert "EU (Europe) data center" in str(err) and "Region=EU" in (err.hint or "")
    # The probe sent no secret and minted nothing at the EU data center.
    assert stats(eu)["tokens_minted"] == 0


def test_invalid_client_without_a_peer_that_knows_it_gives_the_general_hint(make_emulator):
    us = make_emulator(records=10)
    other = make_emulator(records=10, location="eu")  # serverinfo of us does not list it
    with pytest.raises(AuthError) as info:
        oauth_for(us, client_id=other.client_id, client_secret=other.client_secret).refresh(other.refresh_token)
    assert info.value.zoho_error == "invalid_client" and "another Zoho data center" in (info.value.hint or "")


def test_peers_can_be_given_when_the_emulator_starts(make_emulator):
    eu = make_emulator(records=10, location="eu")
    us = make_emulator(records=10, peers={"eu": eu.accounts_url})
    info = requests.get(f"{us.accounts_url}/oauth/serverinfo", timeout=10).json()
    assert info["locations"] == {"us": us.accounts_url, "eu": eu.accounts_url}


# -- accounts-server outages and throttling --------------------------------------------------

@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
def test_accounts_server_outages_are_retried(make_emulator, kind):
    emu = make_emulator(records=10, seed=3, fault_rate=0.5, fault_kinds=(kind,))
    oauth = oauth_for(emu)
    for _ in range(3):
        assert oauth.refresh(emu.refresh_token).access_token
    assert stats(emu)["faults_injected"].get(kind, 0) > 0


def test_a_lasting_outage_is_reported_as_unavailable(make_emulator):
    emu = make_emulator(records=10, fault_rate=1.0, fault_kinds=("503",))
    with pytest.raises(AuthError, match="unavailable") as info:
        ZohoOAuth(parse_connection_string(conn(emu)), retry_waits=(0.01, 0.01)).refresh(emu.refresh_token)
    assert info.value.zoho_error == "unavailable"
    assert stats(emu)["faults_injected"]["503"] == 3


def test_the_throttle_answer_is_token_throttled(emu):
    for _ in range(10):
        assert "access_token" in raw_refresh(emu)
    with pytest.raises(TokenThrottled) as info:
        oauth_for(emu).refresh(emu.refresh_token)
    assert "10 access tokens per refresh token per 10 minutes" in (info.value.hint or "")


# -- pure helpers --------------------------------------------------------------------------------

@pytest.mark.parametrize("pasted, expected", [
    ("1000.abc.def", {"code": "1000.abc.def"}),
    ("  1000.abc.def \n", {"code": "1000.abc.def"}),
    ("http://localhost:33333/?state=s1&code=1000.x.y&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu",
     {"state": "s1", "code": "1000.x.y", "location": "eu", "accounts-server": "https://accounts.zoho.eu"}),
    ("?code=c1&state=s2", {"code": "c1", "state": "s2"}),
    ("code=c1", {"code": "c1"}),
    ("http://localhost:33333/?error=access_denied&state=s", {"error": "access_denied", "state": "s"}),
])
def test_parse_redirect(pasted, expected):
    assert parse_redirect(pasted) == expected


@given(st.text(max_size=200))
def test_parse_redirect_never_raises(text):
    out = parse_redirect(text)
    assert isinstance(out, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())
