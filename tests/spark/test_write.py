"""df.write.format("zohocrm"): append and upsert, a job that fails mid-way and runs again: nothing lost or twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pyspark.errors import PySparkException

from connector.emulator import Emulator

from ..conftest import ZohoClient
from ..writers.conftest import configure, marker

WRITES = ";AllowedOperations=read,insert,upsert;AllowedModules=Leads"


def frame(spark: Any, tag: str, n: int, partitions: int = 3) -> Any:
    rows = [(f"{tag}-{i}", f"{tag}.{i}@spark.test", tag, float(i)) for i in range(n)]
    return spark.createDataFrame(rows, "Last_Name string, Email string, Company string, Annual_Revenue double") \
        .repartition(partitions)


def mine(z: ZohoClient, tag: str) -> list[dict[str, Any]]:
    return [r for r in z.export("Leads") if r.get("Company") == tag]


def settled(spark: Any, z: ZohoClient, tag: str) -> None:
    """Wait for a failed job's other tasks to stop: Spark cancels them, but a task's Python worker is killed
    only up to spark.python.task.killTimeout later and writes until then (a run started sooner would race it)."""
    tracker = spark.sparkContext.statusTracker()
    seen = -1
    while tracker.getActiveStageIds() or len(mine(z, tag)) != seen:
        seen = len(mine(z, tag))
        time.sleep(1.0)


def writer(df: Any, emu: Emulator, reports: Path, **options: str) -> Any:
    w = df.write.format("zohocrm").option("connection", emu.connection_string + WRITES).option("module", "Leads") \
        .option("reportDir", str(reports)).mode("append")
    for k, v in options.items():
        w = w.option(k, v)
    return w


def test_append_inserts_each_row_once_and_a_second_run_writes_nothing(spark: Any, private: ZohoClient,
                                                                       tmp_path: Path) -> None:
    emu, tag = private.emu, marker()
    df = frame(spark, tag, 60)
    writer(df, emu, tmp_path / "r").save()
    got = mine(private, tag)
    assert sorted(r["Email"] for r in got) == sorted(f"{tag}.{i}@spark.test" for i in range(60))
    assert len(list((tmp_path / "r").glob("part-*.parquet"))) == 3  # one per-row report per task
    writer(df, emu, tmp_path / "r").save()  # the same job again: every row's report says done
    assert len(mine(private, tag)) == 60


def test_upsert_updates_by_key_and_inserts_the_rest(spark: Any, private: ZohoClient, tmp_path: Path) -> None:
    emu, tag = private.emu, marker()
    writer(frame(spark, tag, 20), emu, tmp_path / "a").save()
    rows = [(f"{tag}-{i}", f"{tag}.{i}@spark.test", tag, 1000.0 + i) for i in range(10, 30)]
    df = spark.createDataFrame(rows, "Last_Name string, Email string, Company string, Annual_Revenue double")
    writer(df, emu, tmp_path / "b", operation="upsert", key="Email", api="rest").save()
    got = {r["Email"]: r for r in mine(private, tag)}
    assert len(got) == 30
    assert got[f"{tag}.5@spark.test"]["Annual_Revenue"] == 5.0
    assert got[f"{tag}.15@spark.test"]["Annual_Revenue"] == 1015.0 and got[f"{tag}.29@spark.test"]


def test_a_job_failing_mid_way_then_run_again_writes_every_row_once(spark: Any, private: ZohoClient,
                                                                    tmp_path: Path) -> None:
    emu, tag = private.emu, marker()
    df = frame(spark, tag, 1000, partitions=4)  # 250 rows a task: three insert calls each
    reports = tmp_path / "r"
    private.get("/crm/v8/settings/modules")  # the test client's token before the faults start
    # answers lost after the write landed, 500s and dropped connections, and no retries: tasks fail mid-way
    configure(emu, fault_rate=0.3, fault_kinds=["drop_after", "500", "drop"])
    with pytest.raises(PySparkException):
        writer(df, emu, reports, api="rest") \
            .option("connection", emu.connection_string + WRITES + ";MaxRetries=0").save()
    configure(emu, fault_rate=0.0)
    settled(spark, private, tag)
    first = [r["Email"] for r in mine(private, tag)]
    assert len(first) == len(set(first)) < 1000, f"the failed run wrote {len(first)} rows"
    writer(df, emu, reports, api="rest").save()
    emails = [r["Email"] for r in mine(private, tag)]
    assert len(emails) == len(set(emails)) == 1000, f"{len(emails)} rows, {len(set(emails))} distinct"


def test_writes_are_refused_before_any_task_without_allowed_operations(spark: Any, private: ZohoClient,
                                                                        tmp_path: Path) -> None:
    emu, tag = private.emu, marker()
    with pytest.raises(Exception, match="AllowedOperations"):
        frame(spark, tag, 5).write.format("zohocrm").option("connection", emu.connection_string) \
            .option("module", "Leads").option("reportDir", str(tmp_path)).mode("append").save()
    assert mine(private, tag) == []


@pytest.mark.parametrize("options, message", [
    ({}, "reportDir"),
    ({"reportDir": "R", "operation": "upsert"}, "needs .option\\('key'"),
    ({"reportDir": "R", "operation": "merge"}, "not a Spark write operation"),
    ({"reportDir": "R", "reportWait": "soon"}, "reportWait='soon' is not a number of seconds"),
    ({"reportDir": "R", "reportWait": "-5"}, "reportWait='-5' is not a number of seconds"),
])
def test_bad_write_options_are_clear_errors(spark: Any, private: ZohoClient, tmp_path: Path,
                                            options: dict[str, str], message: str) -> None:
    w = frame(spark, "x", 2).write.format("zohocrm").option("connection", private.emu.connection_string + WRITES) \
        .option("module", "Leads").mode("append")
    for k, v in options.items():
        w = w.option(k, str(tmp_path / v) if k == "reportDir" else v)
    with pytest.raises(Exception, match=message):
        w.save()


def test_overwrite_is_refused(spark: Any, private: ZohoClient, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="overwrite"):
        frame(spark, "x", 2).write.format("zohocrm").option("connection", private.emu.connection_string + WRITES) \
            .option("module", "Leads").option("reportDir", str(tmp_path)).mode("overwrite").save()
