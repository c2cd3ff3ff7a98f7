"""Bulk Read API routes: create job, job status, download (bulk-read.md sections 1-3, 5).

``POST /crm/bulk/{v}/read`` validates the body the way Zoho does (JSON only, the
documented error codes, 50 credits) and queues a :class:`~..bulk_read.BulkReadJob`;
the job model and the CSV production live in :mod:`..bulk_read`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from .. import bulk_criteria, bulk_read, filters, schema
from ..app import App
from ..bulk_read import BulkReadJob
from ..http import Request, Response, route
from ..job_queue import ADDED, COMPLETED
from ..query import Selection, UnknownField
from ..schema import ModuleDef, OrgSchema
from ..tokens import has_scope
from ..zoho_errors import ZohoError
from .common import BULK, fixed_scopes, module_scopes_of
from .records_read import decode_token, encode_token

READ_SCOPES = ("ZohoCRM.bulk.read", "ZohoCRM.bulk.ALL")  # matched case-insensitively (READ works too)
JOB_CREDITS = 50  # limits-and-errors.md section 2
TOKEN_TTL_S = 86_400
JOB_ID_BASE = schema.ORG_PREFIX * 10**12 + 98 * 10**10  # id slot 98: bulk jobs and uploaded files
#: Zoho modules that exist in every org but cannot be exported (bulk-read.md section 4)
NOT_EXPORTABLE = frozenset({name for name, *_ in schema.UNSUPPORTED_MODULES}) | {
    "Notes", "Attachments", "Emails", "Users", "Activities", "Approvals", "Visits"}


def new_job_id(app: App) -> int:
    return app.store.next_values("bulk_jobs", 1, JOB_ID_BASE + 1)[0]


def user_ref(user_id: int) -> dict[str, str]:
    u = schema.USERS_BY_ID.get(user_id, schema.ADMIN_USER)
    return {"id": str(u.id), "name": u.full_name}


def json_body(req: Request) -> dict[str, Any]:
    """The JSON object body of a bulk call: Content-Type must say JSON (the SDK always sends it)."""
    ctype = (req.headers.get("content-type") or "").lower()
    if "application/json" not in ctype:
        raise ZohoError(415, "MEDIA_TYPE_NOT_SUPPORTED", "the media type given in Content-Type is not supported",
                        {"supported_media_types": ["application/json"]})
    if not req.body.strip():
        raise ZohoError(400, "REQUEST_BODY_IS_EMPTY", "the request body is empty", {})
    try:
        body = json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        raise ZohoError(400, "REQUEST_BODY_NOT_READABLE", "the request body could not be read as JSON", {}
                        ) from None
    if not isinstance(body, dict):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject", "json_path": "$"})
    return body


def bad(path: str, api_name: str, **extra: Any) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": api_name, "json_path": path, **extra})


def missing(path: str, api_name: str) -> ZohoError:
    return ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": api_name, "json_path": path})


def job_not_found(job_id: str, status: int = 400) -> ZohoError:
    """The bulk APIs' answer for a job, or a job's result, that does not exist (or not any more)."""
    return ZohoError(status, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {"resource": job_id})


def check_callback(body: dict[str, Any]) -> dict[str, str] | None:
    cb = body.get("callback")
    if cb is None:
        return None
    if not isinstance(cb, dict):
        raise bad("$.callback", "callback", expected_data_type="jsonobject")
    url = cb.get("url")
    parsed = urlparse(url) if isinstance(url, str) else None
    # Zoho documents an HTTPS URL; plain http is accepted so loopback test servers can listen.
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ZohoError(400, "INVALID_CALLBACK_URL", "the callback url given is invalid",
                        {"api_name": "url", "json_path": "$.callback.url"})
    method = cb.get("method")
    if not isinstance(method, str) or method.lower() != "post":
        raise ZohoError(400, "INVALID_CALLBACK_METHOD", "the callback method given is invalid",
                        {"supported_callback_methods": ["post"]})
    assert isinstance(url, str)
    return {"url": url, "method": "post"}


def resolve_module(org: OrgSchema, raw: Any, path: str) -> ModuleDef:
    if not isinstance(raw, dict):
        raise missing(path, "module") if raw is None else bad(path, "module", expected_data_type="jsonobject")
    name = raw.get("api_name")
    if not isinstance(name, str) or not name:
        raise missing(f"{path}.api_name", "api_name")
    m = org.module(name)
    if m is None and name in NOT_EXPORTABLE:
        raise ZohoError(400, "MODULE_NOT_SUPPORTED", "the module is not supported for bulk read",
                        {"api_name": name, "json_path": f"{path}.api_name"})
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                        {"api_name": name, "json_path": f"{path}.api_name"})
    if not m.api_supported or not m.bulk_read:
        raise ZohoError(400, "MODULE_NOT_SUPPORTED", "the module is not supported for bulk read",
                        {"api_name": name, "json_path": f"{path}.api_name"})
    return m


def require_module_scope(req: Request, m: ModuleDef, *ops: str) -> None:
    assert req.token is not None
    for op in ops:
        if not has_scope(req.token.scopes, module_scopes_of(m, op)):
            raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})


def export_columns(m: ModuleDef, fields: Any) -> list[tuple[str, list[str]]]:
    """(header, field path) pairs; ``id`` first, then the requested fields (all exportable when omitted)."""
    cols: list[tuple[str, list[str]]] = [("id", ["id"])]
    if fields is None or fields == []:
        return cols + [(f.api_name, [f.api_name]) for f in m.fields
                       if f.data_type not in schema.NOT_EXPORTED_TYPES and not f.virtual]
    if not isinstance(fields, list):
        raise bad("$.query.fields", "fields", expected_data_type="jsonarray")
    probe = Selection(m, datetime(2000, 1, 1))  # resolves paths only; formulas are not evaluated
    seen = {"id"}
    for i, name in enumerate(fields):
        path = f"$.query.fields[{i}]"
        if not isinstance(name, str) or not name.strip():
            raise bad(path, "fields", expected_data_type="string")
        parts = name.strip().split(".")
        head = m.field(parts[0])
        if parts == ["id"]:
            continue
        if head is None:
            raise ZohoError(400, "FIELD_NOT_AVAILABLE", "the field given is not available",
                            {"api_name": name, "module": m.api_name, "json_path": path})
        if len(parts) > 2 or (len(parts) == 2 and head.data_type not in ("lookup", "ownerlookup", "userlookup")):
            # One level of dot notation, and only through a lookup (bulk-read.md section 1).
            raise ZohoError(400, "FIELD_NOT_SUPPORTED", "the field given is not supported for bulk read",
                            {"api_name": name, "module": m.api_name, "json_path": path})
        try:
            _, f, _ = probe.path_expr([head.api_name, *parts[1:]])
        except UnknownField:
            raise ZohoError(400, "FIELD_NOT_AVAILABLE", "the field given is not available",
                            {"api_name": name, "module": m.api_name, "json_path": path}) from None
        if head.data_type in schema.NOT_EXPORTED_TYPES or (f is not None and f.data_type in schema.NOT_EXPORTED_TYPES):
            raise ZohoError(400, "FIELD_NOT_SUPPORTED", "the field given is not supported for bulk read",
                            {"api_name": name, "module": m.api_name, "json_path": path})
        header = head.api_name if len(parts) == 1 else f"{head.api_name}.{f.api_name if f else parts[1]}"
        if header not in seen:
            seen.add(header)
            cols.append((header, [head.api_name, *parts[1:]]))
    return cols


def _binding(m: ModuleDef, columns: list[tuple[str, list[str]]], criteria: Any) -> str:
    raw = json.dumps([m.api_name, [h for h, _ in columns], criteria], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _paging(app: App, query: dict[str, Any], binding: str) -> tuple[int, int | None]:
    """(page number, keyset id to start after) from ``page`` or ``page_token``."""
    page_raw, token = query.get("page"), query.get("page_token")
    if page_raw is not None and token is not None:
        raise ZohoError(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity while processing the request",
                        {"ambiguity_due_to": [{"api_name": "page", "json_path": "$.query.page"},
                                              {"api_name": "page_token", "json_path": "$.query.page_token"}]})
    if token is not None:
        if not isinstance(token, str) or not token:
            raise bad("$.query.page_token", "page_token", expected_data_type="string")
        try:
            tok = decode_token(app, token)
        except ZohoError:
            raise bad("$.query.page_token", "page_token") from None
        if tok.get("t") != "bulk_read":
            raise bad("$.query.page_token", "page_token")
        if tok.get("b") != binding:
            # Page tokens are bound to the query (bulk-read.md section 5; mirrors the records API).
            raise ZohoError(400, "TOKEN_BOUND_DATA_MISMATCH", "the page token is bound to another query",
                            {"api_name": "page_token", "json_path": "$.query.page_token"})
        if tok.get("exp", 0) < app.clock.time():
            raise ZohoError(400, "EXPIRED_VALUE", "the page token has expired",
                            {"api_name": "page_token", "json_path": "$.query.page_token"})
        page, after = int(tok["p"]), int(tok["k"])
    else:
        page_raw = 1 if page_raw is None else page_raw
        if isinstance(page_raw, bool) or not isinstance(page_raw, int) or page_raw < 1:
            raise bad("$.query.page", "page", expected_data_type="integer")
        page, after = page_raw, None
    if page > bulk_read.MAX_PAGE:
        raise ZohoError(400, "PAGE_RANGE_EXCEEDED", "the page given exceeds the maximum page limit",
                        {"max_limit": bulk_read.MAX_PAGE})
    return page, after


@route("POST", BULK + "/read", scopes=fixed_scopes(*READ_SCOPES))
def create_read_job(app: App, req: Request) -> Response:
    body = json_body(req)
    callback = check_callback(body)
    query = body.get("query")
    if query is None:
        raise missing("$.query", "query")
    if not isinstance(query, dict):
        raise bad("$.query", "query", expected_data_type="jsonobject")
    m = resolve_module(app.org, query.get("module"), "$.query.module")
    require_module_scope(req, m, "READ")
    file_type = body.get("file_type", "csv")
    if file_type != "csv":
        # ICS exists only for Events/Meetings, which this org does not have.
        raise bad("$.file_type", "file_type", supported_values=["csv"])
    if query.get("cvid") is not None:
        raise bad("$.query.cvid", "cvid")  # the emulated org has no custom views
    columns = export_columns(m, query.get("fields"))
    raw_criteria = query.get("criteria")
    node = bulk_criteria.parse_bulk_criteria(raw_criteria, m) if raw_criteria is not None else None
    binding = _binding(m, columns, raw_criteria)
    page, after = _paging(app, query, binding)
    assert req.token is not None
    clock = app.clock
    echo: dict[str, Any] = {"module": {"id": str(m.module_id), "api_name": m.api_name},
                            "fields": [h for h, _ in columns[1:]], "page": page}
    if raw_criteria is not None:
        echo["criteria"] = raw_criteria
    if after is not None:
        echo["page_token"] = query["page_token"]

    def criteria(sel: Selection) -> tuple[str, list[Any]]:
        assert node is not None
        return filters.compile_filter(node, sel, m, clock)

    def make_token(job: BulkReadJob) -> str:
        return encode_token(app, {"t": "bulk_read", "b": job.binding, "k": job.last_id, "p": job.page + 1,
                                  "exp": app.clock.time() + TOKEN_TTL_S})

    job = BulkReadJob(new_job_id(app), m, columns, criteria if node is not None else None, page, after, binding,
                      req.token.user_id, app.clock.time(), echo, version=req.path_params["ver"],
                      callback=callback, make_token=make_token)
    bulk_read.add_job(app, job)
    req.credits = JOB_CREDITS
    detail = {"id": str(job.id), "operation": "read", "state": ADDED,
              "created_by": user_ref(job.user_id),
              "created_time": clock.render(datetime.fromtimestamp(job.created_at, UTC))}
    return Response.json({"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY",
                                    "message": "Added successfully.", "details": detail}], "info": {}}, 201)


@route("GET", BULK + "/read/(?P<job>[^/]+)", scopes=fixed_scopes(*READ_SCOPES))
def read_job_status(app: App, req: Request) -> Response:
    job = bulk_read.get_job(app, req.path_params["job"])
    if job is None:
        raise job_not_found(req.path_params["job"], 404)  # v8 spec: 404 here (older versions answered 400)
    return Response.json({"data": [bulk_read.job_detail(app, job)]})


@route("GET", BULK + "/read/(?P<job>[^/]+)/result", scopes=fixed_scopes(*READ_SCOPES))
def download_read_result(app: App, req: Request) -> Response:
    app.limits.check_download()  # 10 downloads per minute, then 429 (bulk-read.md section 3)
    job_id = req.path_params["job"]
    job = bulk_read.get_job(app, job_id)
    now = app.clock.time()
    expired = job is not None and job.completed_at is not None and now > job.completed_at + bulk_read.RESULT_TTL_S
    if job is not None and expired and job.path is not None:
        job.path.unlink(missing_ok=True)
        job.path = None
    if job is None or job.state != COMPLETED or job.path is None:
        # The v8 spec lists only 400 RESOURCE_NOT_FOUND here; used for unknown, unfinished and expired jobs.
        raise job_not_found(job_id)
    return Response.file(job.path, f"{job.id}.zip", "application/x-download")
