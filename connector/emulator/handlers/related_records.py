"""Related records API: ``/{module}/{id}/{related_list}[/{related_id}]`` (v8 ``related_records.json``).

``GET`` lists the records of a related list (``fields`` optional, ``page`` x ``per_page`` up
to 200, 204 when empty); ``POST`` on ``Notes`` adds notes to the record; ``PUT`` links
records to a many-to-many list (or updates the relation's own fields) and ``DELETE``
delinks them (:mod:`.related_links`). The Attachments list has its own API
(:mod:`.attachments`).

Errors follow the spec's ``API_Exception``: an unknown related list is ``INVALID_DATA``
"The relation name given seems to be invalid" pointing at the path segment; a record that
does not exist is ``INVALID_DATA`` "the related id given seems to be invalid" (unconfirmed
which of the two ids the message means; the emulator uses it for both).
"""

from __future__ import annotations

from typing import Any

from .. import schema
from ..app import App
from ..encoding import RecordReader, meta_keys, record_fields, scalar_to_json
from ..http import Request, Response, route
from ..org.related import RelatedList, related_list
from ..schema import ModuleDef
from ..store import module_column, q
from ..tokens import require_scope
from ..values import decode_record
from ..write_batch import WriteBatch
from ..writes import insert_records
from ..zoho_errors import ZohoError, record_error
from .common import API, MODULE, RECORD_ID, get_module, int_param, module_scopes_of, scopes_for, split_fields
from .external_ids import path_record_id
from .write_common import caller, parse_body, record_details, respond, success

RELATED = r"(?P<related>[A-Za-z0-9_]+)"
PATH = API + "/" + MODULE + "/" + RECORD_ID + "/" + RELATED


def invalid_relation() -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "The relation name given seems to be invalid", {"resource_path_index": 4})


def invalid_related_id(raw: str, index: int = 3) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid",
                     {"id": raw, "resource_path_index": index})


def resolve(app: App, req: Request, op: str = "READ") -> tuple[ModuleDef, int, RelatedList, ModuleDef]:
    """(parent module, parent id, related list, module of the listed records), scopes checked."""
    from .. import schema

    m = get_module(app.org, req.path_params["module"])
    rl = related_list(app.org, m.api_name, req.path_params["related"])
    if rl is None:
        raise invalid_relation()
    child = schema.MODULES_BY_NAME[rl.module]
    assert req.token is not None
    # Reading a related list needs read access to the records it shows (and the parent's).
    require_scope(req.token, module_scopes_of(child, op))
    rid = path_record_id(app, req, m)
    if rid is None or not app.store.exists(m, [rid]):
        raise invalid_related_id(req.path_params["id"])
    return m, rid, rl, child


def relation_data(app: App, rl: RelatedList, parent_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The relation's own fields (a campaign member's Member_Status) per listed record."""
    if rl.kind != "linking" or not rl.data_fields or not ids:
        return {}
    assert rl.linking and rl.field and rl.connected_field
    cols = ", ".join(q(c) for c in rl.data_fields)
    rows = app.store.fetchall(f"SELECT {q(rl.connected_field)}, {cols} FROM {q(rl.linking)} "
                              f"WHERE {q(rl.field)} = ? AND {q(rl.connected_field)} IN (SELECT unnest(?))",
                              [parent_id, ids])
    types = [schema.MODULES_BY_NAME[rl.linking].by_name[c].value_type for c in rl.data_fields]
    return {r[0]: {c: scalar_to_json(t, v, app.clock) for c, t, v in zip(rl.data_fields, types, r[1:], strict=True)}
            for r in rows}


def child_where(parent: ModuleDef, rl: RelatedList, child: ModuleDef) -> str:
    """SQL (alias ``t``) selecting the records of a ``child`` related list; one parameter: the parent id."""
    f = child.field(rl.field or "")
    assert f is not None
    where = f"t.{q(f.api_name)} = ?"
    mod_col = module_column(f)
    if mod_col:
        where += f" AND t.{q(mod_col)} = '{parent.api_name}'"
    return where


def linked_where(rl: RelatedList) -> str:
    """SQL (alias ``t``) selecting the records linked to the parent through a linking module."""
    assert rl.linking and rl.field and rl.connected_field
    return (f"t.id IN (SELECT l.{q(rl.connected_field)} FROM {q(rl.linking)} l "
            f"WHERE l.{q(rl.field)} = ?)")


@route("GET", PATH, scopes=scopes_for("READ"))
def get_related(app: App, req: Request) -> Response:
    m, rid, rl, child = resolve(app, req)
    names = split_fields(req, child, required=False)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    page = int_param(req, "page", 1, low=1)
    where = linked_where(rl) if rl.kind == "linking" else child_where(m, rl, child)
    reader = RecordReader(app.store, child, app.clock, record_fields(child, names))
    rows = app.store.fetchall(reader.sql(where, "t.id ASC", per_page + 1, (page - 1) * per_page), [rid])
    if not rows:
        return Response.empty(204)
    records = reader.decode(rows[:per_page])
    meta = meta_keys(child)
    data = relation_data(app, rl, rid, [int(r["id"]) for r in records])
    for r in records:
        r.update(meta)
        r.update(data.get(int(r["id"]), {}))
    req.records = len(records)
    return Response.json({"data": records, "info": {"per_page": per_page, "count": len(records), "page": page,
                                                    "more_records": len(rows) > per_page}})


@route("GET", PATH + r"/(?P<related_id>[0-9]+)", scopes=scopes_for("READ"))
def get_related_one(app: App, req: Request) -> Response:
    m, rid, rl, child = resolve(app, req)
    names = split_fields(req, child, required=False)
    where = (linked_where(rl) if rl.kind == "linking" else child_where(m, rl, child)) + " AND t.id = ?"
    reader = RecordReader(app.store, child, app.clock, record_fields(child, names))
    records = reader.fetch(where, [rid, int(req.path_params["related_id"])])
    if not records:
        return Response.empty(204)
    records[0].update(meta_keys(child))
    req.records = 1
    return Response.json({"data": records})


@route("POST", API + "/" + MODULE + "/" + RECORD_ID + "/Notes", scopes=scopes_for("READ"))
def add_notes(app: App, req: Request) -> Response:
    """Create notes on a record: the path names the parent, ``Parent_Id`` in the body is not needed."""
    req.path_params["related"] = "Notes"
    m, rid, rl, notes = resolve(app, req, "CREATE")
    del rl
    records, _, _ = parse_body(req)
    parent = {"module": {"api_name": m.api_name}, "id": str(rid)}
    results: list[dict[str, Any] | None] = [None] * len(records)
    with app.store.write_lock:
        batch = WriteBatch()
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, rec in enumerate(records):
            rec = {**rec, "Parent_Id": parent} if isinstance(rec, dict) else rec
            values, errors = decode_record(app, notes, rec, op="insert", index=i, batch=batch)
            if errors:
                results[i] = errors[0]
            else:
                valid.append((i, values))
        ids = insert_records(app, notes, [v for _, v in valid], caller(req))
        details = record_details(app, notes, ids)
        for (i, _), new_id in zip(valid, ids, strict=True):
            results[i] = success(details[new_id], "record added")
    return respond([r if r is not None else record_error("INTERNAL_ERROR", "not processed") for r in results], 201)
