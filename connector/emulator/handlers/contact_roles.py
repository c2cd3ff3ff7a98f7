"""Contact roles: the org's roles (``GET /Contacts/roles``) and the contacts of a deal with their role.

Zoho's "Get Contact Roles of a Specific Deal", "Add Contact Roles to a Specific Deal" and "Remove
Contact Role from a Specific Deal" (v7/v8 docs; the roles list per v8 ``contact_roles.json``):

* ``GET /Deals/{id}/Contact_Roles[/{contact_id}]`` (``fields`` required, ``ids`` optional): the
  deal's contacts with the fields asked and ``Contact_Role: {"name", "id"}``; 204 when none.
* ``PUT /Deals/{id}/Contact_Roles/{contact_id}`` with ``{"data": [{"Contact_Role": {"id": ...,
  "name": ...}}]}`` (the id, else the name; a bare id or name is taken too): links the contact with
  that role, or gives a linked one the new role: "relation updated".
* ``DELETE /Deals/{id}/Contact_Roles/{contact_id}`` or ``?ids=`` (at most 100): "relation removed";
  a contact that is not linked is ``MANDATORY_NOT_FOUND`` "relation not found".

Errors as documented: an unknown deal "the related id given seems to be invalid", an unknown
contact "the id given seems to be invalid", no role ``MANDATORY_NOT_FOUND``, an unknown role
``INVALID_DATA`` "invalid data". Scopes: the deals and the contacts scope.
"""

from __future__ import annotations

from typing import Any

from .. import schema
from ..app import App
from ..encoding import RecordReader, record_fields
from ..http import Request, Response, route
from ..org.contact_roles import LIST_NAME, ROLES, ROLES_BY_ID, ROLES_BY_NAME
from ..org.related import RelatedList
from ..store import q
from ..value_types import as_id
from ..writes import insert_records
from ..zoho_errors import ZohoError, record_error
from .common import API, MODULE, RECORD_ID, SETTINGS_READ, fixed_scopes, int_param, scopes_for, split_fields
from .write_common import caller, ids_param, parse_body, respond, success

PATH = API + "/" + MODULE + "/" + RECORD_ID + "/(?P<related>" + LIST_NAME + ")"
CONTACT = r"/(?P<contact>[0-9]+)"
INVALID_CONTACT = "the id given seems to be invalid"


@route("GET", API + r"/Contacts/roles", scopes=fixed_scopes(*SETTINGS_READ, "ZohoCRM.modules.contacts.READ",
                                                            "ZohoCRM.modules.contacts.ALL", "ZohoCRM.modules.ALL"))
def list_roles(app: App, req: Request) -> Response:
    return Response.json({"contact_roles": [{"name": name, "id": str(rid), "sequence_number": i + 1}
                                            for i, (rid, name) in enumerate(ROLES)]})


def resolve(app: App, req: Request, op: str = "READ") -> tuple[Any, int, RelatedList, Any]:
    # Imported here: importing related_records registers its generic /{module}/{id}/{list} routes,
    # which must come after these (handlers/__init__ imports this module first).
    from .related_records import resolve as resolve_list

    return resolve_list(app, req, op)


def _roles(app: App, rl: RelatedList, deal: int, contacts: list[int]) -> dict[int, int]:
    assert rl.linking
    rows = app.store.fetchall(f"SELECT Contact, Contact_Role FROM {q(rl.linking)} WHERE Deal = ? "
                              "AND Contact IN (SELECT unnest(?))", [deal, contacts])
    return {int(r[0]): int(r[1]) for r in rows}


def _listed(app: App, req: Request, extra: str = "", params: list[Any] | None = None) -> Response:
    _, deal, rl, contacts = resolve(app, req)
    names = split_fields(req, contacts, required=True)
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    page = int_param(req, "page", 1, low=1)
    from .related_records import linked_where

    where = linked_where(rl) + extra
    if req.param("ids"):
        wanted = [as_id(x.strip()) for x in (req.param("ids") or "").split(",") if x.strip()]
        where += " AND t.id IN (SELECT unnest(?))"
        params = [*(params or []), [w for w in wanted if w is not None]]
    reader = RecordReader(app.store, contacts, app.clock, record_fields(contacts, names))
    rows = app.store.fetchall(reader.sql(where, "t.id ASC", per_page + 1, (page - 1) * per_page), [deal, *(params or [])])
    if not rows:
        return Response.empty(204)
    records = reader.decode(rows[:per_page])
    roles = _roles(app, rl, deal, [int(r["id"]) for r in records])
    for r in records:
        rid = roles.get(int(r["id"]))
        r["Contact_Role"] = {"name": ROLES_BY_ID.get(rid or 0), "id": str(rid)} if rid else None
    req.records = len(records)
    return Response.json({"data": records, "info": {"per_page": per_page, "count": len(records), "page": page,
                                                    "more_records": len(rows) > per_page}})


@route("GET", PATH, scopes=scopes_for("READ"))
def get_contact_roles(app: App, req: Request) -> Response:
    return _listed(app, req)


@route("GET", PATH + CONTACT, scopes=scopes_for("READ"))
def get_contact_role(app: App, req: Request) -> Response:
    return _listed(app, req, " AND t.id = ?", [int(req.path_params["contact"])])


def _role_of(item: Any) -> int:
    raw = item.get("Contact_Role") if isinstance(item, dict) else None
    if raw in (None, "", {}):
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found",
                        {"api_name": "Contact_Role", "json_path": "$.data[0].Contact_Role"})
    key = raw.get("id") or raw.get("name") if isinstance(raw, dict) else raw
    rid = as_id(str(key)) if key is not None else None
    if rid is not None and rid in ROLES_BY_ID:
        return rid
    if str(key) in ROLES_BY_NAME:
        return ROLES_BY_NAME[str(key)]
    raise ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": "Contact_Role",
                                                          "json_path": "$.data[0].Contact_Role"})


@route("PUT", PATH + CONTACT, scopes=scopes_for("UPDATE"))
def put_contact_role(app: App, req: Request) -> Response:
    _, deal, rl, contacts = resolve(app, req, "UPDATE")
    assert rl.linking
    records, _, _ = parse_body(req)
    role = _role_of(records[0])
    contact = int(req.path_params["contact"])
    if not app.store.exists(contacts, [contact]):
        raise ZohoError(400, "INVALID_DATA", INVALID_CONTACT, {"id": req.path_params["contact"]})
    table = schema.MODULES_BY_NAME[rl.linking]
    with app.store.write_lock:
        row = app.store.fetchone(f"SELECT id FROM {q(rl.linking)} WHERE Deal = ? AND Contact = ?", [deal, contact])
        if row is None:
            insert_records(app, table, [{"Deal": deal, "Contact": contact, "Contact_Role": role}], caller(req))
        else:
            app.store.update_row(table, row[0], {"Contact_Role": role}, app.clock.now_naive(), keep_history=False)
    return Response.json({"data": [success({"id": str(contact)}, "relation updated")]})


def _remove(app: App, req: Request, raw_ids: list[str]) -> Response:
    _, deal, rl, contacts = resolve(app, req, "DELETE")
    assert rl.linking
    results = []
    with app.store.write_lock:
        for raw in raw_ids:
            contact = as_id(raw)
            if contact is None or not app.store.exists(contacts, [contact]):
                results.append(record_error("INVALID_DATA", INVALID_CONTACT, {"id": raw}))
                continue
            row = app.store.fetchone(f"SELECT id FROM {q(rl.linking)} WHERE Deal = ? AND Contact = ?",
                                     [deal, contact])
            if row is None:
                results.append(record_error("MANDATORY_NOT_FOUND", "relation not found", {"id": raw}))
                continue
            app.store.execute(f"DELETE FROM {q(rl.linking)} WHERE id = ?", [row[0]])
            results.append(success({"id": str(contact)}, "relation removed"))
    return respond(results, 200)


@route("DELETE", PATH + CONTACT, scopes=scopes_for("DELETE"))
def delete_contact_role(app: App, req: Request) -> Response:
    return _remove(app, req, [req.path_params["contact"]])


@route("DELETE", PATH, scopes=scopes_for("DELETE"))
def delete_contact_roles(app: App, req: Request) -> Response:
    ids = ids_param(req)
    return _remove(app, req, ids)
