"""The accounts server: consent page, token endpoint, revoke, serverinfo (oauth-and-regions.md).

Parameters are read from the form body merged over the query string: Zoho's own
examples put them in the query string of a POST, the SDK sends a form body.
Token-endpoint errors are HTTP 200 with ``{"error": ...}`` (section 6).
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from .. import schema
from ..app import App
from ..http import Request, Response, route
from ..tokens import AccessToken, TokenError, parse_scopes


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in uri else "?"
    return Response.redirect(uri + sep + urlencode(params))


@route("GET", r"/oauth/v2/auth", kind="accounts")
def authorize(app: App, req: Request) -> Response:
    p = req.form()
    client = app.tokens.clients.get(p.get("client_id", ""))
    if client is None:
        return Response.html("<h1>Invalid Client</h1><p>invalid_client: no such client in this data center</p>",
                             400)
    redirect_uri = p.get("redirect_uri", "")
    if not redirect_uri or not client.redirect_allowed(redirect_uri):
        return Response.html("<h1>Invalid Redirect Uri</h1><p>redirect_uri_mismatch</p>", 400)
    if p.get("response_type", "code") != "code":
        return _redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": p.get("state", "")})
    scopes = parse_scopes(p.get("scope", ""))
    if not scopes:
        return _redirect_with(redirect_uri, {"error": "invalid_scope", "state": p.get("state", "")})
    decision = p.get("decision") or ("approve" if app.settings.auto_approve else "")
    if decision == "":
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in p.items())
        page = (f"<html><body><h1>Zoho CRM Emulator</h1><p>{html.escape(client.name)} wants: "
                f"{html.escape(', '.join(scopes))}</p><form method='get' action='/oauth/v2/auth'>{hidden}"
                "<button name='decision' value='approve'>Accept</button>"
                "<button name='decision' value='deny'>Deny</button></form></body></html>")
        return Response.html(page)
    if decision != "approve":
        return _redirect_with(redirect_uri, {"error": "access_denied", "state": p.get("state", "")})
    try:
        # access_type defaults to online (no refresh token); the user is the org's admin.
        grant = app.tokens.issue_code(client.client_id, scopes, redirect_uri,
                                      p.get("access_type", "online").lower() == "offline", schema.ADMIN_USER.id,
                                      prompt_consent=p.get("prompt", "").lower() == "consent")
    except TokenError as e:  # 10 grant codes per client per 10 minutes: access_denied
        return _redirect_with(redirect_uri, {"error": e.error, "state": p.get("state", "")})
    params = {"code": grant.code, "location": app.settings.location, "accounts-server": app.origin}
    if "state" in p:
        params = {"state": p["state"], **params}
    return _redirect_with(redirect_uri, params)


@route("POST", r"/oauth/v2/token", kind="accounts")
def token(app: App, req: Request) -> Response:
    p = req.form()
    grant_type = p.get("grant_type", "")
    try:
        if grant_type == "authorization_code":
            at, rt = app.tokens.exchange_code(p.get("client_id"), p.get("client_secret"), p.get("code"),
                                              p.get("redirect_uri"))
        elif grant_type == "refresh_token":
            at, rt = app.tokens.refresh_access(p.get("client_id"), p.get("client_secret"),
                                               p.get("refresh_token")), None
        elif grant_type == "client_credentials":
            at, rt = _client_credentials(app, p), None
        else:
            raise TokenError("unsupported_grant_type")
    except TokenError as e:
        return Response.json(e.body(), e.status)
    app.save_state()
    return Response.json(app.tokens.token_json(at, rt, app.api_domain))


def _client_credentials(app: App, p: dict[str, str]) -> AccessToken:
    """Self-client client-credentials flow (section 7): ``soid=ZohoCRM.<org id>`` names the org.

    CRM has many orgs per account, so the org is required; the Accounts docs name the
    error for a missing one ``missing_org_info``. A soid naming no org of this data center
    gets the same answer (unconfirmed). Any client of this DC may use the flow here,
    while Zoho reserves it for Self Client clients (not modelled).
    """
    tokens = app.tokens
    with tokens.lock:
        tokens.check_client(p.get("client_id"), p.get("client_secret"))  # client errors come first
        if p.get("soid", "") != f"ZohoCRM.{schema.ORG.id}":
            raise TokenError("missing_org_info")
        return tokens.client_credentials(p.get("client_id"), p.get("client_secret"),
                                         parse_scopes(p.get("scope", "")), schema.ADMIN_USER.id)


@route("POST", r"/oauth/v2/token/revoke", kind="accounts")
def revoke(app: App, req: Request) -> Response:
    # The SDK sends token= in a form body, the CRM docs in the query string: both work.
    if app.tokens.revoke(req.form().get("token")):
        app.save_state()
        return Response.json({"status": "success"})
    # HTTP 400 with an error body; the exact text is unconfirmed (section 9).
    return Response.json({"error": "invalid_token", "status": "failure"}, 400)


@route("GET", r"/oauth/serverinfo", kind="accounts")
def serverinfo(app: App, req: Request) -> Response:
    # Zoho lists every data center's accounts server here; an instance knows itself and its peers.
    return Response.json({"result": "success",
                          "locations": {**app.settings.peers, app.settings.location: app.origin}})
