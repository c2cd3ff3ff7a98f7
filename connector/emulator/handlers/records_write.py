"""Records API writes: ``POST /{module}`` (insert), ``PUT /{module}[/{id}]`` (update), ``DELETE``.

records.md sections 3, 4 and 6; the status of a batch and the shape of each
``data[i]`` are in :mod:`.write_common`, upsert in :mod:`.records_upsert`, the
deleted-records list in :mod:`.records_deleted`. Under ``X-EXTERNAL``
(:mod:`.external_ids`) updates and deletes name records by an external-ID field.
"""

from __future__ import annotations

from typing import Any

from ..app import App
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..values import decode_record
from ..write_batch import WriteBatch
from ..writes import delete_records, insert_stamped, record_triggers, update_records
from ..zoho_errors import record_error
from .common import API, MODULE, RECORD_ID, bool_param, get_module, scopes_for
from .external_ids import external_field, ids_for
from .write_common import (
    INVALID_ID,
    caller,
    header_time,
    heavy_call,
    ids_param,
    parse_body,
    record_details,
    record_states,
    refusal,
    respond,
    success,
)

# -- insert ----------------------------------------------------------------------------------

@route("POST", API + "/" + MODULE, scopes=scopes_for("CREATE"), heavy=heavy_call)
def insert(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    records, fired, _ = parse_body(req)
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
        user = caller(req)
        ids, now = insert_stamped(app, m, [v for _, v in valid], user)
        details = record_details(app, m, ids, {"Modified_Time": now, "Modified_By": user, "Created_Time": now,
                                                "Created_By": user})
        for (i, values), rid in zip(valid, ids, strict=True):
            batch.resolve(i, rid, values.get("Owner") or caller(req))
            results[i] = success(details[rid], "record added")
    record_triggers(app, m, "insert", fired, len(ids))
    return respond([r for r in results if r is not None], 201)


# -- update ----------------------------------------------------------------------------------

def _update(app: App, req: Request, m: ModuleDef, records: list[Any], fired: tuple[str, ...],
            path_value: str | None = None) -> Response:
    """Update records named by their ``id`` (or the ``X-EXTERNAL`` field), or all by ``path_value``."""
    since = header_time(req, "If-Unmodified-Since")
    ext = external_field(req, m)
    key = ext.api_name if ext is not None and path_value is None else "id"
    results: list[dict[str, Any]] = []
    done: list[tuple[int, int, dict[str, Any]]] = []
    with app.store.write_lock:
        raw_ids = [path_value if path_value is not None else rec.get(key) if isinstance(rec, dict) else None
                   for rec in records]
        if key != "id":
            raw_ids = [None if r == "" else r for r in raw_ids]  # an empty external value names nothing
        rids = ids_for(app, m, ext, raw_ids)
        states = record_states(app, m, [rid for rid in rids if rid is not None])
        batch = WriteBatch()
        batch.prefetch(app, m, records)
        for i, (rec, raw_id, rid) in enumerate(zip(records, raw_ids, rids, strict=True)):
            if not isinstance(rec, dict):
                error: dict[str, Any] | None = record_error(
                    "INVALID_DATA", "invalid data", {"expected_data_type": "jsonobject", "json_path": f"$.data[{i}]"})
            elif raw_id is None:
                error = record_error("MANDATORY_NOT_FOUND", "required field not found",
                                     {"api_name": key, "json_path": f"$.data[{i}].{key}"})
            elif rid is None or rid not in states:
                # Under X-EXTERNAL the unknown value is pointed at like a field (details unconfirmed).
                error = record_error("INVALID_DATA", INVALID_ID, {"id": str(raw_id)} if key == "id" else
                                     {"api_name": key, "json_path": f"$.data[{i}].{key}"})
            else:
                error = refusal(rid, states[rid], since)
            if error is None:
                assert rid is not None
                values, errors = decode_record(app, m, {**rec, "id": rid}, op="update", index=i, batch=batch)
                error = errors[0] if errors else None
                if error is None:
                    done.append((i, rid, values))
            results.append(error or {})  # successes are filled in below
        update_records(app, m, [(rid, values) for _, rid, values in done], caller(req))
        details = record_details(app, m, [rid for _, rid, _ in done])
    for i, rid, _ in done:
        results[i] = success(details[rid], "record updated")
    record_triggers(app, m, "update", fired, len(done))
    return respond(results, 200)


@route("PUT", API + "/" + MODULE, scopes=scopes_for("UPDATE"), heavy=heavy_call)
def update_many(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    records, fired, _ = parse_body(req)
    return _update(app, req, m, records, fired)


@route("PUT", API + "/" + MODULE + "/" + RECORD_ID, scopes=scopes_for("UPDATE"))
def update_one(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    records, fired, _ = parse_body(req)
    # The path names the record; only the first element of data is applied (records.md section 4).
    return _update(app, req, m, records[:1], fired, path_value=req.path_params["id"])


def _delete(app: App, req: Request, m: ModuleDef, raw_ids: list[str]) -> Response:
    wf = bool_param(req, "wf_trigger", "true") == "true"
    parsed = ids_for(app, m, external_field(req, m), raw_ids)
    deleted = set(delete_records(app, m, list(dict.fromkeys(i for i in parsed if i is not None)), caller(req)))
    results: list[dict[str, Any]] = []
    for raw, rid in zip(raw_ids, parsed, strict=True):
        if rid is not None and rid in deleted:
            deleted.discard(rid)  # a repeated id is gone by the time Zoho reaches it again
            results.append(success({"id": str(rid)}, "record deleted"))
        else:
            results.append(record_error("INVALID_DATA", INVALID_ID, {"id": raw}))
    record_triggers(app, m, "delete", ("workflow",) if wf else (),
                    sum(1 for r in results if r["status"] == "success"))
    return respond(results, 200)


@route("DELETE", API + "/" + MODULE, scopes=scopes_for("DELETE"))
def delete_many(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    ids = ids_param(req)
    return _delete(app, req, m, ids)


@route("DELETE", API + "/" + MODULE + "/" + RECORD_ID, scopes=scopes_for("DELETE"))
def delete_one(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    return _delete(app, req, m, [req.path_params["id"]])
