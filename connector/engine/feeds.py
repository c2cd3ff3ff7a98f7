"""Reader batches as DuckDB relations: streamed once, shared when DuckDB scans a relation twice.

A :class:`ScanFeed` holds how to read one table scan (a callable returning the
reader's batches) and hands DuckDB a fresh ``pyarrow.RecordBatchReader`` each
time it scans the relation:

* normally a relation is scanned once, and the feed streams it: nothing is
  kept, memory stays at a few batches;
* when DuckDB scans it more than once (a recursive CTE, a CTE it inlines
  twice), the engine marks the feed ``shared`` before the query runs: the first
  pass keeps its batches and later passes replay them, so Zoho is read once;
* an unforeseen second scan of a streaming feed reads Zoho again (correct,
  only dearer) and logs a warning.

The first exception a read raises is kept in ``feed.error``: DuckDB wraps it in
its own error text, and the engine re-raises the original (an ``ApiError``
with Zoho's code, a ``PermissionDenied``...).

Given the statement's :class:`~.cancel.Cancel`, a feed runs its reader in a
thread of its own (:func:`~.cancel.pull_in_thread`), so a stop is seen within
a fraction of a second even while a Zoho call is out.

Registration uses DuckDB's Arrow scan source protocol when this DuckDB has it
(``duckdb._sources``, DuckDB 2.0), which also hands the source the projected
columns; otherwise the feed is registered as a one-shot ``RecordBatchReader``
(or an Arrow table when shared), which every DuckDB since 1.1 reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import pyarrow as pa

from .cancel import Cancel, pull_in_thread

log = logging.getLogger("connector.engine")

BatchSource = Callable[[], Iterator[pa.RecordBatch]]


class _SharedBatches:
    """One pass over the source, replayed to any number of readers, in any interleaving (thread-safe)."""

    def __init__(self, source: Iterator[pa.RecordBatch]) -> None:
        self._source = source
        self._kept: list[pa.RecordBatch] = []
        self._done = False
        self._lock = threading.Lock()

    def _get(self, i: int) -> pa.RecordBatch | None:
        with self._lock:  # held while reading from Zoho: a second reader waits for the batch the first fetches
            while i >= len(self._kept):
                if self._done:
                    return None
                try:
                    self._kept.append(next(self._source))
                except StopIteration:
                    self._done = True
            return self._kept[i]

    def replay(self) -> Iterator[pa.RecordBatch]:
        i = 0
        while (batch := self._get(i)) is not None:
            yield batch
            i += 1


class ScanFeed:
    """The rows of one relation: ``open()`` gives a RecordBatchReader each time DuckDB scans it."""

    def __init__(self, name: str, schema: pa.Schema, source: BatchSource, *, shared: bool = False,
                 cancel: Cancel | None = None) -> None:
        self.name = name
        self.schema = schema
        self.source = source
        self.shared = shared
        self.cancel = cancel
        self.opened = 0
        self.rows = 0
        self.error: BaseException | None = None
        self._shared: _SharedBatches | None = None
        self._lock = threading.Lock()

    def _conformed(self) -> Iterator[pa.RecordBatch]:
        """The source's batches in exactly the declared schema; the first error is kept for the engine."""
        batches: Iterator[pa.RecordBatch] | None = None
        try:
            batches = self.source() if self.cancel is None else pull_in_thread(self.source, self.cancel, self.name)
            for batch in batches:
                if batch.schema != self.schema:
                    batch = pa.Table.from_batches([batch]).cast(self.schema).combine_chunks().to_batches()[0] \
                        if batch.num_rows else pa.RecordBatch.from_pylist([], schema=self.schema)
                self.rows += batch.num_rows
                yield batch
        except BaseException as exc:
            if self.error is None and not isinstance(exc, GeneratorExit):
                self.error = exc
            raise
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # stops the reader now (DuckDB may stop pulling early: LIMIT, an error elsewhere)

    def batches(self) -> Iterator[pa.RecordBatch]:
        with self._lock:
            self.opened += 1
            again = self.opened > 1
            if self.shared:
                if self._shared is None:
                    self._shared = _SharedBatches(self._conformed())
                return self._shared.replay()
        if again:
            log.warning("DuckDB scans %s a second time; reading it from Zoho again", self.name)
        return self._conformed()

    def open(self, columns: Sequence[int] | None = None) -> pa.RecordBatchReader:
        """A reader over the rows, narrowed to ``columns`` (indexes into the schema) when given."""
        if columns is None:
            return pa.RecordBatchReader.from_batches(self.schema, self.batches())
        idx = list(columns)
        narrowed = pa.schema([self.schema.field(i) for i in idx])
        return pa.RecordBatchReader.from_batches(narrowed, (b.select(idx) for b in self.batches()))

    def table(self) -> pa.Table:
        return self.open().read_all()


# ---- DuckDB registration ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def source_protocol() -> type | None:
    """DuckDB's Arrow scan source base class when this DuckDB has the (private) protocol, else None.

    Feature-detected, never assumed: ``duckdb._sources.ArrowScanSource`` with ``stream`` and
    ``accepts``, and ``DuckDBPyConnection._register_arrow_source``. Tested with DuckDB 2.0.1.
    """
    try:
        import duckdb
        from duckdb._sources import ArrowScanSource
    except ImportError:
        return None
    connection = getattr(duckdb, "DuckDBPyConnection", None)
    if connection is None or not hasattr(connection, "_register_arrow_source"):
        return None
    if not all(callable(getattr(ArrowScanSource, m, None)) for m in ("stream", "accepts")):
        return None
    base: type = ArrowScanSource
    return base


@lru_cache(maxsize=1)
def _feed_source_class() -> type | None:
    base = source_protocol()
    if base is None:
        return None

    class FeedSource(base):  # type: ignore[valid-type, misc]
        """A ScanFeed behind DuckDB's Arrow scan: projection honoured, no filter accepted (DuckDB filters)."""

        schema_is_stable = True

        def __init__(self, feed: ScanFeed) -> None:
            super().__init__(feed)
            self.feed = feed

        def __arrow_c_schema__(self) -> object:
            return self.feed.schema.__arrow_c_schema__()

        def accepts(self, predicate: object) -> bool:
            return False  # the planner already pushed what Zoho can take; DuckDB applies the whole WHERE

        def stream(self, columns: Sequence[int] | None, filters: Sequence[object]) -> tuple[object, bool]:
            return self.feed.open(columns).__arrow_c_stream__(), columns is not None

    return FeedSource


def register_feed(con: Any, feed: ScanFeed, *, use_sources: bool = True) -> None:
    """Make ``feed`` the relation ``feed.name`` of ``con`` (lazy: nothing is read until DuckDB scans it)."""
    cls = _feed_source_class() if use_sources else None
    if cls is not None:
        con._register_arrow_source(feed.name, cls(feed))
    elif feed.shared:
        con.register(feed.name, feed.table())  # older DuckDB: a second scan needs a table
    else:
        con.register(feed.name, feed.open())


def register_placeholder(con: Any, name: str, schema: pa.Schema) -> None:
    """An empty relation with the right schema, so DuckDB can plan the statement before any read."""
    con.register(name, pa.Table.from_pylist([], schema=schema))
