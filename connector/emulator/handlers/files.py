"""Files API (``POST/GET /crm/v8/files``) and a record's field files (``actions/download_fields_attachment``).

``POST /files`` takes one or more multipart parts named ``file`` (at most 10, each at most
20 MB) and answers one ``data`` entry per file with its "encrypted" id, which a
file-upload or image-upload field then names (``[{"File_Id__s": "<id>"}]``).
``GET /files?id=`` downloads a file (``application/x-download``, as the v8 spec says).
``GET /{module}/{record_id}/actions/download_fields_attachment?fields_attachment_id=``
downloads one entry of a record's file or image upload field by the entry's ``id``
(``field_attachments.json``; the SDK's FieldAttachmentsOperations).
"""

from __future__ import annotations

import json

from .. import files
from ..app import App
from ..http import Request, Response, route
from ..multipart import form_parts
from ..zoho_errors import ZohoError, required_param
from .common import API, MODULE, RECORD_ID, fixed_scopes, get_module, scopes_for
from .external_ids import path_record_id
from .write_common import caller

# "scope=ZohoCRM.Files.{operation_type}" (upload-files-to-zfs); the bulk upload's ZohoFiles scope works too
CREATE_SCOPES = ("ZohoCRM.Files.CREATE", "ZohoCRM.Files.ALL", "ZohoFiles.files.ALL", "ZohoFiles.files.CREATE")
READ_SCOPES = ("ZohoCRM.Files.READ", "ZohoCRM.Files.ALL", "ZohoFiles.files.ALL", "ZohoFiles.files.READ")
BAD_REQUEST = ("unable to process your request. please verify whether you have entered proper method name, "
               "parameter and parameter values.")


def too_large() -> ZohoError:
    return ZohoError(400, "FILE_SIZE_MORE_THAN_ALLOWED_SIZE", "Please check if the file size is within the limit",
                     {"limit": files.MAX_FILE_BYTES})


def download(f: files.StoredFile, content_type: str | None = None) -> Response:
    return Response(200, f.data or b"", {"Content-Type": content_type or f.content_type,
                                         "Content-Disposition": files.disposition(f.name)})


@route("POST", API + r"/files", scopes=fixed_scopes(*CREATE_SCOPES))
def upload_files(app: App, req: Request) -> Response:
    kind = req.param("type")
    if kind is not None and kind != "inline":
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "type", "supported_values": ["inline"]})
    parts = [p for p in form_parts(req) if p.name == "file"]
    if not parts:
        raise ZohoError(400, "INVALID_REQUEST", BAD_REQUEST, {"expected_type": "multipart/form-data"})
    if len(parts) > files.MAX_FILES_PER_CALL:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"a maximum of {files.MAX_FILES_PER_CALL} files can be uploaded "
                        "in a call", {"limit": files.MAX_FILES_PER_CALL})
    if any(len(p.data) > files.MAX_FILE_BYTES for p in parts):
        raise too_large()
    out = []
    for p in parts:
        name = p.filename or "file"
        file_id = files.upload(app.store, name, p.data, caller(req), app.clock.now_naive())
        out.append({"code": "SUCCESS", "details": {"name": name, "id": file_id},
                    "message": f"{name} uploaded Successfully", "status": "success"})
    return Response.json({"data": out})


@route("GET", API + r"/files", scopes=fixed_scopes(*READ_SCOPES))
def get_file(app: App, req: Request) -> Response:
    file_id = req.param("id")
    if not file_id:
        raise required_param("id")
    f = files.read(app.store, file_id)
    if f is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"param_name": "id"})
    return download(f, "application/x-download")


@route("GET", API + "/" + MODULE + "/" + RECORD_ID + r"/actions/download_fields_attachment", scopes=scopes_for("READ"))
def download_field_file(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    entry = req.param("fields_attachment_id")
    if not entry:
        raise required_param("fields_attachment_id")
    rid = path_record_id(app, req, m)
    columns = [f.api_name for f in m.fields if f.data_type in ("fileupload", "imageupload")]
    row = app.store.record_values(m, rid, columns) if rid is not None and columns else None
    if row is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": req.path_params["id"]})
    for col in columns:
        for item in json.loads(row[col]) if row.get(col) else []:
            if str(item.get("id")) == entry:
                f = files.read(app.store, str(item.get("File_Id__s")))
                if f is not None:
                    return download(f, "application/x-download")
    raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"param_name": "fields_attachment_id"})
