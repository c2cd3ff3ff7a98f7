"""spark.read.format("zohocrm"): partitioned reads equal the emulator's export, for each read strategy."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from connector.emulator import Emulator
from connector.session import ZohoSession
from connector.spark.types import spark_arrow_schema

from ..conftest import ZohoClient, client_fixture, org_fixture
from ..readers.expected import assert_same_rows, expected_table, volatile_columns, where
from .conftest import counters, exported, spark_client, spark_org, to_arrow

org = spark_org
client = spark_client


def export_table(emu: Emulator, client: ZohoClient, module: str,
                 predicate: str | None = None) -> tuple[pa.Table, set[str]]:
    """The module's export as the catalog's Arrow rows (Spark's timestamp unit), optionally filtered in DuckDB.

    For read-only orgs: the export is asked once per module."""
    with ZohoSession(emu.connection_string) as s:
        ts = s.catalog.table(module)
    want = expected_table(exported(client, module), ts)
    if predicate:
        want = where(want, predicate)
    return want.cast(spark_arrow_schema(want.schema)), volatile_columns(ts)


def modules(emu: Emulator) -> list[str]:
    return sorted(emu.stats()["module_sizes"])


@pytest.mark.parametrize("api", ["REST", "COQL", "Bulk"])
def test_every_module_read_in_partitions_equals_the_export(spark: Any, org: Emulator, client: ZohoClient,
                                                        api: str) -> None:
    for module in modules(org):
        df = (spark.read.format("zohocrm").option("connection", org.connection_string).option("api", api)
              .option("numPartitions", 3).load(module))
        got = to_arrow(df)
        want, tolerant = export_table(org, client, module)
        assert_same_rows(got.cast(want.schema), want, tolerant=tolerant, label=f"{api} {module}")


def test_search_reads_a_filtered_module_in_partitions(spark: Any, org: Emulator, client: ZohoClient) -> None:
    df = (spark.read.format("zohocrm").option("connection", org.connection_string).option("api", "Search")
          .option("numPartitions", 2).load("Leads").filter("Lead_Source = 'Web Download'"))
    want, tolerant = export_table(org, client, "Leads", "Lead_Source = 'Web Download'")
    got = to_arrow(df)
    assert got.num_rows == want.num_rows > 0
    assert_same_rows(got.cast(want.schema), want, tolerant=tolerant, label="Search Leads")


def test_a_read_is_cut_into_the_partitions_asked_for_and_capped_by_max_concurrency(spark: Any, org: Emulator) -> None:
    df = spark.read.format("zohocrm").option("connection", org.connection_string).option("api", "COQL")
    assert df.option("numPartitions", 3).load("Leads").rdd.getNumPartitions() == 3
    capped = spark.read.format("zohocrm").option("connection", org.connection_string + ";MaxConcurrency=2")
    assert capped.option("numPartitions", 16).load("Leads").rdd.getNumPartitions() == 2
    # a Bulk slice is a job, and a job costs the same for up to 200,000 rows: one slice per 200,000
    bulk = df.option("api", "Bulk").option("numPartitions", 3).load("Leads")
    assert bulk.rdd.getNumPartitions() == 1


def test_a_query_option_runs_the_connectors_sql(spark: Any, org: Emulator, client: ZohoClient) -> None:
    sql = "SELECT Lead_Source, count(*) AS n FROM Leads GROUP BY Lead_Source"
    got = to_arrow(spark.read.format("zohocrm").option("connection", org.connection_string).option("query", sql)
                   .load())
    want, _ = export_table(org, client, "Leads")
    counts: dict[Any, int] = {}
    for v in want.column("Lead_Source").to_pylist():
        counts[v] = counts.get(v, 0) + 1
    assert dict(zip(got.column("Lead_Source").to_pylist(), got.column("n").to_pylist(), strict=True)) == counts


def test_executors_never_mint_a_token_with_sixteen_partitions(spark: Any, make_emulator: Any) -> None:
    emu = make_emulator(records=600, seed=4)
    before = counters(emu)["tokens_minted"]
    conn = emu.connection_string + ";MaxConcurrency=16"
    df = spark.read.format("zohocrm").option("connection", conn).option("api", "COQL").option("numPartitions", 16)
    for module in ("Leads", "Contacts", "Deals"):
        assert to_arrow(df.load(module)).num_rows == emu.stats()["module_sizes"][module]
    # the driver's processes share the sealed store's token: at most one mint, far below Zoho's 10 per 10 minutes
    assert counters(emu)["tokens_minted"] - before <= 1


def test_a_partitioned_read_loads_the_metadata_once(spark: Any, make_emulator: Any) -> None:
    emu = make_emulator(org="classic", records=600, seed=6)
    conn = emu.connection_string + ";MaxConcurrency=4"
    df = spark.read.format("zohocrm").option("connection", conn).option("api", "COQL").option("numPartitions", 3)
    assert to_arrow(df.load("Leads")).num_rows == emu.stats()["module_sizes"]["Leads"]
    calls = emu.stats()["calls"]
    # schema() loads it; the planning processes and the three tasks take it from there (a credit a call)
    assert calls.get("list_modules", 0) == 1 and calls.get("list_fields", 0) == 1, calls


@pytest.mark.parametrize("option, value, message", [
    ("api", "Graph", "is not a Zoho read API"),
    ("numPartitions", "many", "is not a whole number"),
    ("numPartitions", "0", "must be at least 1"),
])
def test_bad_options_are_clear_errors(spark: Any, org: Emulator, option: str, value: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        spark.read.format("zohocrm").option("connection", org.connection_string).option(option, value) \
            .load("Leads").collect()


def test_no_connection_says_how_to_give_one(spark: Any) -> None:
    with pytest.raises(Exception, match="needs .option\\('connection'"):
        spark.read.format("zohocrm").load("Leads").collect()


whole_org = org_fixture("Spark reads of a whole (enterprise) org (read-only)", records=600, seed=29)
whole_client = client_fixture("whole_org")


@pytest.mark.parametrize("module", ["Notes", "Quoted_Items", "Calls", "Campaigns"])
def test_enterprise_modules_read_through_spark_equal_the_export(spark: Any, whole_org: Emulator,
                                                                 whole_client: ZohoClient, module: str) -> None:
    df = spark.read.format("zohocrm").option("connection", whole_org.connection_string).load(module)
    want, tolerant = export_table(whole_org, whole_client, module)
    assert_same_rows(to_arrow(df).cast(want.schema), want, tolerant=tolerant, label=f"Spark {module}")


def test_a_metadata_table_reads_through_its_endpoint(spark: Any, whole_org: Emulator,
                                                     whole_client: ZohoClient) -> None:
    got = to_arrow(spark.read.format("zohocrm").option("connection", whole_org.connection_string).load("_Users"))
    users = whole_client.get("/users", params={"type": "AllUsers"}).json()["users"]
    assert sorted(got.column("id").to_pylist()) == sorted(str(u["id"]) for u in users)
