"""Photo API: ``/{module}/{record_id}/photo`` (v8 ``record_photo.json``), a record's ``Record_Image``.

* ``GET``: the photo's bytes (200, ``Content-Type`` the image's: the spec names ``image/png``,
  which every generated photo is; an uploaded JPEG/GIF/BMP is answered as it came, unconfirmed;
  ``Content-Disposition: attachment; filename="<photo id>.<ext>"``, the name unconfirmed), 204 when
  the record has none.
* ``POST``: one multipart part named ``file``; answers ``{"code": "SUCCESS", "message": "Photo
  uploaded successfully", "status": "success", "details": {}}`` (not wrapped in ``data``). Over
  10 MB: 413 ``FILE_SIZE_EXCEEDS``; not an image: 415 ``INVALID_DATA`` "invalid file type".
  The record's ``Record_Image`` then names a new photo id and its ``Modified_Time`` moves
  (unconfirmed that Zoho moves it; a migration's incremental run relies on it here).
* ``DELETE``: the photo goes, ``Record_Image`` reads null: "Photo deleted successfully" (also
  when the record had none: unconfirmed).

Errors (400): a module without a ``Record_Image`` field: ``INVALID_URL_PATTERN`` (the spec's
message; which code Zoho gives there is unconfirmed), an unknown module ``INVALID_MODULE``, an
unknown record ``INVALID_DATA`` "the id given seems to be invalid" with ``{"id": ...}``. The
spec's ``FILE_RESOLUTION_EXCEEDS`` (415) is not enforced: the resolution Zoho allows is not
documented. Scopes: the module's READ (GET) or CREATE/UPDATE (POST, DELETE: the spec names
``ZohoCRM.modules.CREATE``). One credit a call (limits-and-errors.md: "any call not listed").
"""

from __future__ import annotations

from .. import photos
from ..app import App
from ..files import disposition
from ..http import Request, Response, route
from ..multipart import form_parts
from ..schema import ModuleDef
from ..tokens import require_scope
from ..writes import update_record
from ..zoho_errors import ZohoError
from .common import API, MODULE, RECORD_ID, get_module, module_scopes_of, scopes_for
from .external_ids import path_record_id
from .files import BAD_REQUEST
from .write_common import caller

PATH = API + "/" + MODULE + "/" + RECORD_ID + "/photo"
URL_PATTERN = "Please check if the URL trying to access is a correct one"


def _record(app: App, req: Request) -> tuple[ModuleDef, int, str | None]:
    """The module, the record and its photo id (None: no photo); Zoho's error when any is wrong."""
    m = get_module(app.org, req.path_params["module"])
    f = m.field(photos.FIELD)
    if f is None or f.data_type != photos.DATA_TYPE:
        raise ZohoError(400, "INVALID_URL_PATTERN", URL_PATTERN, {})
    rid = path_record_id(app, req, m)
    row = app.store.record_values(m, rid, [photos.FIELD]) if rid is not None else None
    if rid is None or row is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": req.path_params["id"]})
    return m, rid, row.get(photos.FIELD)


def _success(message: str) -> Response:
    return Response.json({"code": "SUCCESS", "message": message, "status": "success", "details": {}})


@route("GET", PATH, scopes=scopes_for("READ"))
def get_photo(app: App, req: Request) -> Response:
    m, _, photo_id = _record(app, req)
    found = photos.read(app.store, m.api_name, photo_id) if photo_id else None
    if found is None:
        return Response.empty(204)
    data, content_type = found
    # Zoho's SDK reads the file name from Content-Disposition on every download it handles (without the
    # header its get_photo fails), so Zoho sends one; the name used here is unconfirmed.
    name = f"{photo_id}.{content_type.rsplit('/', 1)[-1]}"
    return Response(200, data, {"Content-Type": content_type, "Content-Disposition": disposition(name)})


@route("POST", PATH, scopes=scopes_for("READ"))
def upload_photo(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    assert req.token is not None
    require_scope(req.token, module_scopes_of(m, "CREATE") + module_scopes_of(m, "UPDATE"))
    m, rid, old = _record(app, req)
    uploads = [p for p in form_parts(req) if p.name == "file"]
    if len(uploads) != 1:
        raise ZohoError(400, "INVALID_REQUEST", BAD_REQUEST, {"expected_type": "file"})
    data = uploads[0].data
    if len(data) > photos.MAX_PHOTO_BYTES:
        raise ZohoError(413, "FILE_SIZE_EXCEEDS", "File exceeded its maximum limit", {"size": photos.MAX_PHOTO_BYTES})
    content_type = photos.image_type(data)
    if content_type is None:
        raise ZohoError(415, "INVALID_DATA", "invalid file type", {})
    with app.store.write_lock:
        photo_id = photos.keep(app.store, data, content_type)
        update_record(app, m, rid, {photos.FIELD: photo_id}, caller(req))
        photos.forget(app.store, old)
    return _success("Photo uploaded successfully")


@route("DELETE", PATH, scopes=scopes_for("READ"))
def delete_photo(app: App, req: Request) -> Response:
    m = get_module(app.org, req.path_params["module"])
    assert req.token is not None
    require_scope(req.token, module_scopes_of(m, "CREATE") + module_scopes_of(m, "UPDATE")
                  + module_scopes_of(m, "DELETE"))
    m, rid, old = _record(app, req)
    if old is not None:
        with app.store.write_lock:
            update_record(app, m, rid, {photos.FIELD: None}, caller(req))
            photos.forget(app.store, old)
    return _success("Photo deleted successfully")
