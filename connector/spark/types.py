"""The catalog's Arrow types in Spark's terms, and batches cast to what Spark's Arrow reader takes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa


def spark_arrow_type(t: pa.DataType) -> pa.DataType:
    """Spark reads timestamps as microseconds in UTC; everything else of the catalog's types passes as is."""
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_list(t):
        return pa.list_(spark_arrow_type(t.value_type))
    return t


def spark_arrow_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, spark_arrow_type(f.type), nullable=True) for f in schema])


def struct_type(schema: pa.Schema) -> Any:
    """A pyspark StructType for an Arrow schema (decimals keep precision and scale, lists become arrays)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(spark_arrow_schema(schema))


def for_spark(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``schema``'s column order and Spark's timestamp unit."""
    if batch.schema.equals(schema):
        return batch
    columns = [batch.column(batch.schema.get_field_index(f.name)).cast(f.type) for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


#: rows (or bytes) a batch handed to Spark gathers first: each batch crossing into the JVM has a fixed cost, so
#: the short ones (a page's last block, a list or COQL page) are gathered; a Bulk page's 4 MB blocks (some
#: 11,000 rows of a wide module) cross as they are. Measured on a 1M-row Bulk read through local[2]: gathered
#: into 50,000-row batches (copied into one), the JVM's and the workers' CPU came to 1.1 CPU-s more
SPARK_BATCH_ROWS = 10_000
SPARK_BATCH_BYTES = 64 << 20


def gathered(batches: Iterable[pa.RecordBatch], schema: pa.Schema, rows: int = SPARK_BATCH_ROWS,
             size: int = SPARK_BATCH_BYTES) -> Iterator[pa.RecordBatch]:
    """``batches`` cast for Spark (:func:`for_spark`) and gathered into fewer, larger ones, in order."""
    held: list[pa.RecordBatch] = []
    count = nbytes = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        held.append(for_spark(batch, schema))
        count += batch.num_rows
        nbytes += batch.nbytes
        if count >= rows or nbytes >= size:
            yield _one(held, schema)
            held, count, nbytes = [], 0, 0
    if held:
        yield _one(held, schema)


def _one(held: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    if len(held) == 1:
        return held[0]
    return pa.Table.from_batches(held, schema=schema).combine_chunks().to_batches()[0]
