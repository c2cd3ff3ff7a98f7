"""Linking and delinking records through a many-to-many related list (v8 ``related_records.json``).

``PUT /{module}/{id}/{list}`` with ``{"data": [{"id": "<related id>", "Member_Status": ...}]}``
links each record (or updates the relation's own fields when it is linked already) and answers
"relation added"; ``PUT .../{list}/{related_id}`` does it for one record. ``DELETE
/{module}/{id}/{list}?ids=...`` and ``DELETE .../{list}/{related_id}`` delink ("relation
removed"). At most 100 records a call. Lists that show records through their own lookup
(Contacts of an Account, Notes) are linked by writing that lookup: they answer
``CANNOT_BE_UPDATED``.
"""

from __future__ import annotations

from typing import Any

from .. import schema
from ..app import App
from ..http import Request, Response, route
from ..org.related import RelatedList
from ..store import q
from ..value_types import FieldError, as_id, scalar_value
from ..writes import insert_records
from ..zoho_errors import ZohoError, record_error
from .common import scopes_for
from .related_records import PATH, resolve
from .write_common import caller, ids_param, parse_body, respond, success

RELATED_INVALID = "the related id given seems to be invalid"


def _linking(rl: RelatedList) -> None:
    if rl.kind != "linking":
        raise ZohoError(400, "CANNOT_BE_UPDATED", "this relation is made by the related record's lookup: update "
                        "that record instead", {"api_name": rl.field or rl.api_name})


def _link(app: App, req: Request, parent_id: int, rl: RelatedList, items: list[tuple[str, dict[str, Any]]]
          ) -> Response:
    assert rl.linking and rl.field and rl.connected_field
    linking = schema.MODULES_BY_NAME[rl.linking]
    shown = schema.MODULES_BY_NAME[rl.module]
    wanted = [as_id(raw) for raw, _ in items]
    alive = app.store.exists(shown, [w for w in wanted if w is not None])
    results: list[dict[str, Any]] = []
    with app.store.write_lock:
        linked = {r[1]: r[0] for r in app.store.fetchall(
            f"SELECT id, {q(rl.connected_field)} FROM {q(linking.api_name)} WHERE {q(rl.field)} = ?", [parent_id])}
        for j, ((raw, item), rid) in enumerate(zip(items, wanted, strict=True)):
            if rid is None or rid not in alive:
                results.append(record_error("INVALID_DATA", RELATED_INVALID, {"id": str(raw)}))
                continue
            try:
                data = {name: scalar_value(linking.by_name[name], item[name], f"$.data[{j}].{name}")
                        for name in rl.data_fields if name in item}
            except FieldError as e:
                results.append(e.error)
                continue
            if rid in linked:
                if data:
                    app.store.update_row(linking, linked[rid], data, app.clock.now_naive(), keep_history=False)
            else:
                new = insert_records(app, linking, [{rl.field: parent_id, rl.connected_field: rid, **data}],
                                     caller(req))
                linked[rid] = new[0]
            results.append(success({"id": str(rid)}, "relation added"))
    return respond(results, 200)


def _delink(app: App, parent_id: int, rl: RelatedList, raw_ids: list[str]) -> Response:
    assert rl.linking and rl.field and rl.connected_field
    results = []
    with app.store.write_lock:
        for raw in raw_ids:
            rid = as_id(raw)
            row = app.store.fetchone(f"SELECT id FROM {q(rl.linking)} WHERE {q(rl.field)} = ? AND "
                                     f"{q(rl.connected_field)} = ?", [parent_id, rid]) if rid else None
            if row is None:
                results.append(record_error("INVALID_DATA", RELATED_INVALID, {"id": raw}))
                continue
            app.store.execute(f"DELETE FROM {q(rl.linking)} WHERE id = ?", [row[0]])
            results.append(success({"id": str(rid)}, "relation removed"))
    return respond(results, 200)


@route("PUT", PATH, scopes=scopes_for("UPDATE"))
def link_records(app: App, req: Request) -> Response:
    _, parent_id, rl, _ = resolve(app, req, "UPDATE")
    _linking(rl)
    records, _, _ = parse_body(req)
    items = []
    for j, rec in enumerate(records):
        if not isinstance(rec, dict) or rec.get("id") in (None, ""):
            raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found",
                            {"api_name": "id", "json_path": f"$.data[{j}].id"})
        items.append((str(rec["id"]), rec))
    return _link(app, req, parent_id, rl, items)


@route("PUT", PATH + r"/(?P<related_id>[0-9]+)", scopes=scopes_for("UPDATE"))
def link_record(app: App, req: Request) -> Response:
    _, parent_id, rl, _ = resolve(app, req, "UPDATE")
    _linking(rl)
    records, _, _ = parse_body(req) if req.body.strip() else ([{}], (), {})
    first = records[0] if isinstance(records[0], dict) else {}
    return _link(app, req, parent_id, rl, [(req.path_params["related_id"], first)])


@route("DELETE", PATH, scopes=scopes_for("UPDATE"))
def delink_records(app: App, req: Request) -> Response:
    _, parent_id, rl, _ = resolve(app, req, "UPDATE")
    _linking(rl)
    ids = ids_param(req)
    return _delink(app, parent_id, rl, ids)


@route("DELETE", PATH + r"/(?P<related_id>[0-9]+)", scopes=scopes_for("UPDATE"))
def delink_record(app: App, req: Request) -> Response:
    _, parent_id, rl, _ = resolve(app, req, "UPDATE")
    _linking(rl)
    return _delink(app, parent_id, rl, [req.path_params["related_id"]])
