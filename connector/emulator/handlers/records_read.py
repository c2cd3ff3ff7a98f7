"""Records API reads: ``GET /{module}`` (two paging regimes) and ``GET /{module}/{id}``.

records.md section 1: ``fields`` is mandatory (max 50); ``page`` x ``per_page``
reaches 2,000 records, then ``DISCRETE_PAGINATION_LIMIT_EXCEEDED``; beyond that
``page_token`` (from ``info.next_page_token``) reaches 100,000, then
``PAGINATION_LIMIT_EXCEEDED``. Page tokens are keyset cursors, bound to the
query parameters and valid 24 hours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from ..app import App
from ..encoding import RecordReader, meta_keys, record_fields
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..zoho_errors import ZohoError
from .common import (
    API,
    MODULE,
    RECORD_ID,
    bool_param,
    converted_filter,
    get_module,
    int_param,
    scopes_for,
    split_fields,
)
from .custom_views import view_filter
from .external_ids import path_record_id

DISCRETE_LIMIT = 2_000
TOKEN_LIMIT = 100_000
TOKEN_TTL_S = 86_400
SORTABLE = ("id", "Created_Time", "Modified_Time")


def _secret(app: App) -> bytes:
    with app.state_lock:
        return app.state.setdefault("page_token_secret", secrets.token_bytes(32))  # type: ignore[no-any-return]


def _binding(module: str, fields: list[str], sort_by: str, order: str, converted: str, since: str) -> str:
    raw = json.dumps([module, sorted(fields), sort_by, order, converted, since])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_token(app: App, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(_secret(app), body.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{body}.{mac}"


def decode_token(app: App, token: str) -> dict[str, Any]:
    body, _, mac = token.rpartition(".")
    good = hmac.new(_secret(app), body.encode(), hashlib.sha256).hexdigest()[:24]
    if not body or not hmac.compare_digest(mac, good):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})
    try:
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))  # type: ignore[no-any-return]
    except ValueError:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"}) from None


def _sort_sql(sort_by: str, order: str) -> str:
    d = "DESC" if order == "desc" else "ASC"
    if sort_by == "id":
        return f"t.id {d}"
    return f"t.{sort_by} {d} NULLS LAST, t.id {d}"


def _after_sql(sort_by: str, order: str, key: list[Any]) -> tuple[str, list[Any]]:
    """Keyset condition: rows strictly after the last row of the previous page."""
    op = "<" if order == "desc" else ">"
    if sort_by == "id":
        return f"t.id {op} ?", [int(key[0])]
    value, last_id = key
    if value is None:
        return f"t.{sort_by} IS NULL AND t.id {op} ?", [int(last_id)]
    ts = datetime.fromisoformat(value)
    return (f"(t.{sort_by} {op} ? OR (t.{sort_by} = ? AND t.id {op} ?) OR t.{sort_by} IS NULL)",
            [ts, ts, int(last_id)])


def _since(app: App, req: Request) -> tuple[str, datetime | None]:
    raw = req.headers.get("if-modified-since")
    if not raw:
        return "", None
    try:
        dt = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"header_name": "If-Modified-Since", "expected_data_type": "datetime"}) from None
    if dt.tzinfo is None:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"header_name": "If-Modified-Since", "expected_data_type": "datetime"})
    return raw.strip(), dt.astimezone(UTC).replace(tzinfo=None)


def list_where(app: App, m: ModuleDef, req: Request, converted: str, since: datetime | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    cf = converted_filter(m, converted)
    if cf:
        where.append(cf)
    if since is not None:
        col = "Modified_Time" if m.field("Modified_Time") else None
        if col:
            where.append(f"(t.{col} > ? OR t.Created_Time > ?)")
            params += [since, since]
    approved = bool_param(req, "approved", "true", ("true", "false", "both"))
    if approved == "false":
        where.append("false")  # every emulated record is approved
    return where, params


@route("GET", API + "/" + MODULE, scopes=scopes_for("READ"),
       heavy=lambda req: req.param("sort_by") is not None or req.param("cvid") is not None)
def list_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    fields = split_fields(req, m, required=True) or []
    page_raw, token_raw = req.param("page"), req.param("page_token")
    if page_raw is not None and token_raw is not None:
        raise ZohoError(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity while processing the request",
                        {"ambiguity_due_to": [{"api_name": "page", "json_path": "$.page"},
                                              {"api_name": "page_token", "json_path": "$.page_token"}]})
    cvid = req.param("cvid")
    view_sql, view_params = "", list[Any]()
    if cvid is not None:
        if req.param("sort_by") is not None:
            raise ZohoError(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity while processing the request",
                            {"ambiguity_due_to": [{"api_name": "cvid", "json_path": "$.cvid"},
                                                  {"api_name": "sort_by", "json_path": "$.sort_by"}]})
        view_sql, view_params = view_filter(app, req, m, cvid)
    sort_by = req.param("sort_by", "id") or "id"
    if sort_by not in SORTABLE:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "sort_by",
                                                                "supported_values": list(SORTABLE)})
    order = (req.param("sort_order", "desc") or "desc").lower()
    if order not in ("asc", "desc"):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "sort_order",
                                                                "supported_values": ["asc", "desc"]})
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    converted = bool_param(req, "converted", "false", ("true", "false", "both"))
    ids_raw = req.param("ids")
    if ids_raw is not None:
        return _list_by_ids(app, req, m, fields, ids_raw, converted)
    since_raw, since = _since(app, req)
    binding = _binding(m.api_name, fields, sort_by, order, converted, f"{since_raw}|{cvid or ''}")
    where, params = list_where(app, m, req, converted, since)
    if view_sql:
        where.append(view_sql)
        params += view_params
    offset_done = 0
    page = 1
    if token_raw is not None:
        tok = decode_token(app, token_raw)
        if tok.get("b") != binding:
            raise ZohoError(400, "TOKEN_BOUND_DATA_MISMATCH", "the page token is bound to other parameters",
                            {"param_name": "page_token"})
        if tok.get("exp", 0) < app.clock.time():
            raise ZohoError(400, "EXPIRED_VALUE", "the page token has expired", {"param_name": "page_token"})
        offset_done = int(tok["n"])
        if offset_done >= TOKEN_LIMIT:
            raise ZohoError(400, "PAGINATION_LIMIT_EXCEEDED",
                            f"maximum of {TOKEN_LIMIT} records can be fetched with page_token",
                            {"limit": TOKEN_LIMIT})
        cond, p = _after_sql(sort_by, order, tok["k"])
        where.append(cond)
        params += p
        take = min(per_page, TOKEN_LIMIT - offset_done)
        skip = 0
    else:
        page = int_param(req, "page", 1, low=1)
        if page * per_page > DISCRETE_LIMIT:
            raise ZohoError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                            f"maximum of {DISCRETE_LIMIT} records can be fetched with page and per_page; "
                            "use page_token for more", {"limit": DISCRETE_LIMIT})
        skip = (page - 1) * per_page
        take = per_page
        offset_done = skip
    reader = RecordReader(app.store, m, app.clock, record_fields(m, fields))
    sort_col = "t.id" if sort_by == "id" else f"t.{sort_by}"
    reader.exprs.append(sort_col)  # the keyset value of the last row
    rows = app.store.fetchall(reader.sql(" AND ".join(where), _sort_sql(sort_by, order), take + 1, skip), params)
    more = len(rows) > take
    rows = rows[:take]
    if not rows:
        if since is not None and token_raw is None and page == 1:
            return Response.empty(304)
        return Response.empty(204)
    records = reader.decode(rows)
    meta = meta_keys(m)
    for r in records:
        r.update(meta)
    req.records = len(records)
    fetched = offset_done + len(rows)
    next_token = None
    expiry = None
    if more and fetched < TOKEN_LIMIT:
        last = rows[-1][-1]
        key = [str(last)] if sort_by == "id" else [last.isoformat() if last else None, str(rows[-1][0])]
        exp = app.clock.time() + TOKEN_TTL_S
        next_token = encode_token(app, {"b": binding, "k": key, "n": fetched, "exp": exp})
        expiry = app.clock.render(datetime.fromtimestamp(exp, UTC))
    info = {"call": False, "per_page": per_page, "next_page_token": next_token, "count": len(records),
            "sort_by": sort_by, "page": page, "previous_page_token": None, "page_token_expiry": expiry,
            "sort_order": order, "email": False, "more_records": more}
    return Response.json({"data": records, "info": info})


@route("GET", API + "/" + MODULE + "/" + RECORD_ID, scopes=scopes_for("READ"))
def get_record(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    fields = split_fields(req, m, required=False, max_fields=500)
    rid = path_record_id(app, req, m)  # under X-EXTERNAL the segment is an external value
    if rid is None:
        return Response.empty(204)
    reader = RecordReader(app.store, m, app.clock, record_fields(m, fields), single_record=True)
    rows = reader.fetch("t.id = ?", [rid])
    if not rows:
        return Response.empty(204)
    _, since = _since(app, req)
    if since is not None:
        mt = app.store.fetchone(f'SELECT Modified_Time FROM "{m.api_name}" WHERE id = ?', [rid])
        if mt and mt[0] is not None and mt[0] <= since:
            return Response.empty(304)
    rec = rows[0]
    rec.update(meta_keys(m))
    if any(f.data_type in ("subform", "multiselectlookup", "multiuserlookup") for f in m.fields):
        rec["$has_more"] = {f.api_name: False for f in m.fields
                            if f.data_type in ("subform", "multiselectlookup", "multiuserlookup")}
    req.records = 1
    return Response.json({"data": [rec]})


def _list_by_ids(app: App, req: Request, m: ModuleDef, fields: list[str], ids_raw: str, converted: str) -> Response:
    """``GET /{module}?ids=1,2,...``: specific records (max 100; records.md section 1)."""
    parts = [p.strip() for p in ids_raw.split(",") if p.strip()]
    if len(parts) > 100:
        raise ZohoError(400, "LIMIT_EXCEEDED", "maximum of 100 ids can be given", {"limit": 100, "param_name": "ids"})
    if not parts or not all(p.isdigit() and len(p) <= 19 for p in parts):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "ids"})
    reader = RecordReader(app.store, m, app.clock, record_fields(m, fields))
    # Asking by id returns the record whatever the converted flag (the caller named it).
    del converted
    records = reader.fetch("t.id IN (SELECT unnest(?))", [[int(p) for p in parts]], order_by="t.id")
    if not records:
        return Response.empty(204)
    meta = meta_keys(m)
    for r in records:
        r.update(meta)
    req.records = len(records)
    info = {"call": False, "per_page": len(parts), "next_page_token": None, "count": len(records), "sort_by": "id",
            "page": 1, "previous_page_token": None, "page_token_expiry": None, "sort_order": "asc", "email": False,
            "more_records": False}
    return Response.json({"data": records, "info": info})
