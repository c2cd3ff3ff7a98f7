"""Helpers for the Bulk Write tests: upload a zipped CSV, create a job, wait for it, read the result CSV."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from typing import Any

import requests

from connector.emulator import schema
from tests.conftest import ZohoClient

ZGID = str(schema.ORG.zgid)
UPLOAD_HEADERS = {"feature": "bulk-write", "X-CRM-ORG": ZGID}


def zipped(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def upload(z: ZohoClient, text: str, name: str = "leads.csv", headers: dict[str, str] | None = None,
           data: bytes | None = None) -> requests.Response:
    payload = data if data is not None else zipped({name: text})
    return z.post("/upload", headers=UPLOAD_HEADERS if headers is None else headers,
                  files={"file": (name.replace(".csv", ".zip"), payload, "application/zip")})


def file_id(z: ZohoClient, text: str, name: str = "leads.csv") -> str:
    r = upload(z, text, name)
    assert r.status_code == 200, r.text
    return str(r.json()["details"]["file_id"])


def job_body(fid: str, mappings: list[dict[str, Any]] | None, operation: str = "insert", module: str = "Leads",
             **res: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": "data", "module": {"api_name": module}, "file_id": fid, **res}
    if mappings is not None:
        resource["field_mappings"] = mappings
    return {"operation": operation, "resource": [resource]}


def create(z: ZohoClient, body: dict[str, Any]) -> requests.Response:
    return z.post("/write", base=z.bulk, json=body)


def wait_job(z: ZohoClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = z.get(f"/write/{job_id}", base=z.bulk)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            return dict(r.json())
        time.sleep(0.02)


def run(z: ZohoClient, text: str, mappings: list[dict[str, Any]] | None, operation: str = "insert",
        module: str = "Leads", name: str = "leads.csv", **res: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    r = create(z, job_body(file_id(z, text, name), mappings, operation, module, **res))
    assert r.status_code == 201, r.text
    status = wait_job(z, r.json()["details"]["id"])
    assert status["status"] == "COMPLETED", status
    d = z.get(status["result"]["download_url"])
    assert d.status_code == 200, d.text
    zf = zipfile.ZipFile(io.BytesIO(d.content))
    assert zf.namelist() == [f"{module}-{name}"]
    rows = list(csv.DictReader(io.StringIO(zf.read(zf.namelist()[0]).decode(), newline="")))
    return status, rows


def err(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert {"code", "details", "message", "status"} <= set(body) and body["code"] == code, body
    return dict(body["details"])
