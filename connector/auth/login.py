"""Interactive logins: desktop (local callback server + browser), headless (paste the redirect)
and the web-server flow in two steps (``zohocrm auth login --web``).

All check ``state`` (CSRF) and exchange the code at the accounts server the
redirect names (Zoho sends ``accounts-server`` and ``location`` so the code
reaches the user's data center).

The web flow spans two commands: the first prints the consent URL for the web app's registered
CallbackURL and remembers its state in a pending-login file beside the token store (0600, no
secret in it: a state, the redirect URI, the accounts server, a time); the second takes the
redirect the browser landed on (or just the code), checks the state, exchanges the code and
removes the pending file. A pending login expires after 15 minutes (Zoho's codes live minutes).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from connector.config.values import Secret
from connector.errors import AuthError, ConfigError
from connector.localfs import write_private

from .oauth import Tokens, ZohoOAuth, as_secret, parse_redirect
from .token_store import TokenSet

PAGE = (b"<html><body style='font-family:sans-serif'><h2>zohocrm-connector</h2>"
        b"<p>%s</p><p>You can close this window.</p></body></html>")


class _CallbackServer(HTTPServer):
    result: dict[str, str] | None = None
    path_expected = "/"
    state = ""
    done: threading.Event


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the query string holds the grant code: never log it

    def do_GET(self) -> None:  # noqa: N802
        parsed = urlparse(self.path)
        params = TokenSet({k: v[0] for k, v in parse_qs(parsed.query).items() if v})  # repr masks the code
        if parsed.path.rstrip("/") != self.server.path_expected.rstrip("/") or not (
                "code" in params or "error" in params):
            self.send_response(404)
            self.end_headers()
            return
        self.server.result = params
        # The browser page only informs; the login itself checks the state again and refuses.
        ok = "code" in params and secrets.compare_digest(params.get("state", "").encode(), self.server.state.encode())
        body = PAGE % (b"Signed in to Zoho CRM." if ok else b"Sign-in was not completed.")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()


def _finish(oauth: ZohoOAuth, params: dict[str, str], state: str, redirect_uri: str | None, *,
            require_state: bool = True) -> Tokens:
    # Zoho echoes ``state`` on every redirect, success or error: a redirect without it, or with
    # another one, was not started by this login (CSRF, or a stale tab) and is refused.
    got = params.get("state")
    if got is None and require_state:
        raise AuthError("the consent redirect carried no state parameter (possible CSRF); login refused",
                        hint="start `zohocrm auth login` again and use the redirect it leads to")
    if got is not None and not secrets.compare_digest(got.encode(), state.encode()):
        raise AuthError("the consent redirect carried a different state than the one sent (possible CSRF); "
                        "login refused", hint="start `zohocrm auth login` again")
    if "error" in params:
        raise AuthError(f"Zoho did not grant access: {params['error']}",
                        hint="accept the consent screen, or check the scopes", zoho_error=params["error"])
    if "code" not in params:
        raise AuthError("no grant code found in what was pasted", hint="paste the full redirected URL")
    return oauth.exchange_code(params["code"], redirect_uri=redirect_uri,
                               accounts_server=params.get("accounts-server"), location=params.get("location"))


def login_desktop(oauth: ZohoOAuth, *, open_browser: Callable[[str], Any] = webbrowser.open,
                  timeout_s: float = 300.0) -> Tokens:
    """Open the consent page in a browser and catch the redirect on CallbackURL."""
    callback = oauth.config.callback_url
    parsed = urlparse(callback)
    if parsed.scheme != "http" or parsed.hostname not in ("localhost", "127.0.0.1"):
        raise ConfigError(f"the desktop login needs a loopback CallbackURL like http://localhost:33333, "
                          f"not {callback!r}", hint="use the headless login instead (`zohocrm auth login --headless`)")
    port = parsed.port or 80
    try:
        server = _CallbackServer(("127.0.0.1", port), _CallbackHandler)
    except OSError as exc:
        raise AuthError(f"cannot listen on {callback} for the OAuth redirect: {exc.strerror}",
                        hint="free the port or set CallbackURL to another http://localhost:PORT registered "
                             "for your client") from None
    server.path_expected = parsed.path or "/"
    server.done = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        url, state = oauth.authorization_url(redirect_uri=callback)
        server.state = state
        open_browser(url)
        if not server.done.wait(timeout_s):
            raise AuthError(f"no OAuth redirect reached {callback} within {timeout_s:.0f} s",
                            hint="finish the consent in the browser, or use the headless login")
        assert server.result is not None
        return _finish(oauth, server.result, state, callback)
    finally:
        server.shutdown()
        server.server_close()


def login_headless(oauth: ZohoOAuth, *, input_fn: Callable[[str], str] = input,
                   output: Callable[[str], Any] = print) -> Tokens:
    """Print the consent URL; the user opens it anywhere and pastes back the redirected URL (or code)."""
    url, state = oauth.authorization_url()
    output("Open this URL in a browser, sign in and accept; then paste the URL you were redirected to "
           "(or just the code):")
    output(url)
    pasted = Secret(input_fn("Redirected URL or code: "))  # it holds the grant code: a masked local
    params = parse_redirect(pasted.reveal())
    # A bare code cannot carry the state; a pasted redirect URL must.
    bare_code = set(params) == {"code"} and "=" not in pasted.reveal()
    return _finish(oauth, params, state, oauth.config.callback_url, require_state=not bare_code)


def exchange_self_client_code(oauth: ZohoOAuth, code: str | Secret) -> Tokens:
    """A grant code generated in the API console's Self Client tab (no redirect URI)."""
    return oauth.exchange_code(as_secret(code).reveal().strip())


PENDING_TTL_S = 15 * 60


def pending_login_path(settings_location: str | os.PathLike[str]) -> str:
    return f"{os.path.abspath(os.path.expanduser(os.fspath(settings_location)))}.login"


def start_web_login(oauth: ZohoOAuth, pending_path: str) -> str:
    """The consent URL for CallbackURL; its state is remembered in ``pending_path`` for the second step."""
    callback = oauth.config.callback_url
    url, state = oauth.authorization_url(redirect_uri=callback)
    write_private(pending_path, json.dumps({"state": state, "redirect_uri": callback, "client_id": oauth.client_id,
                                            "accounts_server": oauth.config.accounts_server,
                                            "started_at": time.time()}),
                  "pending web login", setting="OAuthSettingsLocation")
    return url


def _pending(oauth: ZohoOAuth, pending_path: str) -> dict[str, object]:
    try:
        with open(pending_path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise AuthError("no web login was started for this token store",
                        hint="run `zohocrm auth login --web` first; it prints the consent URL") from None
    except (OSError, ValueError):
        raise AuthError(f"the pending web login {pending_path} cannot be read",
                        hint="run `zohocrm auth login --web` again") from None
    if not isinstance(data, dict) or not isinstance(data.get("state"), str):
        raise AuthError(f"the pending web login {pending_path} is damaged", hint="run `zohocrm auth login --web` again")
    if data.get("client_id") != oauth.client_id:
        raise AuthError("the pending web login was started for another OAuthClientId",
                        hint="run `zohocrm auth login --web` again with this connection")
    started = data.get("started_at")
    if not isinstance(started, int | float) or time.time() - started > PENDING_TTL_S:
        raise AuthError(f"the web login was started more than {PENDING_TTL_S // 60} minutes ago; its code has "
                        "expired", hint="run `zohocrm auth login --web` again and finish it within a few minutes")
    return data


def finish_web_login(oauth: ZohoOAuth, pending_path: str, pasted: str | Secret, *, state: str | None = None,
                     accounts_server: str | None = None, location: str | None = None) -> Tokens:
    """Exchange the code of a web login started by :func:`start_web_login`.

    ``pasted`` is the URL the browser was redirected to (its state must be ours) or just the code;
    ``state``, ``accounts_server`` and ``location`` stand in for the redirect's parameters when only
    the code is given (a redirect's own parameters win). The pending file is removed once the code
    was tried: a code works once, so a second try could only fail.
    """
    pending = _pending(oauth, pending_path)
    pasted = as_secret(pasted)
    params = parse_redirect(pasted.reveal())
    if state is not None:
        if "state" in params and params["state"] != state:
            raise AuthError("--state differs from the state in the pasted redirect; login refused",
                            hint="paste the redirect URL alone")
        params.setdefault("state", state)
    if accounts_server:
        params.setdefault("accounts-server", accounts_server)
    if location:
        params.setdefault("location", location)
    bare_code = "state" not in params and "=" not in pasted.reveal()
    redirect_uri = str(pending.get("redirect_uri") or oauth.config.callback_url)
    try:
        return _finish(oauth, params, str(pending["state"]), redirect_uri, require_state=not bare_code)
    finally:
        if "code" in params and params.get("state", pending["state"]) == pending["state"]:
            try:
                os.unlink(pending_path)
            except OSError:
                pass
