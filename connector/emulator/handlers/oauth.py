"""The accounts server: consent page, token endpoint, revoke, serverinfo (oauth-and-regions.md)."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from .. import schema
from ..app import App
from ..http import Request, Response, route
from ..tokens import TokenError, parse_scopes


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
        grant = app.tokens.issue_code(client.client_id, scopes, redirect_uri,
                                      p.get("access_type", "online") == "offline", schema.ADMIN_USER.id)
    except TokenError as e:
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
            soid = p.get("soid", "")
            if soid and soid != f"ZohoCRM.{schema.ORG.id}":
                raise TokenError("invalid_client")
            at, rt = app.tokens.client_credentials(p.get("client_id"), p.get("client_secret"),
                                                   parse_scopes(p.get("scope", "")), schema.ADMIN_USER.id), None
        else:
            raise TokenError("unsupported_grant_type")
    except TokenError as e:
        return Response.json(e.body(), e.status)
    app.save_state()
    return Response.json(app.tokens.token_json(at, rt, app.api_domain))


@route("POST", r"/oauth/v2/token/revoke", kind="accounts")
def revoke(app: App, req: Request) -> Response:
    if app.tokens.revoke(req.form().get("token")):
        app.save_state()
        return Response.json({"status": "success"})
    return Response.json({"status": "failure", "error": "invalid_token"}, 400)


@route("GET", r"/oauth/serverinfo", kind="accounts")
def serverinfo(app: App, req: Request) -> Response:
    return Response.json({"result": "success", "locations": {app.settings.location: app.origin}})
