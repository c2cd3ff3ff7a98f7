"""COQL (search-and-coql.md part B): POST /coql, LIMIT <= 2,000, OFFSET+LIMIT <= 100,000."""

from __future__ import annotations

from typing import Any

from connector.http.client import ZohoHttp, ZohoResponse

MAX_LIMIT = 2_000
MAX_OFFSET_PLUS_LIMIT = 100_000


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run(http: ZohoHttp, select_query: str) -> tuple[list[dict[str, Any]], bool]:
    """Rows and ``more_records`` for one COQL statement (204 -> no rows)."""
    r = http.post("/coql", json={"select_query": select_query}, idempotent=True, kind="coql", what="COQL query")
    if r.empty:
        return [], False
    return list(r.body.get("data", [])), bool(r.body.get("info", {}).get("more_records"))


def ask(http: ZohoHttp, select_query: str) -> ZohoResponse:
    """One COQL statement's answer with its bytes undecoded (``content``; ``body`` decodes on first use)."""
    return http.post("/coql", json={"select_query": select_query}, idempotent=True, kind="coql",
                     what="COQL query", raw=True)
