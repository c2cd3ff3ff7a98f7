"""One local[2] Spark session per test process (the JVM starts once in each), with the zohocrm source registered.

Under ``-n 3`` the Spark test files go to one worker together (the root conftest's scheduler:
``--dist loadfile`` with ``tests/spark/`` as one unit), so one JVM starts for the whole run, not
one per worker that drew a Spark file. Spark's Python workers run this interpreter, and are kept
for the session's later reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from connector.emulator import Emulator

from ..conftest import ZohoClient, client_fixture, org_fixture

JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # test servers, Spark's included, bind to loopback only
    from pyspark.sql import SparkSession

    from connector.spark import register

    session = (SparkSession.builder.master("local[2]").appName("zohocrm-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.adaptive.enabled", "false")  # tiny test data: no re-planning between stages
               # short jobs on small data: the JIT's first tier only (its optimizing tier cost a third of
               # the JVM's CPU over the Spark tests, on a machine whose two cores the other workers share)
               .config("spark.driver.extraJavaOptions", JVM_OPTIONS)
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    register(session)
    yield session
    session.stop()


#: the org every read test of a worker shares (read-only): every module of the classic org
spark_org = org_fixture("Spark read tests (read-only): the classic org's modules", "session", org="classic",
                        records=1_500, seed=23, downloads_per_minute=10_000)
spark_client = client_fixture("org")


def exported(client: ZohoClient, module: str) -> list[dict[str, Any]]:
    """The emulator's export of a module of a read-only org, asked once per org and module (kept on the org)."""
    kept: dict[str, list[dict[str, Any]]] = client.emu.__dict__.setdefault("_spark_test_exports", {})
    if module not in kept:
        kept[module] = client.export(module)
    return kept[module]


def to_arrow(df: Any) -> pa.Table:
    return df.toArrow()


def counters(emu: Emulator) -> dict[str, int]:
    stats = emu.stats()
    return {"records_read": int(stats["records_read"]), "tokens_minted": int(stats["tokens_minted"]),
            "calls_total": int(stats["calls_total"])}
