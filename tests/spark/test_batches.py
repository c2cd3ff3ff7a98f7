"""Batches handed to Spark: cast to Spark's types and gathered into fewer, larger ones, rows in order."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from connector.spark.types import gathered, spark_arrow_schema

SOURCE = pa.schema([("id", pa.string()), ("at", pa.timestamp("ms", tz="UTC"))])
SPARK = spark_arrow_schema(SOURCE)


def batch(start: int, n: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array([str(i) for i in range(start, start + n)]),
                            pa.array(list(range(start, start + n)), pa.timestamp("ms", tz="UTC"))], schema=SOURCE)


@given(st.lists(st.integers(0, 40), max_size=12), st.integers(1, 60))
def test_gathered_batches_keep_every_row_in_order_and_hold_at_least_the_threshold(sizes: list[int],
                                                                                  rows: int) -> None:
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    out = list(gathered((batch(s, n) for s, n in zip(starts, sizes, strict=True)), SPARK, rows=rows))
    assert all(b.schema.equals(SPARK) for b in out)
    assert [v for b in out for v in b.column("id").to_pylist()] == [str(i) for i in range(sum(sizes))]
    assert all(b.num_rows > 0 for b in out)
    assert all(b.num_rows >= rows for b in out[:-1])  # only the last may be short
    # no batch holds more than it had to: it closed at the first input batch that took it past the threshold
    assert all(b.num_rows < rows + 40 for b in out)


def test_a_byte_threshold_closes_a_batch_before_the_row_threshold() -> None:
    out = list(gathered((batch(i * 10, 10) for i in range(6)), SPARK, rows=1_000, size=1))
    assert [b.num_rows for b in out] == [10] * 6
