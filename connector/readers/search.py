"""Search reader: criteria pushed to ``/search``, made correct despite the index lag and the cap.

Zoho's search index is eventually consistent (search-and-coql.md A.4): for a
few minutes after a write, a record may be missing or still match on its old
values. The reader therefore also asks COQL (which reads the database) for
every record modified within ``SearchIndexLag`` seconds and merges by id:
search rows of those ids are dropped, the fresh COQL rows are added, and the
engine re-applies the WHERE — so a just-edited record is never missed nor
shown stale.

Search reaches at most 2,000 records (:class:`~.paging.SearchPaginator`); the
reader buffers up to that many (a bounded amount) and, when the cap is hit,
answers from COQL instead so it never yields a partial result.

``modified_since`` is applied to the search rows here rather than added to the
criteria: Zoho caps criteria at 15 conditions and the planner may have used
them all, and the rows are few (at most 2,000). An id window
(``after_id < id <= upto_id``, a partition's slice) is applied the same way,
and given to the COQL reads as a condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pyarrow as pa

from connector.api import search as api
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch

from .base import ReaderContext, resolve_columns
from .coql import CoqlReader
from .dialects import COQL
from .paging import SearchPaginator
from .rest import RestReader, converted_param, field_groups

PER_PAGE = 200


class SearchReader:
    name = "Search"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def batches(self, module: str, columns: list[str] | None = None, pushdown: Pushdown | None = None, *,
                after_id: str | None = None, upto_id: str | None = None) -> Iterator[pa.RecordBatch]:
        pd = pushdown or NO_PUSHDOWN
        if not pd.criteria:
            # Search needs criteria; without any, a scan is what was asked for.
            yield from CoqlReader(self.ctx).batches(module, columns, pd, after_id=after_id, upto_id=upto_id)
            return
        ts = self.ctx.catalog.table(module)
        module = ts.module
        cols = resolve_columns(ts, columns)
        since = pd.modified_since.astimezone(UTC) if pd.modified_since is not None else None
        fields = ts.fields_for(cols)
        if since is not None and "Modified_Time" not in fields:
            fields = ["Modified_Time", *fields]  # in the first group, so every search row carries it
        groups = field_groups(fields)
        params: dict[str, Any] = {"criteria": pd.criteria, "fields": ",".join(groups[0])}
        if (converted := converted_param(module)) is not None:
            params["converted"] = converted
        found: list[dict[str, Any]] = []
        server_now: datetime | None = None
        pager = SearchPaginator(per_page=PER_PAGE, cap=api.SEARCH_CAP)
        while pager.has_next_page:
            r = self.ctx.http.get(f"/{module}/search", params=pager.update_request(params), kind="search",
                                  what=f"search {module}")
            server_now = server_now or _server_time(r.headers)
            records = [] if r.empty else list(r.body.get("data", []))
            found += pager.update_state(records, bool(not r.empty and r.body.get("info", {}).get("more_records")))
        if pager.capped:
            # More than 2,000 matches: search cannot list them all; COQL can.
            yield from CoqlReader(self.ctx).batches(module, cols, pd, after_id=after_id, upto_id=upto_id)
            return
        found = [r for r in found if _in_window(str(r["id"]), after_id, upto_id)]
        if since is not None:
            found = [r for r in found if (at := _modified_at(r)) is not None and at >= since]
        if len(groups) > 1 and found:
            for i in range(0, len(found), PER_PAGE):
                RestReader(self.ctx).join_groups(module, groups[1:], found[i:i + PER_PAGE])
        recent = self._recently_modified(module, cols, server_now or datetime.now(UTC), since, after_id, upto_id)
        fresh_ids = {i for b in recent for i in b.column("id").to_pylist()}
        merged = [r for r in found if str(r["id"]) not in fresh_ids]
        if merged:
            yield records_to_batch(ts, cols, merged)
        yield from recent
        self.ctx.report(module, len(merged) + sum(b.num_rows for b in recent))

    def _recently_modified(self, module: str, cols: list[str], now: datetime, since: datetime | None,
                           after_id: str | None, upto_id: str | None) -> list[pa.RecordBatch]:
        """Current rows of every record modified within the index lag (COQL reads the database)."""
        lag = self.ctx.config.search_index_lag
        ts = self.ctx.catalog.table(module)
        if lag <= 0 or "Modified_Time" not in ts.by_name:
            return []
        cutoff = now - timedelta(seconds=lag)
        if since is not None and since > cutoff:
            cutoff = since
        where = COQL.at_or_after("Modified_Time", cutoff)
        return list(CoqlReader(self.ctx).batches(module, cols, Pushdown(coql_where=where), after_id=after_id,
                                                upto_id=upto_id))


def _in_window(record_id: str, after_id: str | None, upto_id: str | None) -> bool:
    n = int(record_id)
    return (after_id is None or n > int(after_id)) and (upto_id is None or n <= int(upto_id))


def _modified_at(record: dict[str, Any]) -> datetime | None:
    raw = record.get("Modified_Time")
    if not raw:
        return None
    dt = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _server_time(headers: dict[str, str]) -> datetime | None:
    raw = headers.get("Date") or headers.get("date")
    try:
        return parsedate_to_datetime(raw).astimezone(UTC) if raw else None
    except (TypeError, ValueError):
        return None
