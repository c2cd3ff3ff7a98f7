"""Tags API (v8 ``tags.json``): ``/settings/tags`` and the records' ``add_tags``/``remove_tags`` actions.

* ``GET /settings/tags?module=X``: the module's tags with ``info.count`` and ``info.allowed_count``.
* ``POST``/``PUT /settings/tags?module=X`` (``{"tags": [...]}``), ``PUT``/``DELETE /settings/tags/{id}``,
  ``POST /settings/tags/{id}/actions/merge`` (``{"tags": [{"conflict_id": ...}]}``) and
  ``GET /settings/tags/{id}/actions/records_count?module=X`` (``{"count": "N"}``).
* ``POST /{module}/{id}/actions/add_tags`` and ``/remove_tags`` (``{"tags": [{"name"}], "over_write"}``),
  and their many-record forms ``/{module}/actions/add_tags`` with ``"ids": [...]`` (at most 100).

Only modules with a ``Tag`` field (an enterprise org's record modules) take tags; the others
answer ``INVALID_MODULE``. Per-tag and per-record results come in ``tags``/``data`` arrays.
"""

from __future__ import annotations

from typing import Any

from .. import tags
from ..app import App
from ..http import Request, Response, route
from ..schema import ModuleDef
from ..value_types import as_id
from ..zoho_errors import ZohoError, record_error
from .common import API, MODULE, RECORD_ID, fixed_scopes, get_module, scopes_for
from .write_common import MAX_RECORDS, caller, respond, success

READ = fixed_scopes("ZohoCRM.settings.ALL", "ZohoCRM.settings.READ", "ZohoCRM.settings.tags.READ",
                    "ZohoCRM.settings.tags.ALL")
WRITE = fixed_scopes("ZohoCRM.settings.ALL", "ZohoCRM.settings.tags.CREATE", "ZohoCRM.settings.tags.UPDATE",
                     "ZohoCRM.settings.tags.DELETE", "ZohoCRM.settings.tags.WRITE", "ZohoCRM.settings.tags.ALL")


def _module(app: App, req: Request, required: bool = True) -> ModuleDef | None:
    name = req.param("module")
    if not name:
        if not required:
            return None
        raise ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "module"})
    m = app.org.module(name)
    if m is None or not m.field("Tag"):
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
    return m


def _tag_json(app: App, row: tuple[Any, ...]) -> dict[str, Any]:
    from ..write_batch import user_ref

    return {"name": row[1], "color_code": row[2], "id": str(row[0]), "created_time": app.clock.render(row[3]),
            "modified_time": app.clock.render(row[4]), "created_by": user_ref(row[5]), "modified_by": user_ref(row[6])}


def _body_tags(req: Request, key: str = "tags") -> list[Any]:
    body = req.json()
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": key, "json_path": f"$.{key}"})
    return items


def _respond(results: list[dict[str, Any]], ok: int) -> Response:
    failed = [r for r in results if r["status"] == "error"]
    status = ok if not failed else 207 if len(failed) < len(results) else 400
    return Response.json({"tags": results}, status)


def _check_name(item: Any, j: int, existing: dict[str, tags.Tag], own_id: int | None) -> str | dict[str, Any]:
    name = item.get("name") if isinstance(item, dict) else None
    path = f"$.tags[{j}].name"
    if not isinstance(name, str) or not name.strip():
        return record_error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "name", "json_path": path})
    if len(name) > tags.MAX_NAME:
        return record_error("INVALID_DATA", "invalid data", {"api_name": "name", "json_path": path,
                                                             "maximum_length": tags.MAX_NAME})
    clash = existing.get(name.strip().lower())
    if clash is not None and clash.id != own_id:
        return record_error("DUPLICATE_DATA", "duplicate data", {"id": str(clash.id), "api_name": "name"})
    color = item.get("color_code")
    if color is not None and color not in tags.COLORS:
        return record_error("INVALID_DATA", "invalid data", {"api_name": "color_code",
                                                             "json_path": f"$.tags[{j}].color_code"})
    return name.strip()


def _details(app: App, tag_id: int) -> dict[str, Any]:
    row = app.store.fetchone("SELECT id, name, color_code, created_time, modified_time, created_by, modified_by "
                             "FROM tags WHERE id = ?", [tag_id])
    assert row is not None
    out = _tag_json(app, row)
    del out["name"]
    return out


@route("GET", API + r"/settings/tags", scopes=READ)
def list_tags(app: App, req: Request) -> Response:
    m = _module(app, req)
    assert m is not None
    rows = tags.module_tags(app.store, m.api_name)
    return Response.json({"tags": [_tag_json(app, r) for r in rows],
                          "info": {"count": len(rows), "allowed_count": tags.MAX_TAGS_PER_MODULE}})


@route("POST", API + r"/settings/tags", scopes=WRITE)
def create_tags(app: App, req: Request) -> Response:
    m = _module(app, req)
    assert m is not None
    items = _body_tags(req)
    results: list[dict[str, Any]] = []
    with app.store.write_lock:
        existing = tags.by_name(app.store, m.api_name)
        for j, item in enumerate(items):
            name = _check_name(item, j, existing, None)
            if isinstance(name, dict):
                results.append(name)
                continue
            if len(existing) >= tags.MAX_TAGS_PER_MODULE:
                results.append(record_error("LIMIT_EXCEEDED", "limit exceeded", {"limit": tags.MAX_TAGS_PER_MODULE}))
                continue
            tag = tags.create(app.store, m.api_name, name, item.get("color_code"), caller(req), app.clock.now_naive())
            existing[name.lower()] = tag
            results.append(success(_details(app, tag.id), "tags created successfully"))
    return _respond(results, 201)


def _update(app: App, req: Request, m: ModuleDef, updates: list[tuple[Any, Any]]) -> Response:
    results: list[dict[str, Any]] = []
    with app.store.write_lock:
        existing = tags.by_name(app.store, m.api_name)
        for j, (raw_id, item) in enumerate(updates):
            tid = as_id(raw_id)
            found = tags.by_id(app.store, m.api_name, tid) if tid else None
            if found is None or tid is None:
                results.append(record_error("INVALID_DATA", "invalid data", {"api_name": "id",
                                                                             "json_path": f"$.tags[{j}].id"}))
                continue
            name = _check_name(item, j, existing, tid)
            if isinstance(name, dict):
                results.append(name)
                continue
            color = item.get("color_code") or found[1].color_code
            app.store.execute("UPDATE tags SET name = ?, color_code = ?, modified_time = ?, modified_by = ? "
                              "WHERE id = ?", [name, color, app.clock.now_naive(), caller(req), tid])
            existing = tags.by_name(app.store, m.api_name)
            results.append(success(_details(app, tid), "tags updated successfully"))
    return _respond(results, 200)


@route("PUT", API + r"/settings/tags", scopes=WRITE)
def update_tags(app: App, req: Request) -> Response:
    m = _module(app, req)
    assert m is not None
    items = _body_tags(req)
    return _update(app, req, m, [(i.get("id") if isinstance(i, dict) else None, i) for i in items])


@route("PUT", API + r"/settings/tags/(?P<tag_id>[0-9]+)", scopes=WRITE)
def update_tag(app: App, req: Request) -> Response:
    m = _module(app, req)
    assert m is not None
    return _update(app, req, m, [(req.path_params["tag_id"], _body_tags(req)[0])])


def _known(app: App, req: Request) -> tuple[str, tags.Tag]:
    m = _module(app, req, required=False)
    found = tags.by_id(app.store, m.api_name if m else None, int(req.path_params["tag_id"]))
    if found is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 4})
    return found


@route("DELETE", API + r"/settings/tags/(?P<tag_id>[0-9]+)", scopes=WRITE)
def delete_tag(app: App, req: Request) -> Response:
    with app.store.write_lock:
        _, tag = _known(app, req)
        app.store.execute("DELETE FROM record_tags WHERE tag_id = ?", [tag.id])
        app.store.execute("DELETE FROM tags WHERE id = ?", [tag.id])
    return Response.json({"tags": [success({"id": str(tag.id)}, "tags deleted successfully")]})


@route("POST", API + r"/settings/tags/(?P<tag_id>[0-9]+)/actions/merge", scopes=WRITE)
def merge_tags(app: App, req: Request) -> Response:
    item = _body_tags(req)[0]
    with app.store.write_lock:
        module, keep = _known(app, req)
        other = tags.by_id(app.store, module, as_id(item.get("conflict_id") if isinstance(item, dict) else None) or 0)
        if other is None or other[1].id == keep.id:
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": "conflict_id",
                                                                  "json_path": "$.tags[0].conflict_id"})
        gone = other[1].id
        app.store.execute("UPDATE record_tags SET tag_id = ? WHERE tag_id = ? AND record_id NOT IN "
                          "(SELECT record_id FROM record_tags WHERE tag_id = ?)", [keep.id, gone, keep.id])
        app.store.execute("DELETE FROM record_tags WHERE tag_id = ?", [gone])
        app.store.execute("DELETE FROM tags WHERE id = ?", [gone])
    return Response.json({"tags": [success(_details(app, keep.id), "tags merged successfully")]})


@route("GET", API + r"/settings/tags/(?P<tag_id>[0-9]+)/actions/records_count", scopes=READ)
def records_count(app: App, req: Request) -> Response:
    _module(app, req)
    _, tag = _known(app, req)
    row = app.store.fetchone("SELECT count(*) FROM record_tags WHERE tag_id = ?", [tag.id])
    return Response.json({"count": str(row[0] if row else 0)})


def _requested(req: Request) -> tuple[list[dict[str, Any]], bool, list[Any]]:
    """(tags named, over_write, ids) from the body, or from the older ``tag_names``/``ids`` parameters."""
    body = req.json(required=False) if req.body.strip() else None
    if isinstance(body, dict) and isinstance(body.get("tags"), list):
        over = body.get("over_write", req.param("over_write") == "true")
        return body["tags"], over is True, list(body.get("ids") or [])
    names = [n.strip() for n in (req.param("tag_names") or "").split(",") if n.strip()]
    if not names:
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "tags",
                                                                                 "json_path": "$.tags"})
    return [{"name": n} for n in names], req.param("over_write") == "true", (req.param("ids") or "").split(",")


def _tag_records(app: App, req: Request, m: ModuleDef, ids: list[Any], add: bool) -> Response:
    requested, over, _ = _requested(req)
    if len(ids) > MAX_RECORDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"the maximum number of ids allowed is {MAX_RECORDS}",
                        {"limit": MAX_RECORDS})
    for j, item in enumerate(requested):
        name = item.get("name") if isinstance(item, dict) else None
        if add and (not isinstance(name, str) or not name.strip() or len(name) > tags.MAX_NAME):
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": "name", "json_path": f"$.tags[{j}].name"})
    results: list[dict[str, Any]] = []
    with app.store.write_lock:
        alive = app.store.exists(m, [i for i in (as_id(x) for x in ids) if i is not None])
        known = tags.by_name(app.store, m.api_name)
        for raw in ids:
            rid = as_id(raw)
            if rid is None or rid not in alive:
                results.append(record_error("INVALID_DATA", "the id given seems to be invalid", {"id": str(raw)}))
                continue
            if add:
                chosen = tags.ensure(app.store, m.api_name, [str(t["name"]).strip() for t in requested], caller(req),
                                     app.clock.now_naive())
                have = {t.id for t in tags.of_records(app.store, m.api_name, [rid])[rid]} if not over else set()
                if len(have | {t.id for t in chosen}) > tags.MAX_TAGS_PER_RECORD:
                    results.append(record_error("LIMIT_EXCEEDED", "limit exceeded",
                                                {"id": str(rid), "limit": tags.MAX_TAGS_PER_RECORD}))
                    continue
                tags.attach(app.store, m.api_name, rid, chosen, over)
            else:
                drop = [t.id for t in known.values() if any(
                    str(r.get("id")) == str(t.id) or str(r.get("name", "")).lower() == t.name.lower()
                    for r in requested if isinstance(r, dict))]
                tags.detach(app.store, m.api_name, rid, drop)
            now = [t.ref() for t in tags.of_records(app.store, m.api_name, [rid])[rid]]
            results.append(success({"id": str(rid), "tags": now}, "tags updated successfully"))
    return respond(results, 200)


@route("POST", API + "/" + MODULE + "/" + RECORD_ID + r"/actions/add_tags", scopes=scopes_for("UPDATE"))
def add_tags(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    _module_takes_tags(m)
    return _tag_records(app, req, m, [req.path_params["id"]], True)


@route("POST", API + "/" + MODULE + "/" + RECORD_ID + r"/actions/remove_tags", scopes=scopes_for("UPDATE"))
def remove_tags(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    _module_takes_tags(m)
    return _tag_records(app, req, m, [req.path_params["id"]], False)


@route("POST", API + "/" + MODULE + r"/actions/add_tags", scopes=scopes_for("UPDATE"))
def add_tags_to_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    _module_takes_tags(m)
    return _tag_records(app, req, m, [x for x in _requested(req)[2] if str(x).strip()], True)


@route("POST", API + "/" + MODULE + r"/actions/remove_tags", scopes=scopes_for("UPDATE"))
def remove_tags_from_records(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    _module_takes_tags(m)
    return _tag_records(app, req, m, [x for x in _requested(req)[2] if str(x).strip()], False)


def _module_takes_tags(m: ModuleDef) -> None:
    if not m.field("Tag"):
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 2})
