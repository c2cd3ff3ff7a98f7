"""``spark.readStream.format("zohocrm")``: a module's changes as micro-batches, deletions included.

    (spark.readStream.format("zohocrm").option("connection", conn).load("Leads")
          .writeStream.format("parquet").option("checkpointLocation", ck).start(out))

Rows: the module's columns plus ``_deleted`` (bool) and ``_deleted_time``. An
insert or update is the record's whole row as it is when its batch reads it;
a deletion is a row with only ``id``, ``_deleted`` true and ``_deleted_time``.
The latest row per id (by batch, then Modified_Time), without the deleted
ones, is the module — what a MERGE into a Delta table keeps.

Offsets are instants of Zoho's clock: ``{"until": T}`` means "every change
whose Modified_Time (or deleted_time) is before T has been delivered". A batch
from S to T reads the records with S <= Modified_Time < T (closed start, open
end: each state of a record falls in exactly one window, and a record changed
again before its window was read shows up, with its newer row, in a later
one) and the deletions with S <= deleted_time < T. T is Zoho's time (the Date
header) less one second, so no later write can still land in a window already
read (Zoho stamps whole seconds). The filter is applied to the rows exactly,
whatever the API sent (the read itself is planned like any SQL read).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.datasource import DataSourceStreamReader, InputPartition

from connector.api.metadata import server_now
from connector.config.config import ConnectionConfig
from connector.errors import ConfigError
from connector.readers.strategies import Partition, strategy_for

from .filters import quote_name
from .session import PlannedOnDriver, executor_config, executor_session
from .types import for_spark, spark_arrow_schema

FIELD = "Modified_Time"
DELETED, DELETED_TIME = "_deleted", "_deleted_time"
UTC_US = pa.timestamp("us", tz="UTC")


def stream_schema(module_schema: pa.Schema) -> pa.Schema:
    base = spark_arrow_schema(module_schema)
    return base.append(pa.field(DELETED, pa.bool_())).append(pa.field(DELETED_TIME, UTC_US))


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class StreamPartition(InputPartition):
    """Changed records of one slice of a window, or (``deletions``) the window's deleted records."""

    def __init__(self, index: int, module: str, slice_: Partition | None, deletions: bool, start: str | None,
                 end: str, executor: ConnectionConfig, schema: pa.Schema) -> None:
        super().__init__(index)
        self.module, self.slice, self.deletions, self.start, self.end = module, slice_, deletions, start, end
        self.executor, self.schema = executor, schema


class ZohoStreamReader(PlannedOnDriver, DataSourceStreamReader):
    """Offsets and windows planned on the driver; each window's slices read on executors."""

    def initialOffset(self) -> dict[str, Any]:  # noqa: N802 - Spark's names
        return {"until": None}

    def latestOffset(self, start: dict[str, Any] | None = None, limit: Any = None) -> dict[str, Any]:  # noqa: N802
        until = server_now(self._session().http) - timedelta(seconds=1)
        previous = _instant((start or {}).get("until"))
        if previous is not None and until <= previous:
            return dict(start or {})
        return {"until": until.isoformat()}

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> Sequence[InputPartition]:
        from connector.engine.executor import Engine

        session = self._session()
        module = session.catalog.resolve(self.settings.module or "")
        ts = session.catalog.table(module)
        if FIELD not in ts.by_name or not ts.read_apis & {"REST", "COQL", "Search", "Bulk"}:
            raise ConfigError(f"{module} has no {FIELD} a change feed could follow",
                              hint="stream a records module; read this table with spark.read")
        schema = stream_schema(ts.arrow_schema)
        executor = executor_config(session)
        lo, hi = start.get("until"), end["until"]
        if lo == hi:
            return []
        window = [f"{quote_name(FIELD)} < TIMESTAMPTZ '{hi}'"]
        if lo:
            window.insert(0, f"{quote_name(FIELD)} >= TIMESTAMPTZ '{lo}'")
        scan = Engine(session).plan(f"SELECT * FROM {quote_name(module)} WHERE {' AND '.join(window)}").scans[0]
        n = self._slices(session)
        slices = [] if scan.empty else strategy_for(scan.api).partitions(session.reader_context(), module,
                                                                         scan.pushdown, n)
        parts = [StreamPartition(i, module, s, False, lo, hi, executor, schema) for i, s in enumerate(slices)]
        return [*parts, StreamPartition(len(parts), module, None, True, lo, hi, executor, schema)]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, StreamPartition)
        lo, hi = _instant(partition.start), _instant(partition.end)
        assert hi is not None
        with executor_session(partition.executor, self.catalog) as session:
            if partition.deletions:
                yield from _deletions(session, partition, lo, hi)
                return
            part = partition.slice
            assert part is not None
            module_cols = [f.name for f in partition.schema if f.name not in (DELETED, DELETED_TIME)]
            for batch in strategy_for(part.api).read_partition(session.reader_context(), part, module_cols):
                stamp = batch.column(FIELD)
                keep = pc.less(stamp, pa.scalar(hi, stamp.type))
                if lo is not None:
                    keep = pc.and_(keep, pc.greater_equal(stamp, pa.scalar(lo, stamp.type)))
                kept = batch.filter(pc.fill_null(keep, False))
                if kept.num_rows:
                    n = kept.num_rows
                    kept = kept.append_column(DELETED, pa.array([False] * n)) \
                        .append_column(DELETED_TIME, pa.nulls(n, UTC_US))
                    yield for_spark(kept, partition.schema)

    def commit(self, end: dict[str, Any]) -> None:
        return None  # nothing to release: a window is read again from Zoho if Spark replays it


def _deletions(session: Any, partition: StreamPartition, lo: datetime | None,
               hi: datetime) -> Iterator[pa.RecordBatch]:
    from connector.api import records as api
    from connector.readers.dialects import rest as list_api

    module = partition.module
    header = list_api.if_modified_since(lo) if lo is not None else None
    ids: list[str] = []
    times: list[datetime] = []
    page = 1
    while True:
        p = api.deleted_page(session.http, module, page=page, if_modified_since=header)
        for r in p.records:
            at = _instant(str(r.get("deleted_time") or "")) if r.get("deleted_time") else None
            if r.get("id") and at is not None and (lo is None or at >= lo) and at < hi:
                ids.append(str(r["id"]))
                times.append(at.astimezone(UTC))
        if not p.more:
            break
        page += 1
    if not ids:
        return
    schema = partition.schema
    n = len(ids)
    columns = [pa.array(ids, f.type) if f.name == "id" else pa.array([True] * n) if f.name == DELETED
               else pa.array(times, UTC_US) if f.name == DELETED_TIME else pa.nulls(n, f.type) for f in schema]
    yield pa.RecordBatch.from_arrays(columns, schema=schema)
