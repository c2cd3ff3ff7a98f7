"""Org, users, modules and fields (metadata-and-types.md sections 1-4)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from connector.http.client import ZohoHttp


def server_now(http: ZohoHttp) -> datetime:
    """Zoho's clock (the ``Date`` header of a ``GET /org``), to the second; ours when Zoho sends none."""
    r = http.get("/org", kind="metadata", what="server time")
    raw = r.headers.get("Date") or r.headers.get("date")
    now = parsedate_to_datetime(raw).astimezone(UTC) if raw else datetime.now(UTC)
    return now.replace(microsecond=0)


def get_org(http: ZohoHttp) -> dict[str, Any]:
    body = http.get("/org", kind="metadata").body
    orgs = body.get("org") if isinstance(body, dict) else None
    if not orgs:
        raise ValueError("GET /org answered without an org")
    return dict(orgs[0])


def current_user(http: ZohoHttp) -> dict[str, Any] | None:
    r = http.get("/users", params={"type": "CurrentUser"}, kind="metadata")
    users = (r.body or {}).get("users") if isinstance(r.body, dict) else None
    return dict(users[0]) if users else None


def list_users(http: ZohoHttp) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = http.get("/users", params={"type": "AllUsers", "page": page, "per_page": 200}, kind="metadata")
        if r.empty:
            return out
        out += r.body.get("users", [])
        if not r.body.get("info", {}).get("more_records"):
            return out
        page += 1


def list_modules(http: ZohoHttp) -> list[dict[str, Any]]:
    r = http.get("/settings/modules", kind="metadata")
    return list((r.body or {}).get("modules", [])) if not r.empty else []


def list_fields(http: ZohoHttp, module: str, expected: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``expected``: error codes the caller takes as an answer (logged as such, not as a failure)."""
    r = http.get("/settings/fields", params={"module": module}, kind="metadata", expected=expected)
    return list((r.body or {}).get("fields", [])) if not r.empty else []
