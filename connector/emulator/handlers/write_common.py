"""Shared by the record-write handlers: body parsing, per-record results, the HTTP status of a batch.

records.md sections 3-7. Batch calls take at most 100 records and answer one
``data[i]`` per input record, in input order: all succeeded -> 201 (insert) or
200, mixed -> 207, every record failed -> 400 with the ``data`` array (records.md
section 3 says so, though some integrators report 207; connectors must read
``data[i].status`` whatever the status), or 412 when every failure is
``ALREADY_MODIFIED`` (``If-Unmodified-Since``). Credits: 1 per 10 records; more
than 10 records makes the call "heavy" (sub-concurrency, limits-and-errors.md 2-3).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ..app import App
from ..http import Request, Response
from ..schema import ModuleDef
from ..write_batch import user_ref
from ..writes import TRIGGERS
from ..zoho_errors import ZohoError, record_error, required_param
from .common import scopes_for

MAX_RECORDS = 100


def ids_param(req: Request) -> list[str]:
    """The ``ids`` query parameter of a delete or delink: required, at most 100 (Zoho's limit per call)."""
    ids = [s.strip() for s in (req.param("ids") or "").split(",") if s.strip()]
    if not ids:
        raise required_param("ids")
    if len(ids) > MAX_RECORDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"the maximum number of ids allowed is {MAX_RECORDS}",
                        {"limit": MAX_RECORDS})
    return ids
INVALID_ID = "the id given seems to be invalid"


def record_count(req: Request) -> int:
    """How many records the body carries (0 when it is not a JSON object with a ``data`` array)."""
    try:
        data = req.peek_json().get("data")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return 0
    return len(data) if isinstance(data, list) else 0


def heavy_call(req: Request) -> bool:
    """More than 10 records count towards the sub-concurrency limit (limits-and-errors.md section 3)."""
    return record_count(req) > 10


def upsert_scopes(req: Request) -> list[str]:
    # Upsert may create or update: either permission lets the call in.
    return list(scopes_for("CREATE")(req)) + list(scopes_for("UPDATE")(req))


def parse_body(req: Request) -> tuple[list[Any], tuple[str, ...], dict[str, Any]]:
    """(records, automations to fire, whole body); request-level errors raise."""
    body = req.json(required=False)  # the SDK sends no Content-Type: never require it
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject"})
    data = body.get("data")
    if data is None or data == []:
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found",
                        {"api_name": "data", "json_path": "$.data"})
    if not isinstance(data, list):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"})
    if len(data) > MAX_RECORDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"the maximum number of records allowed is {MAX_RECORDS}",
                        {"limit": MAX_RECORDS})
    trigger = body.get("trigger")
    if trigger is None:  # omitted: every automation runs (README fact 9)
        fired: tuple[str, ...] = TRIGGERS
    elif isinstance(trigger, list) and all(isinstance(t, str) and t in TRIGGERS for t in trigger):
        fired = tuple(dict.fromkeys(trigger))
    else:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"api_name": "trigger", "json_path": "$.trigger", "supported_values": list(TRIGGERS)})
    req.credits = max(1, math.ceil(len(data) / 10))
    req.records = len(data)
    return data, fired, body


def header_time(req: Request, name: str) -> datetime | None:
    """A datetime header (``If-Unmodified-Since`` ...) as naive UTC; it must carry an offset."""
    raw = req.headers.get(name.lower())
    if not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        dt = None
    if dt is None or dt.tzinfo is None:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"header_name": name, "expected_data_type": "datetime"})
    return dt.astimezone(UTC).replace(tzinfo=None)


def record_details(app: App, m: ModuleDef, ids: list[int], written: dict[str, Any] | None = None
                   ) -> dict[int, dict[str, Any]]:
    """The ``details`` of a success entry, keys in Zoho's order (records.md section 3).

    ``written``: the times and users every record of ``ids`` was just stored with (an insert's,
    see :func:`.writes.insert_stamped`); they are then not read back from the store.
    """
    cols = [c for c in ("Modified_Time", "Modified_By", "Created_Time", "Created_By") if m.field(c)]

    def shown(key: str, v: Any) -> Any:
        return app.clock.render(v) if key.endswith("_Time") else user_ref(v) if v else None

    if written is not None:  # the same for every record: rendered once
        same = {c: shown(c, written[c]) for c in cols}
        rows: list[tuple[Any, dict[str, Any]]] = [
            (rid, {c: dict(v) if isinstance(v, dict) else v for c, v in same.items()}) for rid in ids]
    else:
        select = ", ".join(["id", *cols])
        rows = [(row[0], {c: shown(c, v) for c, v in zip(cols, row[1:], strict=True)}) for row in app.store.fetchall(
            f'SELECT {select} FROM "{m.api_name}" WHERE id IN (SELECT unnest(?))', [ids])]
    out: dict[int, dict[str, Any]] = {}
    for rid, got in rows:
        d: dict[str, Any] = {}
        for key in ("Modified_Time", "Modified_By", "Created_Time", "id", "Created_By"):
            if key == "id":
                d["id"] = str(rid)
            elif key in got:
                d[key] = got[key]
        d["$approval_state"] = "approved"
        out[int(rid)] = d
    return out


def success(details: dict[str, Any], message: str) -> dict[str, Any]:
    """One successful ``data[i]`` entry."""
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def respond(results: list[dict[str, Any]], ok_status: int) -> Response:
    """The batch answer: ``ok_status`` if all succeeded, 207 if mixed, 400 (or 412) if all failed."""
    failed = [r for r in results if r["status"] == "error"]
    if not failed:
        status = ok_status
    elif len(failed) < len(results):
        status = 207
    else:
        status = 412 if all(r["code"] == "ALREADY_MODIFIED" for r in failed) else 400
    return Response.json({"data": results}, status)


def caller(req: Request) -> int:
    """The user the access token belongs to: the records' owner, creator and modifier."""
    assert req.token is not None
    return req.token.user_id


def record_states(app: App, m: ModuleDef, ids: list[int]) -> dict[int, tuple[datetime | None, bool]]:
    """(Modified_Time, converted) of existing records."""
    modified = "Modified_Time" if m.field("Modified_Time") else "NULL"
    converted = "coalesce(Converted__s, false)" if m.field("Converted__s") else "false"
    return {r[0]: (r[1], r[2]) for r in app.store.fetchall(
        f'SELECT id, {modified}, {converted} FROM "{m.api_name}" WHERE id IN (SELECT unnest(?))', [ids])}


def refusal(rid: int, state: tuple[datetime | None, bool], since: datetime | None) -> dict[str, Any] | None:
    """Why an existing record may not be updated (converted lead, changed since ``since``), or None."""
    modified, converted = state
    if converted:  # records.md section 4; the details shape is unconfirmed
        return record_error("CANNOT_PROCESS", "can't update the converted record", {"id": str(rid)})
    if since is not None and modified is not None and modified > since:
        return record_error("ALREADY_MODIFIED", "the record has been modified since the given time", {"id": str(rid)})
    return None
