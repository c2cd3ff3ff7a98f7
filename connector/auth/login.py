"""Interactive logins: desktop (local callback server + browser) and headless (paste the redirect).

Both check ``state`` (CSRF) and exchange the code at the accounts server the
redirect names (Zoho sends ``accounts-server`` and ``location`` so the code
reaches the user's data center).
"""

from __future__ import annotations

import secrets
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from connector.errors import AuthError, ConfigError

from .oauth import Tokens, ZohoOAuth, parse_redirect

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
        params = {k: v[0] for k, v in parse_qs(parsed.query).items() if v}
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
    pasted = input_fn("Redirected URL or code: ")
    params = parse_redirect(pasted)
    # A bare code cannot carry the state; a pasted redirect URL must.
    bare_code = set(params) == {"code"} and "=" not in pasted
    return _finish(oauth, params, state, oauth.config.callback_url, require_state=not bare_code)


def exchange_self_client_code(oauth: ZohoOAuth, code: str) -> Tokens:
    """A grant code generated in the API console's Self Client tab (no redirect URI)."""
    return oauth.exchange_code(code.strip())
