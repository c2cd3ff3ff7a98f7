"""Columns only the records API returns, filled in for the readers whose API refuses them.

COQL answers "data type not supported" for file and image uploads and Events'
``Participants``, and "column given seems to be invalid" for ``Tag``; Bulk Read
does not export them (``FIELD_NOT_AVAILABLE``). So that every reader still
returns every column of a module (the reader contract), the COQL and Bulk
readers read the other columns through their own API and these ones through
the list API by ``?ids=`` (100 ids a call, joined by id): one extra call per
100 rows, which the choice policy knows (it reads such projections through the
list API when no filter narrows them). A batch's calls are independent and go out
together, up to MaxConcurrency (they are light calls): a 2,000-row COQL page waits
one round trip for them, not twenty.

A record deleted between the two reads keeps its row with these columns NULL,
as a record deleted during any read would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pyarrow as pa

from connector.schema.convert import records_to_batch
from connector.schema.types import TableSchema

from .base import ReaderContext
from .concurrent import at_once
from .dialects import rest as list_api


def split_columns(ts: TableSchema, cols: list[str]) -> tuple[list[str], list[str]]:
    """(columns the reader's own API returns, columns only the records API returns); ``id`` in the first."""
    extra = [c for c in cols if c in ts.records_only_columns]
    return [c for c in cols if c not in ts.records_only_columns], extra


def complete(ctx: ReaderContext, ts: TableSchema, cols: list[str], extra: list[str],
             batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` (every column of ``cols`` but ``extra``) with ``extra`` read by id from the list API."""
    fields = ts.fields_for(extra)
    schema = ts.select(cols)
    for batch in batches:
        ids = [str(i) for i in batch.column("id").to_pylist()]
        calls = [partial(fetch_ids, ctx, ts.module, fields, ids[i:i + list_api.MAX_IDS])
                 for i in range(0, len(ids), list_api.MAX_IDS)]
        found: dict[str, dict[str, Any]] = {}
        for records in at_once(calls, ctx.config.max_concurrency, "zoho-records-only"):
            for rec in records:
                found[str(rec.get("id"))] = rec
        filled = records_to_batch(ts, extra, [found.get(i, {}) for i in ids])
        arrays = [filled.column(n) if n in extra else batch.column(n) for n in cols]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def fetch_ids(ctx: ReaderContext, module: str, fields: list[str], ids: list[str]) -> list[dict[str, Any]]:
    """The list API's records for at most 100 ids (those no longer there are left out)."""
    if not ids:
        return []
    params: dict[str, Any] = {"fields": ",".join(fields), "ids": list_api.ids_param(ids)}
    r = ctx.http.get(f"/{module}", params=params, kind="list", what=f"list {module} by ids")
    return [] if r.empty else list(r.body.get("data", []))


def with_records_only(ctx: ReaderContext, ts: TableSchema, cols: list[str],
                      read: Callable[[list[str]], Iterator[pa.RecordBatch]]) -> Iterator[pa.RecordBatch]:
    """``read(columns)`` for the columns its API returns, completed with the records-only ones."""
    own, extra = split_columns(ts, cols)
    if not extra:
        return read(cols)
    return complete(ctx, ts, cols, extra, read(own))
