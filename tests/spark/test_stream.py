"""spark.readStream.format("zohocrm"): an exact incremental load that survives restarts from its checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.session import ZohoSession
from connector.spark.types import spark_arrow_schema

from ..readers.expected import assert_same_rows, expected_table, volatile_columns
from ..sync.helpers import export, mutate


def run_once(spark: Any, emu: Emulator, out: Path, checkpoint: Path) -> None:
    """One start of the streaming query from its checkpoint: every change available now, then stop."""
    df = spark.readStream.format("zohocrm").option("connection", emu.connection_string) \
        .option("changes", "true").option("numPartitions", 2).load("Leads")
    q = df.writeStream.format("parquet").option("checkpointLocation", str(checkpoint)) \
        .trigger(availableNow=True).start(str(out))
    q.awaitTermination()
    q.stop()


def folded(out: Path) -> pa.Table:
    """The sink's change rows folded into the module: the latest row per id, deleted ids left out."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(f"""
            SELECT * EXCLUDE (_deleted, _deleted_time, _rank) FROM (
                SELECT *, row_number() OVER (PARTITION BY id ORDER BY coalesce(_deleted_time, Modified_Time) DESC,
                                             _deleted DESC) AS _rank
                FROM read_parquet('{out}/*.parquet'))
            WHERE _rank = 1 AND NOT _deleted""").to_arrow_table()
    finally:
        con.close()


def test_three_micro_batches_with_changes_and_restarts_equal_the_export(spark: Any, make_emulator: Any,
                                                                        tmp_path: Path) -> None:
    emu = make_emulator(org="classic", records=400, seed=31)
    out, checkpoint = tmp_path / "sink", tmp_path / "checkpoint"
    with ZohoSession(emu.connection_string) as s:
        ts = s.catalog.table("Leads")
    changes: list[dict[str, list[str]]] = []
    for round_ in range(3):
        run_once(spark, emu, out, checkpoint)  # a new query each time: restarted from the checkpoint
        changes.append(mutate(emu, "Leads", creates=6, updates=9, deletes=4, seed=round_ + 1))
        emu.admin("POST", "clock", {"advance_s": 3})  # past the second the changes were stamped in
    run_once(spark, emu, out, checkpoint)
    want = expected_table(export(emu, "Leads"), ts)
    want = want.cast(spark_arrow_schema(want.schema))
    got = folded(out)
    assert_same_rows(got.cast(want.schema), want, tolerant=volatile_columns(ts), label="streamed Leads")
    rows = duckdb.execute(f"SELECT _deleted, count(*) FROM read_parquet('{out}/*.parquet') GROUP BY 1").fetchall()
    deleted = dict(rows).get(True, 0)
    assert deleted == sum(len(c["deleted"]) for c in changes)  # each deletion once, as its own row


def test_a_stream_needs_the_change_feed_option(spark: Any, make_emulator: Any, tmp_path: Path) -> None:
    emu = make_emulator(records=200, seed=2)
    with pytest.raises(Exception, match="needs .option\\('changes', 'true'\\)"):
        spark.readStream.format("zohocrm").option("connection", emu.connection_string).load("Leads") \
            .writeStream.format("parquet").option("checkpointLocation", str(tmp_path / "c")) \
            .trigger(availableNow=True).start(str(tmp_path / "o")).awaitTermination()
