"""Bulk Write API routes: file upload, create job, job status, result download (bulk-write.md 1-4).

The upload is served on the API origin (the emulator is its own content host) at
``POST /crm/{v}/upload``; results are downloaded from the absolute
``result.download_url``, ``{origin}/v2/crm/{zgid}/bulk-write/{job}/{job}.zip``,
which mimics Zoho's download host path.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

from .. import bulk_write, schema
from ..app import App
from ..bulk_write import BulkWriteJob, BulkWriteQueue, Upload
from ..csv_format import DEFAULT_DATE_FORMAT, DEFAULT_DATETIME_FORMAT, Mapping, java_to_strptime
from ..http import Request, Response, route
from ..schema import FieldDef, ModuleDef, OrgSchema
from ..zoho_errors import ZohoError
from .bulk_read import (
    bad,
    check_callback,
    job_not_found,
    json_body,
    new_job_id,
    require_module_scope,
    user_ref,
)
from .common import API, BULK, fixed_scopes

UPLOAD_SCOPES = ("ZohoFiles.files.ALL", "ZohoFiles.files.CREATE")
CREATE_SCOPES = ("ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL")
STATUS_SCOPES = ("ZohoCRM.bulk.READ", "ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL")
JOB_CREDITS = 500  # limits-and-errors.md section 2
MAX_FILE_BYTES = 25 * 1024 * 1024  # uncompressed CSV (bulk-write.md section 1, file rules)
MAX_ROWS = 25_000
MAX_COLUMNS = 200
RESULT_TTL_S = 86_400  # "about 1 day; unconfirmed"
DELIMITERS = (",", ";", ":", "|")  # the only ones Zoho detects from the header line
HEADER_HINT = "check if headers [feature, X-CRM-ORG] are present and valid"


def missing_key(api_name: str, path: str) -> ZohoError:
    return ZohoError(400, "MISSING_REQUIRED_KEY", f"required key {api_name} is not found in request body.",
                     {"api_name": api_name, "json_path": path})


# -- upload -------------------------------------------------------------------------------------


def _multipart(req: Request) -> dict[str, tuple[str | None, bytes]]:
    """Form parts by name -> (file name, bytes), parsed with the stdlib email package."""
    ctype = req.headers.get("content-type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + req.body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not msg.is_multipart():
        return parts
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in parts:
            payload = part.get_payload(decode=True)
            parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


def _csv_from_zip(data: bytes) -> tuple[str, bytes]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ZohoError(400, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", {}
                        ) from None
    entries = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    # One CSV per zip; several only for parent + subform files, which this emulator does not take.
    if len(entries) != 1 or not entries[0].filename.lower().endswith(".csv"):
        raise ZohoError(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", {})
    info = entries[0]
    too_large = ZohoError(413, "FILE_TOO_LARGE", "File size too large to process", {"limit": MAX_FILE_BYTES})
    if info.file_size > MAX_FILE_BYTES:
        raise too_large
    with zf.open(info) as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)  # never trust the declared size (zip bombs)
    if len(raw) > MAX_FILE_BYTES:
        raise too_large
    return info.filename.rsplit("/", 1)[-1], raw


def parse_csv(raw: bytes) -> tuple[list[str], list[list[str]]]:
    not_supported = ZohoError(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", {})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_supported from None
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except csv.Error:
        raise not_supported from None
    if not rows or not any(h.strip() for h in rows[0]):
        raise not_supported
    header, data = [h.strip() for h in rows[0]], rows[1:]
    if len(header) > MAX_COLUMNS:
        raise ZohoError(400, "HEADER_LIMIT_EXCEEDED", f"the file has more than {MAX_COLUMNS} columns",
                        {"limit": MAX_COLUMNS})
    if len(data) > MAX_ROWS:
        raise ZohoError(400, "LIMIT_EXCEEDED", f"the file has more than {MAX_ROWS} records", {"limit": MAX_ROWS})
    return header, data


@route("POST", API + "/upload", kind="upload", scopes=fixed_scopes(*UPLOAD_SCOPES))
def upload_file(app: App, req: Request) -> Response:
    feature = (req.headers.get("feature") or "").strip().lower()
    org = (req.headers.get("x-crm-org") or "").strip()
    if feature != "bulk-write" or org != str(schema.ORG.zgid):
        # The content host's error object carries extra keys besides the usual four (bulk-write.md 1).
        return Response.json({"code": "INVALID_REQUEST", "details": {}, "message": "invalid request",
                              "status": "error", "x-error": HEADER_HINT, "http_status": "400"}, 400)
    if len(req.body) > MAX_FILE_BYTES + 1024 * 1024:
        raise ZohoError(413, "FILE_TOO_LARGE", "File size too large to process", {"limit": MAX_FILE_BYTES})
    parts = _multipart(req)
    if "file" not in parts:
        raise missing_key("file", "file")
    name, raw = _csv_from_zip(parts["file"][1])
    header, rows = parse_csv(raw)
    file_id = new_job_id(app)
    q = bulk_write.queue_of(app)
    with q.lock:
        q.uploads[file_id] = Upload(file_id, name, header, rows, app.clock.time())
    return Response.json({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
                          "details": {"file_id": str(file_id), "created_time": app.clock.render(app.clock.now())}})


# -- create job ---------------------------------------------------------------------------------


def _writable_module(org: OrgSchema, raw: Any) -> ModuleDef:
    path = "$.resource[0].module"
    if raw is None:
        raise missing_key("module", path)
    name = raw.get("api_name") if isinstance(raw, dict) else None
    if not isinstance(name, str) or not name:
        raise missing_key("api_name", f"{path}.api_name")
    m = org.module(name)
    # Subform and linking modules go only with their parent file (bulk-write.md section 5).
    if m is None or not m.api_supported or not m.creatable or not m.bulk_write \
            or m.generated_type in ("subform", "linking"):
        raise ZohoError(400, "MODULE_NOT_AVAILABLE", f"Requested module '{name}' is not available.",
                        {"api_name": name, "json_path": f"{path}.api_name"})
    return m


# Not importable through bulk write (bulk-write.md section 5; computed fields are read-only anyway).
NOT_WRITABLE_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup", "fileupload", "imageupload",
                                "formula", "autonumber", "rollup_summary", "profileimage", "participants"})


def _invalid_field(name: str, path: str) -> ZohoError:
    return ZohoError(400, "INVALID_FIELD", f"invalid mapping. invalid api_name {name}",
                     {"api_name": name, "json_path": path})


def _lookup_by(f: FieldDef, raw: Any, path: str) -> str:
    """``find_by`` of a lookup mapping: id, email for users (unconfirmed), or a unique field of the target."""
    if raw is None or raw == "id":
        return "id"
    if f.data_type in ("ownerlookup", "userlookup"):
        if raw == "email":
            return "email"
        raise bad(path, "find_by", supported_values=["id", "email"])
    target = schema.MODULES_BY_NAME.get(f.lookup or "")
    tf = target.field(raw) if target is not None and isinstance(raw, str) else None
    if f.data_type != "lookup" or target is None or tf is None or not (
            tf.unique or tf.api_name in target.duplicate_check_fields or tf.api_name == target.display_field):
        raise bad(path, "find_by")
    return tf.api_name


def _mapping(m: ModuleDef, raw: Any, i: int, header: list[str]) -> Mapping:
    path = f"$.resource[0].field_mappings[{i}]"
    if not isinstance(raw, dict):
        raise bad(path, "field_mappings", expected_data_type="jsonobject")
    name = raw.get("api_name")
    if name is None:
        raise missing_key("api_name", f"{path}.api_name")
    f = m.field(name) if isinstance(name, str) else None
    if name != "id" and (f is None or f.read_only or f.data_type in NOT_WRITABLE_TYPES):
        raise _invalid_field(str(name), f"{path}.api_name")
    api = "id" if name == "id" else f.api_name  # type: ignore[union-attr]
    index, default = raw.get("index"), raw.get("default_value")
    if default is not None:
        value = default.get("value") if isinstance(default, dict) else None
        if value is None or isinstance(value, (dict, list)):
            raise bad(f"{path}.default_value", "default_value", expected_data_type="jsonobject")
        default = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if index is None and default is None:
        raise ZohoError(400, "COLUMN_INDEX_NOT_FOUND", f"required key index for field {api} is not found in "
                        "request body.", {"api_name": api, "json_path": f"{path}.index"})
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise bad(f"{path}.index", "index", expected_data_type="integer")
        if index >= len(header):
            raise ZohoError(400, "COLUMN_INDEX_NOT_FOUND", f"column index {index} for field {api} is not found "
                            "in the file.", {"api_name": api, "json_path": f"{path}.index"})
    mp = Mapping(api, f, header[index] if index is not None else api, index, default=default,
                 echo={"api_name": api, "index": index, "format": raw.get("format"),
                       "find_by": raw.get("find_by"), "default_value": raw.get("default_value")})
    if f is not None and f.data_type in ("lookup", "ownerlookup", "userlookup", "layout", "multi_module_lookup"):
        mp.lookup_by = _lookup_by(f, raw.get("find_by"), f"{path}.find_by")
    if f is not None and f.data_type == "multi_module_lookup":
        target = raw.get("module")
        target = target.get("api_name") if isinstance(target, dict) else target
        if target not in f.targets:
            raise bad(f"{path}.module", "module", supported_values=list(f.targets))
        mp.target_module = target
    if f is not None and f.value_type in ("date", "datetime") and f.data_type != "formula":
        fmt = raw.get("format") or (DEFAULT_DATE_FORMAT if f.data_type == "date" else DEFAULT_DATETIME_FORMAT)
        try:
            mp.pattern, mp.has_tz = java_to_strptime(fmt) if isinstance(fmt, str) else ("", False)
        except ValueError:
            mp.pattern = ""
        if not mp.pattern:
            raise ZohoError(400, "INVALID_FORMAT", "the format given is not supported",
                            {"api_name": api, "json_path": f"{path}.format"})
    return mp


def _auto_mappings(m: ModuleDef, header: list[str]) -> list[Mapping]:
    """No ``field_mappings``: the header names the fields (``Account_Name.id``, ``Account_Name.Account_Name``)."""
    out = []
    for i, col in enumerate(header):
        name, _, sub = col.partition(".")
        f = m.field(name)
        if col != "id" and f is None:
            raise _invalid_field(col, "$.resource[0].field_mappings")
        if f is not None and (f.read_only or f.data_type in NOT_WRITABLE_TYPES):
            continue  # a re-imported export carries system columns; they are not mapped (unconfirmed)
        raw: dict[str, Any] = {"api_name": col if f is None else f.api_name, "index": i}
        if sub:
            raw["find_by"] = sub
        out.append(_mapping(m, raw, i, header))
    return out


def build_mappings(m: ModuleDef, raw: Any, header: list[str]) -> list[Mapping]:
    if raw is None:
        return _auto_mappings(m, header)
    if not isinstance(raw, list) or not raw:
        raise bad("$.resource[0].field_mappings", "field_mappings", expected_data_type="jsonarray")
    out: list[Mapping] = []
    for i, item in enumerate(raw):
        mp = _mapping(m, item, i, header)
        if any(o.api_name == mp.api_name for o in out):
            raise ZohoError(400, "COEXISTENCE_NOT_ALLOWED", "the field is mapped more than once",
                            {"api_name": mp.api_name, "json_path": f"$.resource[0].field_mappings[{i}]"})
        out.append(mp)
    return out


@route("POST", BULK + "/write", scopes=fixed_scopes(*CREATE_SCOPES))
def create_write_job(app: App, req: Request) -> Response:
    body = json_body(req)
    op = body.get("operation")
    if op is None:
        raise missing_key("operation", "$.operation")
    if op not in ("insert", "update", "upsert"):
        raise bad("$.operation", "operation", supported_values=["insert", "update", "upsert"])
    callback = check_callback(body)
    encoding = body.get("character_encoding", "UTF-8")
    if not isinstance(encoding, str) or encoding.replace("-", "").lower() != "utf8":
        raise bad("$.character_encoding", "character_encoding", supported_values=["UTF-8"])
    resources = body.get("resource")
    if resources is None:
        raise missing_key("resource", "$.resource")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        # More than one resource is for parent + subform files only, not emulated.
        raise bad("$.resource", "resource", expected_data_type="jsonarray")
    res = resources[0]
    if res.get("type") is None:
        raise missing_key("type", "$.resource[0].type")
    if res.get("type") != "data":
        raise bad("$.resource[0].type", "type", supported_values=["data"])
    m = _writable_module(app.org, res.get("module"))
    require_module_scope(req, m, *{"insert": ("CREATE",), "update": ("UPDATE",),
                                   "upsert": ("CREATE", "UPDATE")}[op])
    raw_file = res.get("file_id")
    if raw_file is None:
        raise missing_key("file_id", "$.resource[0].file_id")
    q = bulk_write.queue_of(app)
    upload = q.uploads.get(int(raw_file)) if str(raw_file).isdigit() else None
    if upload is None:
        raise ZohoError(400, "INVALID_FILE_ID", "improper file id",
                        {"api_name": "file_id", "json_path": "$.resource[0].file_id"})
    ignore_empty = res.get("ignore_empty", body.get("ignore_empty", False))
    if not isinstance(ignore_empty, bool):
        raise bad("$.ignore_empty", "ignore_empty", expected_data_type="boolean")
    mappings = build_mappings(m, res.get("field_mappings"), upload.header)
    find_by = _find_by(m, op, res.get("find_by"), mappings)
    if op in ("insert", "upsert"):
        mapped = {mp.api_name for mp in mappings}
        absent = [f.api_name for f in m.fields if f.mandatory and not f.read_only and f.api_name not in mapped]
        if absent:
            raise ZohoError(400, "MANDATORY_FIELDS_NOT_MAPPED", "All mandatory fields are not mapped for the layout",
                            {"api_name": absent[0], "json_path": "$.resource[0].field_mappings",
                             "mandatory_fields": absent})
    assert req.token is not None
    job = BulkWriteJob(new_job_id(app), op, m, upload, mappings, find_by, ignore_empty, req.token.user_id,
                       app.clock.time(), callback=callback)
    bulk_write.add_job(app, job, lambda: job_status(app, job))
    req.credits = JOB_CREDITS
    return Response.json({"status": "success", "code": "SUCCESS", "message": "success",
                          "details": {"id": str(job.id), "created_by": user_ref(job.user_id)}}, 201)


def _find_by(m: ModuleDef, op: str, raw: Any, mappings: list[Any]) -> str | None:
    path = "$.resource[0].find_by"
    if raw is None:
        if op != "insert":
            raise missing_key("find_by", path)
        return None
    if not isinstance(raw, str):
        raise bad(path, "find_by", expected_data_type="string")
    f = m.field(raw)
    name = "id" if raw == "id" else f.api_name if f else raw
    # id, a unique field, or a duplicate-check field (bulk-write.md section 2).
    if name != "id" and (f is None or not (f.unique or f.api_name in m.duplicate_check_fields)):
        raise bad(path, "find_by")
    if not any(mp.api_name == name for mp in mappings):
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found",
                        {"api_name": name, "json_path": "$.resource[0].field_mappings"})
    return name


# -- status and result ---------------------------------------------------------------------------


def download_url(app: App, job: BulkWriteJob) -> str:
    return f"{app.origin}/v2/crm/{schema.ORG.zgid}/bulk-write/{job.id}/{job.id}.zip"


def job_status(app: App, job: BulkWriteJob) -> dict[str, Any]:
    """The un-wrapped status object of bulk-write.md section 3."""
    done = BulkWriteQueue.finished(job)
    file: dict[str, Any] = {"status": job.state, "name": job.upload.name}
    if done:
        file.update(job.counts())
    resource: dict[str, Any] = {
        "status": job.state, "type": "data",
        "module": {"api_name": job.module.api_name, "id": str(job.module.module_id)},
        "code": "SUCCESS" if job.state != bulk_write.FAILED else "INTERNAL_ERROR",
        "field_mappings": [mp.echo for mp in job.mappings], "file": file,
    }
    if job.find_by:
        resource["find_by"] = job.find_by
    out: dict[str, Any] = {"status": job.state, "character_encoding": "UTF-8", "resource": [resource],
                           "id": str(job.id), "created_by": user_ref(job.user_id), "operation": job.operation,
                           "created_time": app.clock.render(datetime.fromtimestamp(job.created_at, UTC))}
    if job.callback:
        out["callback"] = dict(job.callback)
    if done:
        # A FAILED job also gets its result file: rows it wrote are ADDED/UPDATED, the rest UNPROCESSED.
        out["result"] = {"download_url": download_url(app, job)}
    return out


@route("GET", BULK + "/write/(?P<job>[^/]+)", scopes=fixed_scopes(*STATUS_SCOPES))
def write_job_status(app: App, req: Request) -> Response:
    job = bulk_write.get_job(app, req.path_params["job"])
    if job is None:
        raise job_not_found(req.path_params["job"])  # v8 spec: 400 for an unknown bulk write job (read: 404)
    return Response.json(job_status(app, job))


@route("GET", r"/v2/crm/(?P<zgid>[0-9]+)/bulk-write/(?P<job>[0-9]+)/(?P<file>[0-9]+)\.zip", kind="download",
       scopes=fixed_scopes(*STATUS_SCOPES))
def download_write_result(app: App, req: Request) -> Response:
    p = req.path_params
    job = bulk_write.get_job(app, p["job"]) if p["zgid"] == str(schema.ORG.zgid) and p["file"] == p["job"] else None
    fresh = job is not None and job.finish_at is not None and app.clock.time() <= job.finish_at + RESULT_TTL_S
    if job is None or not BulkWriteQueue.finished(job) or job.path is None or not fresh:
        raise job_not_found(p["job"])
    return Response.file(job.path, f"{job.id}.zip", "application/zip")
