"""One redaction point: secrets never reach a log line, an audit line, an error, a repr or a traceback."""

from __future__ import annotations

import io
import json
import logging
import string
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.auth.login import exchange_self_client_code
from connector.auth.oauth import ZohoOAuth
from connector.check import run_check
from connector.config import parse_connection_string
from connector.emulator import Emulator
from connector.errors import ConnectorError
from connector.redaction import MASK, forget_secret, redact, redact_mapping, register_secret
from connector.session import ZohoSession
from tests.http.support import conn, grant, raw_refresh

TOKEN = "1000." + "ab12" * 8 + "." + "cd34" * 8


@pytest.mark.parametrize("text, secret", [
    (f"Authorization: Zoho-oauthtoken {TOKEN}", TOKEN),
    ("headers={'Authorization': 'Zoho-oauthtoken tok-123456'}", "tok-123456"),
    ("Bearer abcdef123456", "abcdef123456"),
    ("grant_type=refresh_token&client_secret=c0ffee42&refresh_token=r3fr3sh", "c0ffee42"),
    ("grant_type=refresh_token&client_secret=c0ffee42&refresh_token=r3fr3sh", "r3fr3sh"),
    ("http://localhost:33333/?state=s&code=grantcode77&location=eu", "grantcode77"),
    ('{"access_token": "acc3ss", "api_domain": "https://www.zohoapis.com"}', "acc3ss"),
    ('{"refresh_token":"r3fr3sh","scope":"ZohoCRM.modules.ALL"}', "r3fr3sh"),
    ("OAuthClientSecret='abc;def';OAuthClientId=1000.X", "abc;def"),
    ("oauthrefreshtoken = plain-secret-value ; Region=EU", "plain-secret-value"),
    ("ProxyPassword=hunter22", "hunter22"),
    ("proxies={'http': 'http://ops:pa55word@proxy.local:3128'}", "pa55word"),
    (f"token {TOKEN} expired", TOKEN),
])
def test_patterns_mask_secrets_nobody_registered(text, secret):
    out = redact(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize("text", [
    "GET https://www.zohoapis.com/crm/v8/Leads?fields=Last_Name&per_page=200 -> 200",
    "client 1000.ABCDEF0123456789ABCDEF012345 is known to the eu data center",
    "refreshing the access token: invalid_code",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=40),
       st.text(max_size=30), st.text(max_size=30))
def test_a_registered_secret_never_survives(body, before, after):
    secret = "zsec" + body
    register_secret(secret)
    try:
        assert secret not in redact(before + secret + after + secret)
    finally:
        forget_secret(secret)


def test_redact_mapping_masks_secret_named_keys():
    out = redact_mapping({"client_secret": "x", "Authorization": "Zoho-oauthtoken y", "api_domain": "https://a",
                          "note": f"token {TOKEN}", "count": 3})
    assert out == {"client_secret": MASK, "Authorization": MASK, "api_domain": "https://a",
                   "note": f"token {MASK}", "count": 3}


def test_records_of_child_loggers_are_redacted_whatever_the_handler():
    # A plain handler on a child logger (no filter of ours anywhere on its path): the record
    # is redacted where it is made, message, arguments and traceback alike.
    secret = "child-logger-secret-4471"
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("connector.tests.deep.child")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("sending %s with %r", secret, {"Authorization": f"Zoho-oauthtoken {TOKEN}"})
        try:
            raise ValueError(f"boom {secret}")
        except ValueError:
            logger.exception("failed with refresh_token=%s", secret)
    finally:
        logger.removeHandler(handler)
        forget_secret(secret)
    text = stream.getvalue()
    assert secret not in text and TOKEN not in text and "ValueError" in text and text.count(MASK) >= 4


# -- a whole session, every place a secret could leak ----------------------------------------------

def _texts_of(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def test_no_secret_reaches_logs_audit_errors_reprs_or_tracebacks(make_emulator: Callable[..., Emulator],
                                                                 tmp_path: Path, caplog: Any):
    emu = make_emulator(records=20, seed=9)
    login_grant, doomed, other = grant(emu), grant(emu), grant(emu)
    secrets = {emu.client_secret, emu.refresh_token, login_grant["code"], login_grant["refresh_token"],
               doomed["refresh_token"], doomed["code"], other["code"]}
    logfile, audit = tmp_path / "logs" / "connector.log", tmp_path / "audit" / "calls.jsonl"
    store = {"OAuthSettingsLocation": str(tmp_path / "tokens" / "t.zseal"),
             "OAuthKeyLocation": str(tmp_path / "keys" / "t.key")}
    logs = {"Logfile": str(logfile), "AuditLog": str(audit), "Verbosity": 5}
    caplog.set_level(logging.DEBUG)  # the root logger too: urllib3, requests-oauthlib, everything
    texts: list[str] = []
    errors: list[BaseException] = []

    # 1. A desktop-less login with a self-client code into a sealed store, then a normal session.
    session = ZohoSession(conn(emu, InitiateOAuth="GETANDREFRESH", OAuthRefreshToken=None, **store, **logs),
                          login=lambda oauth: exchange_self_client_code(oauth, login_grant["code"]))
    report = run_check(session)
    assert report.ok, report.reason
    secrets.add(session.tokens.access_token().reveal())
    session.http.get("/Leads", params={"fields": "Last_Name,Email", "per_page": 10})
    try:
        session.http.get("/Nope")
    except ConnectorError as exc:
        errors.append(exc)
    emu.advance_clock(3700)  # the token expires at Zoho mid-run: refreshed, a second access token
    session.http.get("/org")
    secrets.add(session.tokens.access_token().reveal())
    texts += [repr(session), str(session.config), repr(session.config), repr(session.tokens),
              repr(session.tokens._tokens), repr(session.tokens.store.load()), repr(session.http),
              repr(session.tokens.oauth), json.dumps(session.tokens.status()), report.render(),
              json.dumps(report.as_dict(), default=str)]
    session.close()

    # 2. Errors: bad secret, revoked refresh token, tampered store, stale token with InitiateOAuth=OFF.
    ZohoOAuth(parse_connection_string(conn(emu))).revoke(doomed["refresh_token"])
    stale = raw_refresh(emu, other["refresh_token"])["access_token"]
    emu.advance_clock(3700)
    secrets.add(stale)
    sealed_file = Path(store["OAuthSettingsLocation"])
    blob = bytearray(sealed_file.read_bytes())
    blob[100] ^= 0xFF
    sealed_file.write_bytes(bytes(blob))
    failing = [
        conn(emu, client_secret="f" * 42, refresh_token=other["refresh_token"], **logs),
        conn(emu, refresh_token=doomed["refresh_token"], **logs),
        conn(emu, InitiateOAuth="GETANDREFRESH", **store, **logs),
        conn(emu, InitiateOAuth="OFF", OAuthAccessToken=stale, **logs),
    ]
    for text in failing:
        with ZohoSession(text) as s:
            texts += [repr(s), str(s.config)]
            failed = run_check(s)
            assert not failed.ok
            texts.append(failed.render())
            try:
                s.http.get("/org")
            except ConnectorError as exc:
                errors.append(exc)
                logging.getLogger("connector.tests").exception("the session failed")
            else:
                raise AssertionError(f"expected a failure for {s!r}")

    assert len(errors) == 5
    for exc in errors:
        texts += _texts_of(exc)
    log_text, audit_text = logfile.read_text(), audit.read_text()
    texts += [log_text, audit_text, caplog.text, *(r.getMessage() for r in caplog.records)]
    leaks = sorted({f"{secret[:12]}... in text #{i}" for secret in secrets for i, t in enumerate(texts)
                    if secret in t})
    assert not leaks, leaks
    # Not vacuous: the tokens were logged (Verbosity=5 logs request headers) and masked.
    assert "Zoho-oauthtoken ***" in log_text and "invalid_client_secret" in log_text + caplog.text
    assert len(audit_text.splitlines()) >= 8
