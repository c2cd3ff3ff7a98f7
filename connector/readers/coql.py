"""COQL reader: keyset pagination by id, so there is no OFFSET ceiling.

COQL caps LIMIT at 2,000 and OFFSET+LIMIT at 100,000 (search-and-coql.md
B.2), so the reader never uses OFFSET: it asks for ``id > <last id>`` ordered
by id, 2,000 rows a call, until a short page. Lookups come back as
``{"name", "id"}`` like the list API, so the same converter applies.

COQL does not say which module a polymorphic lookup (``What_Id``) points at
(the list API's ``$se_module``); when a ``<Field>_Module`` column is asked
for, :class:`~.names.LookupNames` finds it by looking the ids up in the
field's target modules (extra COQL calls, only for such reads).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from connector.api import coql as api
from connector.model import NO_PUSHDOWN, Pushdown
from connector.schema.convert import records_to_batch

from .base import ReaderContext, resolve_columns
from .names import LookupNames

CHEAP_LIMIT = 200


def conjoin(parts: list[str]) -> str:
    """AND the parts with explicit parentheses (COQL wants them past two conditions)."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    expr = f"({parts[0]})"
    for p in parts[1:]:
        expr = f"({expr} and ({p}))"
    return expr


def coql_datetime(dt: datetime) -> str:
    return "'" + dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") + "'"


class CoqlReader:
    name = "COQL"

    def __init__(self, ctx: ReaderContext) -> None:
        self.ctx = ctx

    def batches(self, module: str, columns: list[str] | None = None, pushdown: Pushdown | None = None, *,
                after_id: str | None = None, already: int = 0) -> Iterator[pa.RecordBatch]:
        pd = pushdown or NO_PUSHDOWN
        ts = self.ctx.catalog.table(module)
        module = ts.module
        cols = resolve_columns(ts, columns)
        fields = ts.fields_for(cols) or ["id"]
        select = ", ".join(fields)
        # Polymorphic lookups whose module COQL leaves out (What_Id): filled in before conversion.
        module_fields = [ts.by_name[c].field for c in cols if ts.by_name[c].part == "module"]
        names = LookupNames(self.ctx) if module_fields else None

        def convert(rows: list[dict[str, Any]]) -> pa.RecordBatch:
            if names is not None:
                names.fill_record_modules(module, module_fields, rows)
            return records_to_batch(ts, cols, rows)

        base_where = [pd.coql_where or ""]
        if pd.modified_since is not None:
            base_where.append(f"Modified_Time >= {coql_datetime(pd.modified_since)}")
        fetched = already
        limit = pd.limit if (pd.exact and pd.limit is not None) else None
        if pd.order_by and limit is not None and limit <= api.MAX_LIMIT:
            order = ", ".join(f"{f} {'asc' if asc else 'desc'}" for f, asc in pd.order_by)
            where = conjoin(base_where) or "id is not null"
            rows, _ = api.run(self.ctx.http, f"select {select} from {module} where {where} "
                                             f"order by {order}, id asc limit {limit}")
            if rows:
                yield convert(rows)
            return
        last = after_id
        # COQL charges by LIMIT: 1 credit up to 200 rows, 3 up to 2,000. Most filtered reads and
        # incremental deltas are small, so the first call asks for 200 and only a full first page
        # moves on to 2,000-row pages (a large scan pays one extra 1-credit call).
        page = CHEAP_LIMIT
        while True:
            want = page if limit is None else min(page, limit - fetched)
            if want <= 0:
                return
            where = conjoin(base_where + ([f"id > {int(last)}"] if last else [])) or "id is not null"
            rows, more = api.run(self.ctx.http, f"select {select} from {module} where {where} "
                                                f"order by id asc limit {want}")
            if not rows:
                return
            fetched += len(rows)
            last = str(rows[-1]["id"])
            yield convert(rows)
            self.ctx.report(module, fetched)
            if len(rows) < want and not more:
                return
            page = api.MAX_LIMIT
