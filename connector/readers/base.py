"""The reader contract and the context readers share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from connector.config.config import ConnectionConfig
from connector.http.client import ZohoHttp
from connector.http.concurrency import HEAVY_LIMIT
from connector.model import Pushdown
from connector.schema.catalog import Catalog
from connector.schema.types import TableSchema


@dataclass
class ReaderContext:
    config: ConnectionConfig
    http: ZohoHttp
    catalog: Catalog
    #: progress callback: (module, rows so far) — the CLI draws bars with it
    progress: object | None = None
    stats: dict[str, int] = field(default_factory=dict)
    #: set when whoever consumes the batches stops (Ctrl-C, SIGTERM, close): a reader waiting on Zoho stops too
    cancel: threading.Event = field(default_factory=threading.Event)
    #: list pages asked before the read began (a sync's delta: its first page beside the module's metadata,
    #: its second by token beside the count): ``(module, fields, request)`` -> the read's first pages, in
    #: order, when they were asked exactly so, else None; taken at most once
    first_pages: Callable[[str, list[str], dict[str, Any]], Any] | None = None

    def report(self, module: str, rows: int) -> None:
        cb = self.progress
        if callable(cb):
            cb(module, rows)


def heavy_slots(ctx: ReaderContext) -> int:
    """COQL calls the connection may have in flight at once (MaxConcurrency, at most Zoho's 10 heavy)."""
    return min(ctx.config.max_concurrency, HEAVY_LIMIT)


class Reader(Protocol):
    name: str

    def batches(self, module: str, columns: list[str] | None = None,
                pushdown: Pushdown | None = None) -> Iterator[pa.RecordBatch]: ...


def resolve_columns(ts: TableSchema, columns: list[str] | None) -> list[str]:
    """Canonical column names in table order; ``id`` always included."""
    if columns is None:
        return [c.name for c in ts.columns]
    want = []
    for name in columns:
        col = ts.column(name)
        if col is None:
            from connector.errors import PlanningError

            raise PlanningError(f"{ts.module} has no column {name!r}")
        want.append(col.name)
    if "id" not in want:
        want.insert(0, "id")
    order = {c.name: i for i, c in enumerate(ts.columns)}
    return sorted(dict.fromkeys(want), key=lambda n: order[n])


def empty_batch(ts: TableSchema, columns: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=ts.select(columns))
