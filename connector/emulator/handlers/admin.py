"""``/__emulator/`` admin endpoints (not part of Zoho): stats, export, clock, reset, grant, config.

``mutate`` lives with the write handlers (it uses the same write path).
"""

from __future__ import annotations

import json
from typing import Any

from .. import schema
from ..app import App
from ..encoding import RecordReader
from ..http import Request, Response, route
from ..tokens import FULL_SCOPES, READ_SCOPES, parse_scopes
from ..zoho_errors import ZohoError


@route("GET", r"/__emulator/stats", kind="admin")
def stats(app: App, req: Request) -> Response:
    return Response.json(app.snapshot_stats())


@route("GET", r"/__emulator/export/(?P<module>[A-Za-z0-9_]+)", kind="admin")
def export(app: App, req: Request) -> Response:
    """Ground truth: every record of a module in the API's own record shape (single-record form)."""
    m = schema.module(req.path_params["module"])
    if m is None:
        raise ZohoError(404, "INVALID_MODULE", "the module name given seems to be invalid",
                        {"module": req.path_params["module"]})
    reader = RecordReader(app.store, m, app.clock, list(m.fields), single_record=True)
    rows = reader.fetch(order_by="t.id")
    if (req.param("format") or "json") == "jsonl":
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
        return Response(200, body, {"Content-Type": "application/x-ndjson"})
    return Response.json({"data": rows, "info": {"count": len(rows), "module": m.api_name}})


@route("POST", r"/__emulator/clock", kind="admin")
def clock(app: App, req: Request) -> Response:
    body = req.json(required=False) or {}
    advance = body.get("advance_s", 0)
    if not isinstance(advance, (int, float)) or advance < 0:
        raise ZohoError(400, "INVALID_DATA", "advance_s must be a non-negative number of seconds", {})
    app.clock.advance(float(advance))
    return Response.json({"now": app.clock.render(app.clock.now()), "offset_s": app.clock.offset})


@route("GET", r"/__emulator/clock", kind="admin")
def clock_now(app: App, req: Request) -> Response:
    return Response.json({"now": app.clock.render(app.clock.now()), "offset_s": app.clock.offset})


@route("POST", r"/__emulator/reset", kind="admin")
def reset(app: App, req: Request) -> Response:
    app.reset()
    return Response.json({"status": "reset", "module_sizes": app.sizes})


@route("POST", r"/__emulator/grant", kind="admin")
def grant(app: App, req: Request) -> Response:
    """Mint credentials for tests: a refresh token (and a grant code) with the given scopes.

    Body: ``{"scopes": "ZohoCRM.modules.READ,..." | "read" | "full", "client": "default" | "new"}``.
    """
    body: dict[str, Any] = req.json(required=False) or {}
    raw = body.get("scopes", "full")
    scopes = FULL_SCOPES if raw == "full" else READ_SCOPES if raw == "read" else parse_scopes(str(raw))
    client = app.client
    if body.get("client") == "new":
        client = app.tokens.new_client(["http://localhost:33333"])
    assert client is not None
    rt = app.tokens.issue_refresh(client.client_id, tuple(scopes), schema.ADMIN_USER.id)
    code = app.tokens.issue_code(client.client_id, tuple(scopes), None, True, schema.ADMIN_USER.id)
    app.save_state()
    return Response.json({"client_id": client.client_id, "client_secret": client.client_secret,
                          "refresh_token": rt.token, "code": code.code, "scopes": list(scopes)})


@route("POST", r"/__emulator/config", kind="admin")
def configure(app: App, req: Request) -> Response:
    """Change fault injection or limits at run time: ``{"fault_rate": 0.1, "fault_kinds": [...],
    "latency_ms": 5, "index_lag_s": 30, "credits": 1000, "concurrency": 5, "token_ttl_s": 60}``."""
    body: dict[str, Any] = req.json(required=False) or {}
    s = app.settings
    if "fault_rate" in body or "fault_kinds" in body:
        kinds = tuple(body.get("fault_kinds", s.fault_kinds))
        s.fault_rate, s.fault_kinds = float(body.get("fault_rate", s.fault_rate)), kinds
        s.validate()
        app.faults.configure(rate=s.fault_rate, kinds=kinds)
    for key in ("latency_ms", "index_lag_s", "bulk_rows_per_s"):
        if key in body:
            setattr(s, key, float(body[key]))
    if "credits" in body:
        s.credits = app.limits.budget = int(body["credits"])
    if "concurrency" in body:
        s.concurrency = app.limits.concurrency = int(body["concurrency"])
    if "token_ttl_s" in body:
        s.token_ttl_s = app.tokens.token_ttl_s = int(body["token_ttl_s"])
    return Response.json({k: getattr(s, k) for k in (
        "fault_rate", "fault_kinds", "latency_ms", "index_lag_s", "credits", "concurrency", "token_ttl_s",
        "bulk_rows_per_s")})
