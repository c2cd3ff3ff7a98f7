"""Search API (search-and-coql.md part A): criteria, 2,000-record cap, eventually consistent."""

from __future__ import annotations

from typing import Any

from connector.http.client import ZohoHttp

from .records import Page, _page

SEARCH_CAP = 2_000


def escape_value(value: str) -> str:
    """Backslash-escape the characters that structure criteria: ( ) , and the backslash itself."""
    out = value.replace("\\", "\\\\")
    for ch in "(),":
        out = out.replace(ch, "\\" + ch)
    return out


def search_page(http: ZohoHttp, module: str, criteria: str, *, fields: list[str] | None = None, page: int = 1,
                per_page: int = 200, converted: str | None = None) -> Page:
    params: dict[str, Any] = {"criteria": criteria, "page": page, "per_page": per_page}
    if fields:
        params["fields"] = ",".join(fields)
    if converted:
        params["converted"] = converted
    r = http.get(f"/{module}/search", params=params, kind="search", what=f"search {module}")
    return _page(r)
