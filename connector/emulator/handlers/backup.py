"""Data Backup API routes (v8 ``backup.json``): schedule, details, download URLs, history, cancel, download.

Errors take the spec's two shapes: the schedule/cancel outcomes inside ``{"backup": {...}}``
(``BACKUP_ALREADY_SCHEDULED``, ``ALREADY_CANCELLED``, ``INVALID_DATA``, ``INPROGRESS``), and
``RESOURCE_NOT_FOUND`` / ``REQUEST_BODY_NOT_READABLE`` as plain error bodies. Only users of the
Administrator profile may back up (``NO_PERMISSION``, 403). The model is in :mod:`..backup`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .. import backup, schema
from ..app import App
from ..backup import INPROGRESS, SCHEDULED, STOPPED, Backup, BadRule, backups_of
from ..http import Request, Response, route
from ..zoho_errors import ZohoError
from .bulk_read import new_job_id
from .common import BULK, fixed_scopes

ALL = "ZohoCRM.bulk.backup.ALL"
CREATE, READ, UPDATE = (fixed_scopes(ALL, f"ZohoCRM.bulk.backup.{op}") for op in ("CREATE", "READ", "UPDATE"))
MAX_PER_PAGE = 200


def _requester(user_id: int) -> dict[str, str]:
    u = schema.USERS_BY_ID.get(user_id, schema.ADMIN_USER)
    return {"id": str(u.id), "name": u.full_name, "zuid": str(u.zuid)}


def _admin(req: Request) -> int:
    assert req.token is not None
    u = schema.USERS_BY_ID.get(req.token.user_id, schema.ADMIN_USER)
    if u.profile != "Administrator":
        raise ZohoError(403, "NO_PERMISSION", "permission denied", {})
    return int(u.id)


def _action(code: str, message: str, details: dict[str, Any], status: int = 400) -> Response:
    return Response.json({"backup": {"code": code, "details": details, "message": message,
                                     "status": "success" if code == "SUCCESS" else "error"}}, status)


def _up_to_date(app: App) -> backup.Backups:
    reg = backups_of(app)
    with reg.lock:
        for b in reg.items:
            backup.advance(app, b, lambda: new_job_id(app))
    return reg


@route("POST", BULK + "/backup", scopes=CREATE)
def schedule(app: App, req: Request) -> Response:
    user = _admin(req)
    rule = None
    if req.body.strip():  # an empty body asks for a backup now
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            raise ZohoError(400, "REQUEST_BODY_NOT_READABLE", "the request body could not be read", {}) from None
        inner = body.get("backup") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            return _action("INVALID_DATA", "invalid data", {"api_name": "backup", "json_path": "$.backup"})
        try:
            rule = backup.parse_rule(inner.get("rrule"))
        except BadRule:
            return _action("INVALID_DATA", "invalid data", {"api_name": "rrule", "json_path": "$.backup.rrule"})
    reg = _up_to_date(app)
    with reg.lock:
        busy = next((b for b in reg.items if b.status in (SCHEDULED, INPROGRESS)), None)
        if busy is not None:
            return _action("BACKUP_ALREADY_SCHEDULED", "a backup is already scheduled", {"id": str(busy.id)})
        now = app.clock.time()
        today = datetime.fromtimestamp(now, app.clock.tz).date()
        first = rule.occurrences_after(today) if rule else None
        b = Backup(new_job_id(app), user, now, rule, first, first)
        reg.items.append(b)
        if rule is None:
            backup.start_run(app, b, now, b.id)  # the run of a backup now carries the backup's id
            b.status = INPROGRESS
        b.history.insert(0, backup.history_entry(app, b, now, "scheduled"))
    return _action("SUCCESS", "backup scheduled successfully", {"id": str(b.id)}, 200)


def _day(app: App, d: Any) -> str | None:
    return app.clock.render(datetime.combine(d, datetime.min.time(), tzinfo=app.clock.tz)) if d else None


@route("GET", BULK + "/backup", scopes=READ)
def details(app: App, req: Request) -> Response:
    _admin(req)
    b = _up_to_date(app).latest()
    if b is None:
        return Response.empty(204)
    return Response.json({"backup": {"rrule": b.rule.text if b.rule else None, "id": str(b.id),
                                     "start_date": _day(app, b.start_day), "scheduled_date": _day(app, b.next_day)
                                     if b.status in (SCHEDULED, INPROGRESS) else None,
                                     "status": b.status, "requester": _requester(b.user_id)}})


@route("GET", BULK + "/backup/urls", scopes=READ)
def urls(app: App, req: Request) -> Response:
    _admin(req)
    reg = _up_to_date(app)
    now = app.clock.time()
    done = [r for b in reg.items for r in b.runs if r.state == backup.COMPLETED and r.path is not None]
    if not done or done[-1].finish_at + backup.LINK_TTL_S < now:
        return Response.empty(204)
    run = done[-1]
    base = f"{app.origin}/v2/crm/{schema.ORG.zgid}/backup/{run.id}"
    return Response.json({"urls": {
        "data_links": [f"{base}/Data_001.zip"], "attachment_links": [f"{base}/Attachments_001.zip"],
        "expiry_date": app.clock.render(datetime.fromtimestamp(run.finish_at + backup.LINK_TTL_S, UTC))}})


def _positive(req: Request, name: str, default: int, most: int) -> int:
    raw = req.param(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": name, "param_name": name})
    return int(raw)


@route("GET", BULK + "/backup/history", scopes=READ)
def history(app: App, req: Request) -> Response:
    _admin(req)
    page, per_page = _positive(req, "page", 1, 10**6), _positive(req, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    reg = _up_to_date(app)
    with reg.lock:
        entries = sorted((e for b in reg.items for e in b.history), key=lambda e: e["log_time"], reverse=True)
    shown = [{**e, "done_by": _requester(int(e["done_by"]))} for e in entries[(page - 1) * per_page:page * per_page]]
    return Response.json({"history": shown, "info": {"per_page": per_page, "count": len(shown), "page": page,
                                                     "more_records": page * per_page < len(entries)}})


@route("PUT", BULK + r"/backup/(?P<id>[^/]+)/actions/cancel", scopes=UPDATE)
def cancel(app: App, req: Request) -> Response:
    _admin(req)
    reg = _up_to_date(app)
    with reg.lock:
        b = reg.find(req.path_params["id"])
        if b is None:
            raise ZohoError(400, "RESOURCE_NOT_FOUND", "the requested resource doesn't exist",
                            {"resource": req.path_params["id"]})
        ref = {"id": str(b.id)}
        if b.status == STOPPED:
            return _action("ALREADY_CANCELLED", "the backup is already cancelled", ref)
        if b.status == INPROGRESS:
            return _action("INPROGRESS", "the backup is in progress", ref)
        if b.status != SCHEDULED:  # a backup now that has finished: nothing left to stop
            return _action("ALREADY_CANCELLED", "the backup is already cancelled", ref)
        b.status = STOPPED
        b.history.insert(0, backup.history_entry(app, b, app.clock.time(), "stopped"))
    return _action("SUCCESS", "backup cancelled successfully", ref, 200)


@route("GET", r"/v2/crm/(?P<zgid>[0-9]+)/backup/(?P<job>[0-9]+)/(?P<file>(Data|Attachments)_001\.zip)",
       kind="download", scopes=fixed_scopes("ZohoFiles.files.ALL"))
def download(app: App, req: Request) -> Response:
    p = req.path_params
    _admin(req)
    run = _up_to_date(app).find_run(p["job"]) if p["zgid"] == str(schema.ORG.zgid) else None
    fresh = run is not None and app.clock.time() <= run.finish_at + backup.LINK_TTL_S
    if run is None or run.path is None or not fresh:
        raise ZohoError(400, "RESOURCE_NOT_FOUND", "the requested resource doesn't exist", {"resource": p["job"]})
    return Response.file(run.path / p["file"], p["file"], "application/zip")
