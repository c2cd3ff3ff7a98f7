"""Records API writes: insert, update, upsert, delete, and the deleted-records list.

records.md sections 3-7. Batch calls take at most 100 records and answer one
``data[i]`` per input record, in input order: all succeeded -> 201 (insert) or
200, mixed -> 207, every record failed -> 400 with the ``data`` array (records.md
section 3 says so, though some integrators report 207; connectors must read
``data[i].status`` whatever the status), or 412 when every failure is
``ALREADY_MODIFIED`` (``If-Unmodified-Since``). Credits: 1 per 10 records; more
than 10 records makes the call "heavy" (sub-concurrency, limits-and-errors.md 2-3).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from ..app import App
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..values import WriteBatch, as_id, decode_record, user_ref
from ..writes import (
    MATCHABLE,
    TRIGGERS,
    delete_records,
    find_matches,
    insert_records,
    match_key,
    record_triggers,
    update_records,
)
from ..zoho_errors import ZohoError, record_error, required_param
from .common import API, MODULE, RECORD_ID, bool_param, get_module, int_param, scopes_for

MAX_RECORDS = 100
RECYCLE_BIN_DAYS = 60  # records.md section 7: recycle bin keeps records 60 days...
PERMANENT_LIST_DAYS = 120  # ...and permanently deleted ids stay listed 120 more (v7 docs)
INVALID_ID = "the id given seems to be invalid"


def _record_count(req: Request) -> int:
    try:
        data = json.loads(req.body).get("data")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return 0
    return len(data) if isinstance(data, list) else 0


def _heavy(req: Request) -> bool:
    return _record_count(req) > 10


def _upsert_scopes(req: Request) -> list[str]:
    # Upsert may create or update: either permission lets the call in.
    return list(scopes_for("CREATE")(req)) + list(scopes_for("UPDATE")(req))


def _parse_body(req: Request) -> tuple[list[Any], tuple[str, ...], dict[str, Any]]:
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


def _header_time(req: Request, name: str) -> datetime | None:
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


def _details(app: App, m: ModuleDef, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The ``details`` of a success entry, keys in Zoho's order (records.md section 3)."""
    cols = [c for c in ("Modified_Time", "Modified_By", "Created_Time", "Created_By") if m.field(c)]
    select = ", ".join(["id", *cols])
    rows = app.store.fetchall(f'SELECT {select} FROM "{m.api_name}" WHERE id IN (SELECT unnest(?))', [ids])
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        got = dict(zip(["id", *cols], row, strict=True))
        d: dict[str, Any] = {}
        for key in ("Modified_Time", "Modified_By", "Created_Time", "id", "Created_By"):
            if key == "id":
                d["id"] = str(row[0])
            elif key in got:
                v = got[key]
                d[key] = app.clock.render(v) if key.endswith("_Time") else user_ref(v) if v else None
        d["$approval_state"] = "approved"
        out[int(row[0])] = d
    return out


def _success(details: dict[str, Any], message: str) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def _respond(results: list[dict[str, Any]], ok_status: int) -> Response:
    failed = [r for r in results if r["status"] == "error"]
    if not failed:
        status = ok_status
    elif len(failed) < len(results):
        status = 207
    else:
        status = 412 if all(r["code"] == "ALREADY_MODIFIED" for r in failed) else 400
    return Response.json({"data": results}, status)


def _user(req: Request) -> int:
    assert req.token is not None
    return req.token.user_id


# -- insert ----------------------------------------------------------------------------------

@route("POST", API + "/" + MODULE, scopes=scopes_for("CREATE"), heavy=_heavy)
def insert(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    records, fired, _ = _parse_body(req)
    results: list[dict[str, Any] | None] = [None] * len(records)
    with app.store.write_lock:
        batch = WriteBatch()
        batch.prefetch(app, m, records)
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, rec in enumerate(records):
            values, errors = decode_record(app, m, rec, op="insert", index=i, batch=batch)
            if errors:
                results[i] = errors[0]  # Zoho reports one error per record
            else:
                valid.append((i, values))
        ids = insert_records(app, m, [v for _, v in valid], _user(req))
        details = _details(app, m, ids)
        for (i, values), rid in zip(valid, ids, strict=True):
            batch.resolve(i, rid, values.get("Owner") or _user(req))
            results[i] = _success(details[rid], "record added")
    record_triggers(app, m, "insert", fired, len(ids))
    return _respond([r for r in results if r is not None], 201)


# -- update ----------------------------------------------------------------------------------

def _states(app: App, m: ModuleDef, ids: list[int]) -> dict[int, tuple[datetime | None, bool]]:
    """(Modified_Time, converted) of existing records."""
    modified = "Modified_Time" if m.field("Modified_Time") else "NULL"
    converted = "coalesce(Converted__s, false)" if m.field("Converted__s") else "false"
    return {r[0]: (r[1], r[2]) for r in app.store.fetchall(
        f'SELECT id, {modified}, {converted} FROM "{m.api_name}" WHERE id IN (SELECT unnest(?))', [ids])}


def _refusal(rid: int, state: tuple[datetime | None, bool], since: datetime | None) -> dict[str, Any] | None:
    modified, converted = state
    if converted:  # records.md section 4; the details shape is unconfirmed
        return record_error("CANNOT_PROCESS", "can't update the converted record", {"id": str(rid)})
    if since is not None and modified is not None and modified > since:
        return record_error("ALREADY_MODIFIED", "the record has been modified since the given time", {"id": str(rid)})
    return None


def _update(app: App, req: Request, m: ModuleDef, records: list[Any], fired: tuple[str, ...],
            path_id: int | None = None) -> Response:
    since = _header_time(req, "If-Unmodified-Since")
    results: list[dict[str, Any]] = []
    done: list[tuple[int, int, dict[str, Any]]] = []
    with app.store.write_lock:
        raw_ids = [path_id if path_id is not None else rec.get("id") if isinstance(rec, dict) else None
                   for rec in records]
        states = _states(app, m, [i for i in (as_id(r) for r in raw_ids) if i is not None])
        batch = WriteBatch()
        batch.prefetch(app, m, records)
        for i, (rec, raw_id) in enumerate(zip(records, raw_ids, strict=True)):
            rid = as_id(raw_id)
            if not isinstance(rec, dict):
                error: dict[str, Any] | None = record_error(
                    "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject", "json_path": f"$.data[{i}]"})
            elif raw_id is None:
                error = record_error("MANDATORY_NOT_FOUND", "required field not found",
                                     {"api_name": "id", "json_path": f"$.data[{i}].id"})
            elif rid is None or rid not in states:
                error = record_error("INVALID_DATA", INVALID_ID, {"id": str(raw_id)})
            else:
                error = _refusal(rid, states[rid], since)
            if error is None:
                assert rid is not None
                values, errors = decode_record(app, m, {**rec, "id": rid}, op="update", index=i, batch=batch)
                error = errors[0] if errors else None
                if error is None:
                    done.append((i, rid, values))
            results.append(error or {})  # successes are filled in below
        update_records(app, m, [(rid, values) for _, rid, values in done], _user(req))
        details = _details(app, m, [rid for _, rid, _ in done])
    for i, rid, _ in done:
        results[i] = _success(details[rid], "record updated")
    record_triggers(app, m, "update", fired, len(done))
    return _respond(results, 200)


@route("PUT", API + "/" + MODULE, scopes=scopes_for("UPDATE"), heavy=_heavy)
def update_many(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    records, fired, _ = _parse_body(req)
    return _update(app, req, m, records, fired)


@route("PUT", API + "/" + MODULE + "/" + RECORD_ID, scopes=scopes_for("UPDATE"))
def update_one(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    records, fired, _ = _parse_body(req)
    # The path names the record; only the first element of data is applied (records.md section 4).
    return _update(app, req, m, records[:1], fired, path_id=int(req.path_params["id"]))


# -- upsert ----------------------------------------------------------------------------------

def _check_fields(m: ModuleDef, body: dict[str, Any]) -> list[str]:
    given = body.get("duplicate_check_fields")
    if given is None:
        # Default: the module's system duplicate-check field, then its unique fields (records.md 5).
        names = list(m.duplicate_check_fields)
        return names + [f.api_name for f in m.fields if f.unique and f.api_name not in names]
    fields = [m.field(n) if isinstance(n, str) else None for n in given] if isinstance(given, list) else [None]
    if not fields or any(f is None or f.data_type not in MATCHABLE for f in fields):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"})
    return [f.api_name for f in fields if f is not None]


def _keys(m: ModuleDef, rec: Any, names: list[str]) -> list[tuple[str, Any]]:
    """(field, comparison key) of a record's duplicate-check values, in check order."""
    out = []
    for name in names:
        raw = rec.get(name) if isinstance(rec, dict) else None
        key = match_key(m.field(name), raw.get("id") if isinstance(raw, dict) else raw)
        if key is not None:
            out.append((name, key))
    return out


class _Upsert:
    """One upsert call. Records are matched in order, as Zoho processes them: a record matching one
    inserted earlier in the same call updates it. Inserts are buffered and written together unless a
    later record needs an earlier one's id."""

    def __init__(self, app: App, req: Request, m: ModuleDef, records: list[Any], names: list[str]) -> None:
        self.app, self.m, self.user, self.names = app, m, _user(req), names
        self.batch = WriteBatch()
        self.batch.prefetch(app, m, records)
        # comparison key -> id, per field, for every value the call carries (oldest record wins)
        self.known: dict[str, dict[Any, int]] = {}
        for name in names:
            raw = [k for r in records for n, k in _keys(m, r, [name]) if n == name]
            found = find_matches(app, m, name, raw)
            self.known[name] = {match_key(m.field(name), v): rid for v, rid in found.items()}
        self.states = _states(app, m, [rid for ids in self.known.values() for rid in ids.values()])
        self.inserts: list[tuple[int, dict[str, Any], list[tuple[str, Any]]]] = []
        self.pending: set[tuple[str, Any]] = set()  # duplicate-check keys of the buffered inserts
        self.updates: list[tuple[int, int, dict[str, Any], str]] = []
        self.done: list[tuple[int, int, str, str | None]] = []

    def flush(self) -> None:
        ids = insert_records(self.app, self.m, [v for _, v, _ in self.inserts], self.user)
        for (i, values, keys), rid in zip(self.inserts, ids, strict=True):
            self.batch.resolve(i, rid, values.get("Owner") or self.user)
            self.done.append((i, rid, "insert", None))
            for name, key in keys:
                self.known[name].setdefault(key, rid)
        self.inserts = []
        self.pending.clear()

    def record(self, i: int, rec: Any) -> dict[str, Any] | None:
        keys = _keys(self.m, rec, self.names)
        if self.pending.intersection(keys):
            self.flush()  # this record matches one not written yet: write it first
        hit = next(((self.known[n][k], n) for n, k in keys if k in self.known[n]), None)
        if hit is None:
            values, errors = decode_record(self.app, self.m, rec, op="insert", index=i, batch=self.batch)
            if not errors:
                self.inserts.append((i, values, keys))
                self.pending.update(keys)
            return errors[0] if errors else None
        rid, name = hit
        refusal = _refusal(rid, self.states.get(rid, (None, False)), None)
        if refusal is not None:
            return refusal
        values, errors = decode_record(self.app, self.m, {**rec, "id": rid}, op="update", index=i, batch=self.batch)
        if errors:
            return errors[0]
        self.updates.append((i, rid, values, name))
        for n, k in keys:  # its new values now find it
            self.known[n].setdefault(k, rid)
        return None

    def finish(self) -> None:
        self.flush()
        update_records(self.app, self.m, [(rid, values) for _, rid, values, _ in self.updates], self.user)
        self.done += [(i, rid, "update", name) for i, rid, _, name in self.updates]


@route("POST", API + "/" + MODULE + "/upsert", scopes=_upsert_scopes, heavy=_heavy)
def upsert(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    records, fired, body = _parse_body(req)
    names = _check_fields(m, body)
    with app.store.write_lock:
        call = _Upsert(app, req, m, records, names)
        results = [call.record(i, rec) or {} for i, rec in enumerate(records)]
        call.finish()
        details = _details(app, m, [rid for _, rid, _, _ in call.done])
    for i, rid, action, dup_field in call.done:
        results[i] = {"code": "SUCCESS", "duplicate_field": dup_field, "action": action, "details": details[rid],
                      "message": "record added" if action == "insert" else "record updated", "status": "success"}
    for action in ("insert", "update"):
        record_triggers(app, m, action, fired, sum(1 for d in call.done if d[2] == action))
    return _respond(results, 200)


# -- delete ----------------------------------------------------------------------------------

def _delete(app: App, req: Request, m: ModuleDef, raw_ids: list[str]) -> Response:
    wf = bool_param(req, "wf_trigger", "true") == "true"
    parsed = [as_id(r) for r in raw_ids]
    deleted = set(delete_records(app, m, list(dict.fromkeys(i for i in parsed if i is not None)), _user(req)))
    results: list[dict[str, Any]] = []
    for raw, rid in zip(raw_ids, parsed, strict=True):
        if rid is not None and rid in deleted:
            deleted.discard(rid)  # a repeated id is gone by the time Zoho reaches it again
            results.append(_success({"id": str(rid)}, "record deleted"))
        else:
            results.append(record_error("INVALID_DATA", INVALID_ID, {"id": raw}))
    record_triggers(app, m, "delete", ("workflow",) if wf else (),
                    sum(1 for r in results if r["status"] == "success"))
    return _respond(results, 200)


@route("DELETE", API + "/" + MODULE, scopes=scopes_for("DELETE"))
def delete_many(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    ids = [s.strip() for s in (req.param("ids") or "").split(",") if s.strip()]
    if not ids:
        raise required_param("ids")
    if len(ids) > MAX_RECORDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"the maximum number of ids allowed is {MAX_RECORDS}",
                        {"limit": MAX_RECORDS})
    return _delete(app, req, m, ids)


@route("DELETE", API + "/" + MODULE + "/" + RECORD_ID, scopes=scopes_for("DELETE"))
def delete_one(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    return _delete(app, req, m, [req.path_params["id"]])


# -- deleted records -------------------------------------------------------------------------

@route("GET", API + "/" + MODULE + "/deleted", scopes=scopes_for("READ"))
def deleted_records(app: App, req: Request) -> Response:
    m = get_module(req.path_params["module"])
    kind = req.param("type") or "all"
    if kind not in ("all", "recycle", "permanent"):
        raise ZohoError(400, "PATTERN_NOT_MATCHED", "Please check whether the input values are correct",
                        {"param_name": "type"})
    page = int_param(req, "page", 1, low=1)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    since = _header_time(req, "If-Modified-Since")
    req.credits = 2  # limits-and-errors.md section 2
    now = app.clock.now_naive()
    recycle_from = now - timedelta(days=RECYCLE_BIN_DAYS)
    kind_sql = "CASE WHEN deleted_time >= ? THEN 'recycle' ELSE 'permanent' END"
    where = ["module = ?", "deleted_time >= ?"]
    params: list[Any] = [recycle_from, m.api_name, recycle_from - timedelta(days=PERMANENT_LIST_DAYS)]
    if kind != "all":
        where.append(f"{kind_sql} = ?")
        params += [recycle_from, kind]
    if since is not None:
        where.append("deleted_time > ?")
        params.append(since)
    rows = app.store.fetchall(
        f"SELECT id, display_name, {kind_sql}, deleted_by, created_by, deleted_time FROM deleted_records "
        f"WHERE {' AND '.join(where)} ORDER BY deleted_time DESC, id DESC LIMIT ? OFFSET ?",
        [*params, per_page + 1, (page - 1) * per_page])
    if not rows:
        # Nothing deleted after If-Modified-Since -> 304, as for the list call (README fact 8).
        return Response.empty(304 if since is not None and page == 1 else 204)
    more = len(rows) > per_page
    data = [{"deleted_by": user_ref(r[3]) if r[3] else None, "id": str(r[0]), "display_name": r[1],
             "type": r[2], "created_by": user_ref(r[4]) if r[4] else None,
             "deleted_time": app.clock.render(r[5])} for r in rows[:per_page]]
    req.records = len(data)
    return Response.json({"data": data, "info": {"per_page": per_page, "count": len(data), "page": page,
                                                 "more_records": more}})
