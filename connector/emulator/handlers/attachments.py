"""Attachments API: ``/{module}/{record_id}/Attachments[/{id}]`` (v8 ``attachments.json``; SDK AttachmentsOperations).

* ``POST``: one multipart part named ``file`` (at most 20 MB), or a link: ``attachmentUrl`` (and
  ``title``) as a query or form parameter; not both. Answers ``data[0]`` with the new id and
  "attachment uploaded successfully".
* ``GET``: the record's attachments. ``fields`` is required; every row also carries Zoho's
  ``$`` keys (``$file_id``, ``$type`` ``Attachment`` or ``Link URL``, ``$link_url``,
  ``$se_module`` ...). 204 when there are none.
* ``GET .../{id}``: the file's bytes with its content type and name.
* ``DELETE`` (``?ids=``, at most 100) and ``DELETE .../{id}``: into the recycle bin.

Scopes: the module's (read) scope and ``ZohoCRM.modules.attachments.{op}``.
"""

from __future__ import annotations

from typing import Any

from .. import files, schema
from ..app import App
from ..encoding import RecordReader, record_fields
from ..http import Request, Response, route
from ..multipart import form_parts
from ..org.related import related_list
from ..schema import ModuleDef
from ..tokens import module_scopes, require_scope
from ..writes import delete_records, insert_records
from ..zoho_errors import ZohoError, record_error, required_param
from .common import API, MODULE, RECORD_ID, get_module, int_param, scopes_for
from .external_ids import path_record_id
from .files import BAD_REQUEST, download, too_large
from .write_common import INVALID_ID, caller, ids_param, record_details, respond, success

PATH = API + "/" + MODULE + "/" + RECORD_ID + "/Attachments"
LINK = "Link URL"


def _attachments() -> ModuleDef:
    return schema.MODULES_BY_NAME["Attachments"]


def _parent(app: App, req: Request, op: str) -> tuple[ModuleDef, int]:
    m = get_module(app.org, req.path_params["module"])
    if related_list(app.org, m.api_name, "Attachments") is None:
        raise ZohoError(400, "INVALID_DATA", "The relation name given seems to be invalid", {"resource_path_index": 4})
    assert req.token is not None
    require_scope(req.token, module_scopes("Attachments", op, False))
    rid = path_record_id(app, req, m)
    if rid is None or not app.store.exists(m, [rid]):
        raise ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid",
                        {"related_status": "invalid", "resource_path_index": 3})
    return m, rid


def _rows(app: App, m: ModuleDef, rid: int, names: list[str] | None, where: str = "", params: list[Any] | None = None,
          limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    att = _attachments()
    reader = RecordReader(app.store, att, app.clock, record_fields(att, names))
    reader.exprs += ['t."$file_id"', 't."$link_url"']
    # one record's attachments are a handful: filtered, ordered and cut in one plain query (a page
    # chosen first, as a module's list does, plans a second scan for nothing here)
    sql = reader.sql(f"t.Parent_Id = ? AND t.\"Parent_Id$module\" = '{m.api_name}'" + where, "t.id ASC")
    sql += (f" LIMIT {int(limit)}" if limit is not None else "") + (f" OFFSET {int(offset)}" if offset else "")
    rows = app.store.fetchall(sql, [rid, *(params or [])])
    records = reader.decode(rows)
    for rec, row in zip(records, rows, strict=True):
        file_id, link = row[-2], row[-1]
        rec.update({"$file_id": file_id, "$type": LINK if link else "Attachment", "$link_url": link,
                    "$attachment_type": 2 if link else 1, "$se_module": m.api_name, "$editable": True,
                    "$state": "save", "$sharing_permission": "full_access"})
    return records


def list_attachments(app: App, req: Request, m: ModuleDef, rid: int) -> Response:
    raw = req.param("fields")
    if raw is None or not raw.strip():
        raise required_param("fields")
    att = _attachments()
    names = []
    for n in (x.strip() for x in raw.split(",")):
        if not n or n == "id" or n.startswith("$"):
            continue  # the $ keys come with every row
        f = att.field(n)
        if f is None:
            raise ZohoError(400, "INVALID_DATA", "invalid field name given in fields param",
                            {"api_name": n, "param_name": "fields"})
        names.append(f.api_name)
    if req.param("page_token") is not None:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})
    per_page = int_param(req, "per_page", 200, low=1, high=200)
    page = int_param(req, "page", 1, low=1)
    where, params = "", []
    if req.param("ids"):
        wanted = [p.strip() for p in (req.param("ids") or "").split(",") if p.strip()]
        if not all(p.isdigit() and len(p) <= 19 for p in wanted):
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "ids"})
        where, params = " AND t.id IN (SELECT unnest(?))", [[int(p) for p in wanted]]
    records = _rows(app, m, rid, names, where, params, per_page + 1, (page - 1) * per_page)
    if not records:
        return Response.empty(204)
    req.records = min(len(records), per_page)
    return Response.json({"data": records[:per_page], "info": {"per_page": per_page, "count": req.records,
                                                               "page": page, "more_records": len(records) > per_page}})


@route("GET", PATH, scopes=scopes_for("READ"))
def get_attachments(app: App, req: Request) -> Response:
    m, rid = _parent(app, req, "READ")
    return list_attachments(app, req, m, rid)


@route("POST", PATH, scopes=scopes_for("READ"))
def upload_attachment(app: App, req: Request) -> Response:
    m, rid = _parent(app, req, "CREATE")
    parts = form_parts(req)
    uploads = [p for p in parts if p.name == "file"]
    form = {p.name: p.data.decode("utf-8", "replace") for p in parts if p.name != "file"}
    url = req.param("attachmentUrl") or form.get("attachmentUrl")
    title = req.param("title") or form.get("title")
    if uploads and url:
        raise ZohoError(400, "INVALID_REQUEST", "either a file or an attachment link can be added in a call",
                        {"expected_type": "file"})
    if not uploads and not url:
        raise ZohoError(400, "INVALID_REQUEST", BAD_REQUEST, {"expected_type": "file"})
    if len(uploads) > 1:
        raise ZohoError(400, "LIMIT_EXCEEDED", "only one file can be attached in a call", {"limit": 1})
    values: dict[str, Any] = {"Parent_Id": rid, "Parent_Id$module": m.api_name}
    if uploads:
        part = uploads[0]
        if len(part.data) > files.MAX_FILE_BYTES:
            raise too_large()
        name = part.filename or "file"
        values.update({"File_Name": name, "Size": len(part.data),
                       "$file_id": files.upload(app.store, name, part.data, caller(req), app.clock.now_naive())})
    else:
        assert url is not None
        if not url.startswith(("http://", "https://")):
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "attachmentUrl"})
        values.update({"File_Name": title or url, "Size": 0, "$link_url": url})
    att = _attachments()
    new_id = insert_records(app, att, [values], caller(req))[0]
    return Response.json({"data": [success(record_details(app, att, [new_id])[new_id],
                                           "attachment uploaded successfully")]})


def _belonging(app: App, m: ModuleDef, rid: int, ids: list[int]) -> set[int]:
    rows = app.store.fetchall("SELECT id FROM \"Attachments\" WHERE Parent_Id = ? AND \"Parent_Id$module\" = ? "
                              "AND id IN (SELECT unnest(?))", [rid, m.api_name, ids])
    return {r[0] for r in rows}


def _delete(app: App, req: Request, m: ModuleDef, rid: int, raw_ids: list[str]) -> Response:
    parsed = [int(x) if x.isdigit() and len(x) <= 19 else None for x in raw_ids]
    mine = _belonging(app, m, rid, [p for p in parsed if p is not None])
    gone = set(delete_records(app, _attachments(), sorted(mine), caller(req)))
    out = [success({"id": str(p)}, "record deleted") if p in gone else record_error("INVALID_DATA", INVALID_ID,
                                                                                     {"id": raw})
           for raw, p in zip(raw_ids, parsed, strict=True)]
    return respond(out, 200)


@route("DELETE", PATH, scopes=scopes_for("READ"))
def delete_attachments(app: App, req: Request) -> Response:
    m, rid = _parent(app, req, "DELETE")
    ids = ids_param(req)
    return _delete(app, req, m, rid, ids)


@route("DELETE", PATH + r"/(?P<attachment>[0-9]+)", scopes=scopes_for("READ"))
def delete_attachment(app: App, req: Request) -> Response:
    m, rid = _parent(app, req, "DELETE")
    return _delete(app, req, m, rid, [req.path_params["attachment"]])


@route("GET", PATH + r"/(?P<attachment>[0-9]+)", scopes=scopes_for("READ"))
def download_attachment(app: App, req: Request) -> Response:
    m, rid = _parent(app, req, "READ")
    aid = int(req.path_params["attachment"])
    row = app.store.fetchone("SELECT \"$file_id\", \"$link_url\" FROM \"Attachments\" WHERE id = ? AND Parent_Id = ? "
                             "AND \"Parent_Id$module\" = ?", [aid, rid, m.api_name])
    if row is None:
        return Response.empty(204)
    if row[0] is None:  # a link: nothing to download (unconfirmed how Zoho answers)
        raise ZohoError(400, "INVALID_DATA", "the attachment is a link and has no file to download",
                        {"id": str(aid), "link_url": row[1]})
    f = files.read(app.store, row[0])
    if f is None:
        return Response.empty(204)
    req.records = 1
    return download(f)
