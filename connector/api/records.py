"""Records API: list (page / page_token), get, insert, update, upsert, delete, deleted, count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.http.client import ZohoHttp, ZohoResponse

MAX_FIELDS_PER_CALL = 50
MAX_PER_PAGE = 200
MAX_BATCH = 100
DISCRETE_PAGING_LIMIT = 2_000
PAGE_TOKEN_LIMIT = 100_000


@dataclass
class Page:
    records: list[dict[str, Any]]
    more: bool
    next_page_token: str | None
    status: int


def list_page(http: ZohoHttp, module: str, fields: list[str], *, page: int | None = None,
              page_token: str | None = None, per_page: int = MAX_PER_PAGE, sort_by: str | None = None,
              sort_order: str | None = None, converted: str | None = None,
              if_modified_since: str | None = None) -> Page:
    params: dict[str, Any] = {"fields": ",".join(fields), "per_page": per_page}
    if page_token:
        params["page_token"] = page_token
    elif page:
        params["page"] = page
    if sort_by:
        params["sort_by"] = sort_by
    if sort_order:
        params["sort_order"] = sort_order
    if converted:
        params["converted"] = converted
    headers = {"If-Modified-Since": if_modified_since} if if_modified_since else None
    r = http.get(f"/{module}", params=params, headers=headers, kind="list", what=f"list {module}")
    return _page(r)


def _page(r: ZohoResponse) -> Page:
    if r.empty:
        return Page([], False, None, r.status)
    info = r.body.get("info", {})
    return Page(list(r.body.get("data", [])), bool(info.get("more_records")), info.get("next_page_token"),
                r.status)


def get_record(http: ZohoHttp, module: str, record_id: str) -> dict[str, Any] | None:
    r = http.get(f"/{module}/{record_id}", kind="get", what=f"get {module}/{record_id}")
    return None if r.empty else dict(r.body["data"][0])


def write(http: ZohoHttp, method: str, module: str, records: list[dict[str, Any]], *,
          trigger: list[str] | None = None, duplicate_check_fields: list[str] | None = None,
          upsert: bool = False, idempotent: bool | None = None) -> ZohoResponse:
    """insert (POST), update (PUT) or upsert (POST .../upsert); answers carry per-record results."""
    body: dict[str, Any] = {"data": records}
    if trigger is not None:
        body["trigger"] = trigger
    if duplicate_check_fields:
        body["duplicate_check_fields"] = duplicate_check_fields
    path = f"/{module}/upsert" if upsert else f"/{module}"
    op = "upsert" if upsert else ("insert" if method == "POST" else "update")
    return http.request(method, path, json=body, batch=True, kind=op, what=f"{op} {module}",
                        idempotent=idempotent if idempotent is not None else (upsert or method == "PUT"))


def delete(http: ZohoHttp, module: str, ids: list[str], *, wf_trigger: bool = False) -> ZohoResponse:
    return http.request("DELETE", f"/{module}", params={"ids": ",".join(ids), "wf_trigger": str(wf_trigger).lower()},
                        batch=True, kind="delete", what=f"delete {module}")


def deleted_page(http: ZohoHttp, module: str, *, page: int = 1, kind: str = "all",
                 if_modified_since: str | None = None) -> Page:
    headers = {"If-Modified-Since": if_modified_since} if if_modified_since else None
    r = http.get(f"/{module}/deleted", params={"type": kind, "page": page, "per_page": MAX_PER_PAGE},
                 headers=headers, kind="deleted", what=f"deleted {module}")
    return _page(r)


def count(http: ZohoHttp, module: str, criteria: str | None = None) -> int:
    params = {"criteria": criteria} if criteria else None
    r = http.get(f"/{module}/actions/count", params=params, kind="count", what=f"count {module}")
    return 0 if r.empty else int(r.body.get("count", 0))
