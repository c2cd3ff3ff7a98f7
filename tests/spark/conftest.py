"""One local[2] Spark session for the whole test run (the JVM starts once), with the zohocrm source registered.

Every Spark test is in the xdist group "spark" (``pytestmark`` in each module;
``--dist loadgroup`` in pyproject), so one worker runs them all and only that
worker starts a JVM. Spark's Python workers run this interpreter.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from connector.emulator import Emulator

from ..conftest import client_fixture, org_fixture


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
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    register(session)
    yield session
    session.stop()


#: the org every read test shares (read-only): every module of the classic org, a few thousand records
spark_org = org_fixture("Spark read tests (read-only): the classic org's modules", org="classic", records=3_000,
                        seed=23, downloads_per_minute=10_000)
spark_client = client_fixture("org")


def to_arrow(df: Any) -> pa.Table:
    return df.toArrow()


def counters(emu: Emulator) -> dict[str, int]:
    stats = emu.stats()
    return {"records_read": int(stats["records_read"]), "tokens_minted": int(stats["tokens_minted"]),
            "calls_total": int(stats["calls_total"])}
