"""Bulk Read and Bulk Write (bulk-read.md, bulk-write.md)."""

from __future__ import annotations

import time
from typing import Any

from connector.errors import RetriableError
from connector.http.client import ZohoHttp
from connector.http.retry import pause

READ_PAGE_ROWS = 200_000
WRITE_MAX_ROWS = 25_000
WRITE_MAX_BYTES = 25 * 1024 * 1024
WRITE_MAX_COLUMNS = 200


def create_read_job(http: ZohoHttp, module: str, fields: list[str] | None, criteria: dict[str, Any] | None, *,
                    page: int | None = None, page_token: str | None = None) -> str:
    query: dict[str, Any] = {"module": {"api_name": module}}
    if fields:
        query["fields"] = fields
    if criteria:
        query["criteria"] = criteria
    if page_token:
        query["page_token"] = page_token
    else:
        query["page"] = page or 1
    r = http.post("/read", json={"query": query, "file_type": "csv"}, base="bulk", kind="bulk_read",
                  what=f"bulk read job for {module}", idempotent=False)
    return str(r.body["data"][0]["details"]["id"])


def read_job_status(http: ZohoHttp, job_id: str) -> dict[str, Any]:
    r = http.get(f"/read/{job_id}", base="bulk", kind="bulk_status", what=f"bulk read job {job_id}")
    return dict(r.body["data"][0])


def download_read_result(http: ZohoHttp, job_id: str, dest: Any) -> int:
    """Stream the zip into a binary file object; returns bytes written.

    Zoho allows 10 downloads a minute; past them it answers 429, which the caller waits out and asks
    again (:meth:`connector.readers.bulk.BulkReader.download`), so that answer is not logged as a failure."""
    r = http.request("GET", f"/read/{job_id}/result", base="bulk", kind="bulk_download", stream=True,
                     what=f"bulk read download {job_id}", expected=("TOO_MANY_REQUESTS",))
    n = 0
    for chunk in r.iter_content(1 << 20):  # type: ignore[attr-defined]
        dest.write(chunk)
        n += len(chunk)
    return n


def upload(http: ZohoHttp, zip_bytes: bytes, filename: str, zgid: str) -> str:
    r = http.request("POST", "/upload", base="content", files={"file": (filename, zip_bytes, "application/zip")},
                     headers={"feature": "bulk-write", "X-CRM-ORG": zgid}, kind="bulk_upload",
                     what="bulk write upload", idempotent=False)
    return str(r.body["details"]["file_id"])


def create_write_job(http: ZohoHttp, operation: str, module: str, file_id: str,
                     field_mappings: list[dict[str, Any]], *, find_by: str | None = None,
                     ignore_empty: bool = False) -> str:
    resource: dict[str, Any] = {"type": "data", "module": {"api_name": module}, "file_id": file_id,
                                "field_mappings": field_mappings}
    if find_by:
        resource["find_by"] = find_by
    body = {"operation": operation, "character_encoding": "UTF-8", "ignore_empty": ignore_empty,
            "resource": [resource]}
    r = http.post("/write", json=body, base="bulk", kind="bulk_write", what=f"bulk write job for {module}",
                  idempotent=False)
    return str(r.body["details"]["id"])


def write_job_status(http: ZohoHttp, job_id: str) -> dict[str, Any]:
    r = http.get(f"/write/{job_id}", base="bulk", kind="bulk_status", what=f"bulk write job {job_id}")
    return dict(r.body)


#: a Bulk Write job's states once it has ended (Zoho says FAILED; FAILURE as bulk read does is taken too)
WRITE_JOB_ENDED = ("COMPLETED", "FAILED", "FAILURE")


def wait_write_job(http: ZohoHttp, job_id: str, *, initial: float, cap: float, timeout: float) -> dict[str, Any]:
    """Poll a Bulk Write job with backoff until it has ended; its last status.

    Raises :class:`RetriableError` ``JOB_TIMEOUT`` once ``timeout`` seconds pass with the job still
    queued or running; the pause between polls ends at once when the run stops.
    """
    delay, started = initial, time.monotonic()
    while True:
        status = write_job_status(http, job_id)
        if str(status.get("status", "")).upper().replace("INPROGRESS", "IN PROGRESS") in WRITE_JOB_ENDED:
            return status
        if time.monotonic() - started > timeout:
            raise RetriableError(f"bulk write job {job_id} still {status.get('status')} after {timeout:.0f} s",
                                 code="JOB_TIMEOUT")
        pause(delay)
        delay = min(cap, delay * 1.5)


def download_write_result(http: ZohoHttp, url: str) -> bytes:
    r = http.get(url, kind="bulk_download", what="bulk write result")
    return r.content
