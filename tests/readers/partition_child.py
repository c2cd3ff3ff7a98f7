"""Runs one partition of a read in a process of its own (started with spawn by test_partitions.py).

The partition travels pickled; the process opens its own session from the
connection string, as a worker of a parallel migration would.
"""

from __future__ import annotations

import pyarrow as pa

from connector.readers.base import resolve_columns
from connector.readers.strategies import Partition, strategy_for
from connector.session import ZohoSession


def read_slice(connection_string: str, partition: Partition, columns: list[str] | None) -> bytes:
    """The slice's rows as an Arrow IPC stream, with the process id that read them in the metadata."""
    import os

    with ZohoSession(connection_string) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table(partition.module)
        schema = ts.select(resolve_columns(ts, columns))
        batches = list(strategy_for(partition.api).read_partition(ctx, partition, columns))
    table = pa.Table.from_batches(batches, schema=schema)
    table = table.replace_schema_metadata({"pid": str(os.getpid())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())
