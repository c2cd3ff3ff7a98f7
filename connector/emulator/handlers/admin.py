"""``/__emulator/`` admin endpoints (not part of Zoho): stats, export, files, clock, reset, grant, config.

They never see latency, faults, credits or tokens: tests and benchmarks use them
to set up and check the world, not to exercise the client. ``mutate`` lives in
:mod:`.mutate` (it uses the write path).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from .. import files, schema
from ..app import App
from ..encoding import RecordReader
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..settings import FAULT_KINDS, LATE_FAULT_KINDS
from ..store import q
from ..tokens import FULL_SCOPES, READ_SCOPES, parse_scopes
from ..zoho_errors import ZohoError


def _bad(message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", message, details)


@route("GET", r"/__emulator/stats", kind="admin")
def stats(app: App, req: Request) -> Response:
    return Response.json(app.snapshot_stats())


@route("POST", r"/__emulator/stats", kind="admin")
def stats_and_reset_peaks(app: App, req: Request) -> Response:
    """The counters, then the concurrency peaks start again (one phase of a benchmark at a time)."""
    snapshot = app.snapshot_stats()
    app.limits.reset_peaks()
    return Response.json(snapshot)


@route("GET", r"/__emulator/export/(?P<module>[A-Za-z0-9_]+)", kind="admin")
def export(app: App, req: Request) -> Response:
    """Ground truth: every record of a module in the API's own record shape (single-record form)."""
    m = app.org.by_name.get(req.path_params["module"])  # relation tables too: ground truth
    if m is None:
        raise ZohoError(404, "INVALID_MODULE", "the module name given seems to be invalid",
                        {"module": req.path_params["module"]})
    reader = RecordReader(app.store, m, app.clock, list(m.fields), single_record=True)
    extra = [c for c, _ in m.extra_columns]
    reader.exprs += [f"t.{q(c)}" for c in extra]
    raw = app.store.fetchall(reader.sql(order_by="t.id"))
    rows = reader.decode(raw)
    for row, values in zip(rows, raw, strict=True):
        row.update(zip(extra, values[len(values) - len(extra):], strict=True))
    with_files(app, m, rows)
    if (req.param("format") or "json") == "jsonl":
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
        return Response(200, body, {"Content-Type": "application/x-ndjson"})
    return Response.json({"data": rows, "info": {"count": len(rows), "module": m.api_name}})


def with_files(app: App, m: ModuleDef, rows: list[dict[str, Any]]) -> None:
    """Ground truth for files: the SHA-256 of every file a row names (``$sha256`` beside its id)."""
    file_fields = [f.api_name for f in m.fields if f.data_type in ("fileupload", "imageupload")]
    for row in rows:
        if row.get("$file_id"):
            row["$sha256"] = files.sha256(app.store, row["$file_id"])
        for name in file_fields:
            for entry in row.get(name) or []:
                entry["$sha256"] = files.sha256(app.store, str(entry.get("File_Id__s")))


@route("GET", r"/__emulator/files/(?P<file_id>[0-9a-f]{64})", kind="admin")
def file_bytes(app: App, req: Request) -> Response:
    """A file's bytes as stored or generated, with its SHA-256 in ``X-Content-SHA256``."""
    f = files.read(app.store, req.path_params["file_id"])
    if f is None:
        raise ZohoError(404, "INVALID_DATA", "no file has this id", {"file_id": req.path_params["file_id"]})
    data = f.data or b""
    return Response(200, data, {"Content-Type": f.content_type, "Content-Disposition": files.disposition(f.name),
                                "X-Content-SHA256": hashlib.sha256(data).hexdigest()})


def _clock_json(app: App) -> dict[str, Any]:
    return {"now": app.clock.render(app.clock.now()), "epoch_s": app.clock.time(), "offset_s": app.clock.offset}


@route("POST", r"/__emulator/clock", kind="admin")
def clock(app: App, req: Request) -> Response:
    """Move the virtual clock forward: body ``{"advance_s": 3600}`` (or ``?advance_s=3600``).

    Time only moves forward: tokens, page tokens and bulk jobs already issued would
    otherwise live in the future. ``reset`` is the way back to the start.
    """
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    advance: Any = body.get("advance_s", req.param("advance_s", "0"))
    try:
        seconds = float(advance)
    except (TypeError, ValueError):
        raise _bad("advance_s must be a non-negative number of seconds", param_name="advance_s") from None
    if isinstance(advance, bool) or not math.isfinite(seconds) or seconds < 0:
        raise _bad("advance_s must be a non-negative number of seconds", param_name="advance_s")
    app.clock.advance(seconds)
    app.save_state()
    return Response.json(_clock_json(app))


@route("GET", r"/__emulator/clock", kind="admin")
def clock_now(app: App, req: Request) -> Response:
    return Response.json(_clock_json(app))


@route("POST", r"/__emulator/reset", kind="admin")
def reset(app: App, req: Request) -> Response:
    """Back to the freshly generated org at virtual time zero; clients and tokens stay valid."""
    app.reset()
    return Response.json({"status": "reset", "module_sizes": app.sizes})


@route("POST", r"/__emulator/grant", kind="admin")
def grant(app: App, req: Request) -> Response:
    """Mint credentials for tests: a refresh token and a self-client grant code with the given scopes.

    Body: ``{"scopes": "ZohoCRM.modules.READ,..." | "read" | "full", "client": "default" | "new",
    "user_id": <user id>}``. The refresh token counts towards the user's 20 (the 21st deletes the
    oldest, which may be the emulator's own); the code is made "in the API console", so it does
    not count towards the consent page's 10 codes per 10 minutes.
    """
    body: dict[str, Any] = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    raw = body.get("scopes", "full")
    scopes = FULL_SCOPES if raw == "full" else READ_SCOPES if raw == "read" else parse_scopes(str(raw))
    if not scopes:
        raise _bad("scopes must name at least one scope", param_name="scopes")
    raw_user = body.get("user_id", schema.ADMIN_USER.id)
    user_id = int(raw_user) if isinstance(raw_user, int) or str(raw_user).isdigit() else 0
    if isinstance(raw_user, bool) or user_id not in schema.USERS_BY_ID:
        raise _bad("user_id must be the id of an org user", param_name="user_id")
    client = app.client
    if body.get("client") == "new":
        client = app.tokens.new_client(list(body.get("redirect_uris") or ["http://localhost:33333"]))
    assert client is not None
    rt = app.tokens.issue_refresh(client.client_id, tuple(scopes), user_id)
    code = app.tokens.issue_code(client.client_id, tuple(scopes), None, True, user_id, enforce_limit=False)
    app.save_state()
    return Response.json({"client_id": client.client_id, "client_secret": client.client_secret,
                          "refresh_token": rt.token, "code": code.code, "scopes": list(scopes),
                          "user_id": str(user_id)})


CONFIG_KEYS = ("fault_rate", "fault_kinds", "slow_fault_ms", "latency_ms", "index_lag_s", "credits",
               "concurrency", "sub_concurrency", "token_ttl_s", "bulk_rows_per_s", "downloads_per_minute",
               "bulk_page_size", "auto_approve", "peers", "coql_se_module")


def _config_json(app: App) -> dict[str, Any]:
    return {k: getattr(app.settings, k) for k in CONFIG_KEYS}


@route("GET", r"/__emulator/config", kind="admin")
def get_config(app: App, req: Request) -> Response:
    return Response.json(_config_json(app))


@route("POST", r"/__emulator/config", kind="admin")
def configure(app: App, req: Request) -> Response:
    """Change faults, latency, lag and limits at run time, e.g. ``{"fault_rate": 0.1,
    "fault_kinds": ["500", "drop"], "latency_ms": 5, "index_lag_s": 30, "credits": 1000,
    "concurrency": 5, "token_ttl_s": 60}``. All or nothing: a bad value changes nothing (400).

    Changing ``fault_rate``/``fault_kinds``/``slow_fault_ms`` restarts the fault sequence, so the
    calls after a config call fail reproducibly. ``token_ttl_s`` applies to tokens minted later.
    """
    body: dict[str, Any] = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    unknown = sorted(set(body) - set(CONFIG_KEYS))
    if unknown:
        raise _bad(f"unknown config keys {unknown}", supported_keys=list(CONFIG_KEYS))
    s = app.settings
    new = {k: getattr(s, k) for k in CONFIG_KEYS}
    for key, value in body.items():
        new[key] = _coerce(key, value)
    old = {k: getattr(s, k) for k in CONFIG_KEYS}
    for key, value in new.items():
        setattr(s, key, value)
    try:
        s.validate()
    except ValueError as exc:
        for key, value in old.items():
            setattr(s, key, value)
        raise _bad(str(exc)) from None
    if {"fault_rate", "fault_kinds", "slow_fault_ms"} & set(body):
        app.faults.configure(rate=s.fault_rate, kinds=s.fault_kinds, slow_ms=s.slow_fault_ms)
    app.limits.budget = s.credits
    app.limits.concurrency = s.concurrency
    app.limits.sub_concurrency = s.sub_concurrency
    app.limits.downloads_per_minute = s.downloads_per_minute
    app.tokens.token_ttl_s = s.token_ttl_s
    return Response.json(_config_json(app))


def _coerce(key: str, value: Any) -> Any:
    if key == "fault_kinds":
        kinds = value.split(",") if isinstance(value, str) else value
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise _bad("fault_kinds must be a list of kinds", param_name=key,
                       supported_values=list(FAULT_KINDS + LATE_FAULT_KINDS))
        return tuple(k.strip() for k in kinds if k.strip())
    if key == "peers":
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise _bad("peers must map location codes to accounts server origins", param_name=key)
        return dict(value)
    if key in ("auto_approve", "coql_se_module"):
        if not isinstance(value, bool):
            raise _bad(f"{key} must be true or false", param_name=key)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{key} must be a number", param_name=key)
    if key in ("credits", "concurrency", "sub_concurrency", "token_ttl_s", "downloads_per_minute",
               "bulk_page_size"):
        if value != int(value):
            raise _bad(f"{key} must be a whole number", param_name=key)
        return int(value)
    return float(value)
