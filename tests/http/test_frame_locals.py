"""Secrets never sit in a frame's locals as plain text: what rich ``show_locals``, Sentry and
``pytest --showlocals`` would show of a traceback holds no token, and neither does any frame of
the connector on the normal path (issue 11, item 4)."""

from __future__ import annotations

import io
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import pytest
from rich.console import Console
from rich.traceback import Traceback

from connector.auth.oauth import ZohoOAuth
from connector.config import parse_connection_string
from connector.config.values import Secret
from connector.emulator import Emulator
from connector.errors import AuthError, ConnectorError, FatalApiError
from connector.session import ZohoSession
from tests.http.support import conn, fast_session, free_port, grant


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(records=20, seed=5)


def plain(token: Secret | str) -> str:
    return token.reveal() if isinstance(token, Secret) else token


def failure_of(action: Callable[[], object]) -> ConnectorError:
    """Run ``action`` and return what it raised; this frame's own locals hold no secret."""
    try:
        action()
    except ConnectorError as exc:
        return exc
    raise AssertionError("expected a ConnectorError")


def frames(tb: TracebackType | None) -> Iterator[FrameType]:
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def shown_locals(exc: BaseException) -> dict[str, str]:
    """What each locals-capturing tool would show, by tool."""
    reprs = [f"{name}={value!r}" for e in chain(exc) for f in frames(e.__traceback__)
             for name, value in f.f_locals.items()]
    captured = "".join(traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True).format())
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True,
                                           locals_max_string=10_000, locals_max_length=1_000))
    assert isinstance(console.file, io.StringIO)
    return {"f_locals": "\n".join(reprs), "capture_locals": captured, "rich": console.file.getvalue()}


def assert_no_secret(texts: dict[str, str], secrets: set[str]) -> None:
    leaks = sorted(f"{s[:14]}... shown by {tool}" for tool, text in texts.items() for s in secrets if s in text)
    assert not leaks, leaks


def test_an_auth_failure_shows_no_refresh_token_in_any_frame(emu):
    doomed = grant(emu)["refresh_token"]
    ZohoOAuth(parse_connection_string(conn(emu))).revoke(doomed)
    with fast_session(conn(emu, refresh_token=doomed)) as s:
        exc = failure_of(lambda: s.http.get("/org"))
    assert isinstance(exc, AuthError) and exc.zoho_error == "invalid_code"
    texts = shown_locals(exc)
    # Not vacuous: the frames that held the token as `given` and `refresh_token` are in the traceback.
    assert "given=" in texts["f_locals"] and "refresh_token=" in texts["f_locals"]
    assert_no_secret(texts, {doomed, emu.client_secret})


def test_an_api_error_on_the_normal_path_shows_no_access_token(emu):
    with fast_session(conn(emu)) as s:
        s.http.get("/org")
        token = plain(s.tokens.access_token())
        exc = failure_of(lambda: s.http.get("/NoSuchModule"))
    assert isinstance(exc, FatalApiError)
    texts = shown_locals(exc)
    assert "token=" in texts["f_locals"]  # the _attempt frame that holds the token is there
    assert_no_secret(texts, {token, emu.refresh_token, emu.client_secret})


def test_a_failed_connection_shows_no_access_token(emu):
    # The token comes from the emulator's accounts server; the API host has nothing listening.
    with fast_session(conn(emu, MaxRetries=0, APIServer=f"http://127.0.0.1:{free_port()}")) as s:
        token = plain(s.tokens.access_token())
        exc = failure_of(lambda: s.http.get("/org"))
    assert "nothing is listening" in str(exc)
    assert_no_secret(shown_locals(exc), {token, emu.refresh_token, emu.client_secret})


class LocalsRecorder:
    """A profile hook that keeps the repr of every local of every connector frame as it returns."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.frames = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "return":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("connector.") or module.startswith("connector.emulator"):
            return
        if frame.f_code is Secret.__init__.__code__:
            return  # the wrapper's own constructor is where a plain value becomes a Secret
        self.frames += 1
        for name, value in frame.f_locals.items():
            try:
                self.seen.append(f"{module}:{frame.f_code.co_name}:{name}={value!r}")
            except Exception:  # noqa: BLE001 - an object whose repr fails shows nothing either
                continue


def test_no_connector_frame_holds_a_token_in_plain_text_on_the_normal_path(emu, tmp_path: Path):
    # Refresh through a sealed store (read, mint, seal, write), calls, an expiry mid-run and a
    # second refresh: every frame of the connector, as it returns, is looked at. The connection
    # string is parsed first: it is the caller's own text, which holds the secrets as given.
    config = parse_connection_string(conn(emu, OAuthSettingsLocation=str(tmp_path / "tokens" / "t.zseal"),
                OAuthKeyLocation=str(tmp_path / "keys" / "t.key"), Logfile=str(tmp_path / "log.txt"),
                Verbosity=5))
    recorder = LocalsRecorder()
    tokens: set[str] = set()
    sys.setprofile(recorder)
    try:
        with ZohoSession(config) as s:
            s.http.get("/org")
            s.http.get("/Leads", params={"fields": "Last_Name", "per_page": 5})
            tokens.add(plain(s.tokens.access_token()))
            emu.advance_clock(3700)
            s.http.get("/org")  # INVALID_TOKEN -> refresh -> replay
            tokens.add(plain(s.tokens.access_token()))
    finally:
        sys.setprofile(None)
    assert len(tokens) == 2 and recorder.frames > 200
    seen = "\n".join(recorder.seen)
    assert "ZohoTokenAuth" in seen and "refresh_token=" in seen  # the places that hold them were seen
    assert_no_secret({"profile": seen}, tokens | {emu.refresh_token, emu.client_secret})


def test_a_failed_code_exchange_shows_no_grant_code(emu):
    from urllib.parse import parse_qs, urlsplit

    import requests

    from connector.auth.login import login_headless

    oauth = ZohoOAuth(parse_connection_string(conn(emu)), retry_waits=(0.01,))
    shown: list[str] = []
    codes: list[str] = []

    def paste(prompt: str) -> str:
        location = requests.get(next(u for u in shown if u.startswith("http")), allow_redirects=False,
                                timeout=10).headers["Location"]
        codes.append(parse_qs(urlsplit(location).query)["code"][0])
        oauth.exchange_code(codes[0], redirect_uri=oauth.config.callback_url)  # used first: ours fails
        return str(location)

    exc = failure_of(lambda: login_headless(oauth, input_fn=paste, output=shown.append))
    assert isinstance(exc, AuthError) and exc.zoho_error == "invalid_code"
    texts = shown_locals(exc)
    assert "params=" in texts["f_locals"] and "pasted=" in texts["f_locals"]
    assert_no_secret(texts, {codes[0], emu.client_secret})
