"""TokenManager against the emulator: reuse, transparent refresh, OFF/REFRESH/GETANDREFRESH, throttling,
revoked tokens, tampered stores, and one refresh shared by threads and by processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.auth.login import exchange_self_client_code
from connector.auth.manager import REFRESH_MARGIN_S, TokenManager, refresh_margin
from connector.auth.oauth import Tokens, TokenThrottled, ZohoOAuth
from connector.auth.sealed_store import SealedTokenStore
from connector.auth.token_store import MemoryTokenStore, SealedFileError
from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.errors import AuthError
from tests.conftest import ZohoClient
from tests.http.support import conn, fast_session, grant, raw_refresh, stats


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=30)


def manager(connection: str, store: Any = None, **kw: Any) -> TokenManager:
    config = parse_connection_string(connection)
    kw.setdefault("throttle_waits", (0.01,))
    return TokenManager(config, store if store is not None else MemoryTokenStore(),
                        oauth=ZohoOAuth(config, retry_waits=(0.01,) * 3), **kw)


def sealed(tmp_path: Path) -> dict[str, str]:
    """Store and key in separate directories (the store refuses a key beside the tokens)."""
    return {"OAuthSettingsLocation": str(tmp_path / "tokens" / "tokens.zseal"),
            "OAuthKeyLocation": str(tmp_path / "keys" / "store.key")}


def store_at(tmp_path: Path) -> SealedTokenStore:
    return SealedTokenStore(tmp_path / "tokens" / "tokens.zseal", tmp_path / "keys" / "store.key")


def minted(emu: Emulator) -> int:
    return int(stats(emu)["tokens_minted"])


class LoginSpy:
    """A login callback that records whether it was called (it must not be, in these tests)."""

    def __init__(self, code: str | None = None) -> None:
        self.calls = 0
        self.code = code

    def __call__(self, oauth: ZohoOAuth) -> Tokens:
        self.calls += 1
        if self.code is None:
            raise AssertionError("a login was started")
        return exchange_self_client_code(oauth, self.code)


# -- reuse and refresh ------------------------------------------------------------------------

def test_500_api_calls_mint_one_token(emu):
    before = minted(emu)
    with fast_session(conn(emu)) as s:
        for _ in range(500):
            assert s.http.get("/org").status == 200
        assert s.tokens.refreshes == 1
    assert minted(emu) - before == 1


def test_short_lived_tokens_are_not_renewed_on_every_call(make_emulator):
    # A 2-minute token is inside the fixed 5-minute margin: without a margin scaled to the
    # token's life every call would mint, and the 11th would be throttled.
    emu = make_emulator(records=10, token_ttl_s=120)
    with fast_session(conn(emu)) as s:
        for _ in range(30):
            s.http.get("/org")
    assert minted(emu) == 1


@pytest.mark.parametrize("lifetime, margin", [(3600, REFRESH_MARGIN_S), (1200, REFRESH_MARGIN_S), (600, 150),
                                              (120, 30), (0, 0)])
def test_refresh_margin(lifetime, margin):
    assert refresh_margin(Tokens("t", expires_at=1000.0 + lifetime, obtained_at=1000.0)) == margin


def test_an_access_token_expiring_mid_run_is_refreshed_transparently(make_emulator):
    emu = make_emulator(records=10, token_ttl_s=600)
    with fast_session(conn(emu)) as s:
        assert s.http.get("/org").status == 200
        first = s.tokens.access_token()
        emu.advance_clock(700)  # Zoho's clock passes the expiry; ours does not know yet
        assert s.http.get("/org").status == 200  # INVALID_TOKEN -> refresh -> replay
        assert s.tokens.access_token() != first
    st = stats(emu)
    assert st["tokens_minted"] == 2 and st["statuses"].get("401") == 1


def test_off_mode_with_a_stale_token_is_a_clear_error_and_no_refresh(emu):
    stale = raw_refresh(emu)["access_token"]
    emu.advance_clock(3700)
    before = stats(emu)
    with fast_session(conn(emu, InitiateOAuth="OFF", OAuthAccessToken=stale)) as s:
        with pytest.raises(AuthError, match="InitiateOAuth=OFF") as info:
            s.http.get("/org")
    assert info.value.zoho_error == "INVALID_TOKEN" and "InitiateOAuth=REFRESH" in (info.value.hint or "")
    after = stats(emu)
    assert after["tokens_minted"] == before["tokens_minted"]
    assert after["calls_total"] - before["calls_total"] == 1  # not replayed


def test_off_mode_without_a_token_fails_before_any_call(emu):
    before = stats(emu)["calls_total"]
    with pytest.raises(AuthError, match="no usable OAuthAccessToken"):
        manager(conn(emu, InitiateOAuth="OFF")).access_token()
    assert stats(emu)["calls_total"] == before


def test_a_given_access_token_is_used_before_any_mint(emu):
    token = raw_refresh(emu)["access_token"]
    before = minted(emu)
    with fast_session(conn(emu, OAuthAccessToken=token)) as s:
        s.http.get("/org")
    assert minted(emu) == before


# -- throttling -----------------------------------------------------------------------------------

def test_throttled_minting_backs_off_then_raises_with_the_hint(emu):
    for _ in range(10):  # another client used the refresh token's whole budget
        assert "access_token" in raw_refresh(emu)
    m = manager(conn(emu), throttle_waits=(0.01, 0.02))
    with pytest.raises(TokenThrottled) as info:
        m.access_token()
    assert "10 access tokens per refresh token per 10 minutes" in (info.value.hint or "")
    assert m.refreshes == 3 and stats(emu)["token_requests_throttled"] == 3


def test_throttle_backoff_succeeds_once_the_window_moves(emu):
    for _ in range(10):
        raw_refresh(emu)
    m = manager(conn(emu), throttle_waits=(1.5,))
    # While the manager waits, Zoho's 10-minute window passes.
    timer = threading.Timer(0.3, emu.advance_clock, args=(601,))
    timer.start()
    try:
        assert m.access_token()
    finally:
        timer.join()
    # Normally: throttled once, then minted after the wait (on a very slow machine the first
    # attempt may already come after the window moved: then there was nothing to back off from).
    assert stats(emu)["token_requests_throttled"] == m.refreshes - 1


# -- revoked tokens, logout ------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["REFRESH", "GETANDREFRESH"])
def test_a_revoked_refresh_token_fails_clearly_and_is_never_replaced_by_a_login(emu, tmp_path, mode):
    rt = grant(emu)["refresh_token"]
    text = conn(emu, refresh_token=rt, InitiateOAuth=mode, **sealed(tmp_path))
    first = manager(text, store_at(tmp_path))
    first.access_token()
    assert first.logout() is True  # revoked at Zoho, store deleted
    assert "invalid_code" in raw_refresh(emu, rt).get("error", "")
    spy = LoginSpy()
    again = manager(text, store_at(tmp_path), login=spy)
    with pytest.raises(AuthError) as info:
        again.access_token()
    assert info.value.zoho_error == "invalid_code" and "revoked" in str(info.value)
    assert spy.calls == 0


def test_logout_deletes_local_tokens_even_when_zoho_already_forgot_them(emu, tmp_path):
    rt = grant(emu)["refresh_token"]
    store = store_at(tmp_path)
    m = manager(conn(emu, refresh_token=rt), store)
    m.access_token()
    ZohoOAuth(m.config).revoke(rt)
    assert m.logout() is False
    assert store.load() is None and m.status() == {"stored": False}


def test_status_shows_where_and_until_when_never_the_tokens(emu, tmp_path):
    store = store_at(tmp_path)
    m = manager(conn(emu), store)
    token = m.access_token().reveal()
    st = m.status()
    assert st["stored"] and st["api_domain"] == emu.api_domain and st["has_refresh_token"]
    assert 3000 < st["access_token_expires_in_s"] <= 3600
    assert token not in repr(st) and emu.refresh_token not in repr(st)


# -- GETANDREFRESH login and the sealed store -------------------------------------------------------

def test_getandrefresh_logs_in_once_then_reuses_the_sealed_tokens(emu, tmp_path):
    spy = LoginSpy(grant(emu)["code"])
    text = conn(emu, InitiateOAuth="GETANDREFRESH", OAuthRefreshToken=None, **sealed(tmp_path))
    token = manager(text, store_at(tmp_path), login=spy).access_token()
    assert spy.calls == 1
    before = minted(emu)
    again = manager(text, store_at(tmp_path), login=spy)
    assert again.access_token() == token and spy.calls == 1 and minted(emu) == before


def test_getandrefresh_without_a_login_says_how_to_log_in(emu):
    with pytest.raises(AuthError, match="zohocrm auth login"):
        manager(conn(emu, InitiateOAuth="GETANDREFRESH", OAuthRefreshToken=None)).access_token()


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_a_tampered_store_is_an_auth_error_not_a_crash_or_a_relogin(emu, tmp_path, damage):
    path = tmp_path / "tokens" / "tokens.zseal"
    text = conn(emu, InitiateOAuth="GETANDREFRESH", **sealed(tmp_path))
    manager(text, store_at(tmp_path)).access_token()
    blob = bytearray(path.read_bytes())
    if damage == "flip":
        blob[len(blob) // 2] ^= 0x01
    elif damage == "truncate":
        blob = blob[: len(blob) // 3]
    else:
        blob = bytearray(b"access_token=1000.abc\n")
    path.write_bytes(bytes(blob))
    spy = LoginSpy(grant(emu)["code"])
    before = minted(emu)
    with pytest.raises(SealedFileError) as info:
        manager(text, store_at(tmp_path), login=spy).access_token()
    assert isinstance(info.value, AuthError) and "zohocrm auth login" in str(info.value)
    assert spy.calls == 0 and minted(emu) == before and path.read_bytes() == bytes(blob)


def test_stored_tokens_of_another_client_are_refused_not_silently_replaced(emu, tmp_path):
    # Was: replaced with an INFO line. A store holding another client's tokens was copied, or is
    # shared by two clients: the user must see that (issue 11, item 3), and nothing is minted.
    store = store_at(tmp_path)
    theirs = {"access_token": "1000." + "a" * 32 + "." + "b" * 32, "expires_at": time.time() + 3000,
              "refresh_token": "1000." + "c" * 32 + "." + "d" * 32, "client_id": "1000.SOMEONEELSE"}
    store.save(theirs)
    before = minted(emu)
    with pytest.raises(AuthError, match="1000.SOMEONEELSE") as info:
        manager(conn(emu), store).access_token()
    assert emu.client_id in str(info.value) and "OAuthSettingsLocation" in (info.value.hint or "")
    assert store.load() == theirs and minted(emu) == before


# -- one refresh in flight -----------------------------------------------------------------------------

def expired_store(emu: Emulator, tmp_path: Path) -> SealedTokenStore:
    """A sealed store whose access token is expired for us and for Zoho."""
    old = ZohoClient(emu).token
    emu.advance_clock(3700)
    store = store_at(tmp_path)
    store.save({"access_token": old, "expires_at": time.time() - 5, "obtained_at": time.time() - 3605,
                "refresh_token": emu.refresh_token, "api_domain": emu.api_domain,
                "accounts_server": emu.accounts_url, "client_id": emu.client_id})
    return store


def test_threads_of_one_process_share_one_refresh(emu, tmp_path):
    expired_store(emu, tmp_path)
    before = minted(emu)
    with fast_session(conn(emu, **sealed(tmp_path))) as s:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(3):
                    s.http.get("/org")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and minted(emu) - before == 1


WORKER = textwrap.dedent("""
    import os, sys, time
    from connector.session import ZohoSession
    start = float(sys.argv[1])
    with ZohoSession(os.environ["ZOHOCRM_TEST_CONNECTION"]) as s:
        while time.time() < start:
            time.sleep(0.001)
        for _ in range(5):
            assert s.http.get("/org").status == 200
        print(s.tokens.refreshes)
""")


def test_processes_sharing_one_sealed_store_make_exactly_one_refresh(emu, tmp_path):
    expired_store(emu, tmp_path)
    before = minted(emu)
    env = {**os.environ, "ZOHOCRM_TEST_CONNECTION": conn(emu, **sealed(tmp_path))}
    start = time.time() + 1.5  # every worker has imported the connector by then; they start together
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(start)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, errtext) in zip(procs, outs, strict=True):
        assert p.returncode == 0, errtext
    assert sum(int(out.strip()) for out, _ in outs) == 1
    assert minted(emu) - before == 1
    assert stats(emu)["statuses"]["200"] >= 20
