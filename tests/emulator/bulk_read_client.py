"""Helpers for the Bulk Read tests: create a job, poll it, download and parse its zipped CSV."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from typing import Any

import requests

from connector.emulator import Emulator
from tests.conftest import ZohoClient

BULK_JOB_KEYS = {"id", "operation", "state", "query", "created_by", "created_time", "file_type"}


def create(z: ZohoClient, query: dict[str, Any], **extra: Any) -> requests.Response:
    return z.post("/read", base=z.bulk, json={"query": query, **extra})


def wait_state(z: ZohoClient, job_id: str, states: tuple[str, ...] = ("COMPLETED", "FAILURE"),
               timeout: float = 60) -> dict[str, Any]:
    """Poll until the job reaches one of ``states`` (real-time deadline; never asserts a duration)."""
    deadline = time.monotonic() + timeout
    while True:
        r = z.get(f"/read/{job_id}", base=z.bulk)
        assert r.status_code == 200, r.text
        job = r.json()["data"][0]
        if job["state"] in states or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.02)


def run_job(z: ZohoClient, query: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[list[str]]]:
    r = create(z, query)
    assert r.status_code == 201, r.text
    job = wait_state(z, r.json()["data"][0]["details"]["id"])
    assert job["state"] == "COMPLETED", job
    header, rows = download(z, job["id"])
    return job, header, rows


def download(z: ZohoClient, job_id: str) -> tuple[list[str], list[list[str]]]:
    r = z.get(f"/read/{job_id}/result", base=z.bulk)
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.namelist() == [f"{job_id}.csv"]
    text = zf.read(f"{job_id}.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def grant_client(emu: Emulator, scopes: str) -> ZohoClient:
    r = requests.post(f"{emu.origin}/__emulator/grant", json={"scopes": scopes}, timeout=30)
    assert r.status_code == 200, r.text
    return ZohoClient(emu, refresh_token=r.json()["refresh_token"])


def err(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "details", "message", "status"} and body["status"] == "error", body
    assert body["code"] == code, body
    return dict(body["details"])
