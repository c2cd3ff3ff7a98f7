"""Spark's filters pushed to Zoho: answers equal the unpushed read, and Zoho was asked for less."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from connector.emulator import Emulator
from connector.spark.options import Settings
from connector.spark.source import ZohoReader

from ..conftest import ZohoClient
from .conftest import counters, spark_client, spark_org, to_arrow
from .test_read import export_table

org = spark_org
client = spark_client

# (Spark filter expression, the same in DuckDB SQL over the export, whether Zoho must read fewer records)
FILTERS = [
    ("Lead_Source = 'Web Download'", "Lead_Source = 'Web Download'", True),
    ("Lead_Source IN ('Partner', 'Advertisement')", "Lead_Source IN ('Partner', 'Advertisement')", True),
    ("Annual_Revenue > 500000", "Annual_Revenue > 500000", True),
    ("No_of_Employees <= 50 AND Lead_Source = 'Partner'", "No_of_Employees <= 50 AND Lead_Source = 'Partner'", True),
    ("Email IS NULL", "Email IS NULL", True),
    ("NOT Email_Opt_Out", "NOT Email_Opt_Out", True),
    ("Created_Time >= timestamp'2026-06-01 00:00:00'", "Created_Time >= TIMESTAMPTZ '2026-06-01 00:00:00+00'", True),
    ("Last_Name LIKE 'Sm%'", "Last_Name LIKE 'Sm%'", True),
    ("Last_Name LIKE '%son'", "Last_Name LIKE '%son'", False),  # Spark keeps what Zoho cannot ask
    ("Lead_Source <> 'Partner'", "Lead_Source <> 'Partner'", False),  # negated text: kept by Spark
    ("Lead_Source = 'Partner' OR Annual_Revenue > 900000", "Lead_Source = 'Partner' OR Annual_Revenue > 900000",
     False),
    ("Company = ''", "Company = ''", False),
]


@pytest.mark.parametrize("api, filters", [("Auto", FILTERS), ("COQL", FILTERS[::2]), ("Bulk", FILTERS[1::3])])
def test_pushed_filters_never_change_an_answer(spark: Any, org: Emulator, client: ZohoClient, api: str,
                                               filters: list[tuple[str, str, bool]]) -> None:
    size = org.stats()["module_sizes"]["Leads"]
    reader = spark.read.format("zohocrm").option("connection", org.connection_string).option("api", api)
    for spark_expr, duck_expr, narrows in filters:
        want, tolerant = export_table(org, client, "Leads", duck_expr)
        before = counters(org)["records_read"]
        got = to_arrow(reader.load("Leads").filter(spark_expr).select("id"))  # Zoho is read the same
        read = counters(org)["records_read"] - before
        assert sorted(got.column("id").to_pylist()) == sorted(want.column("id").to_pylist()), (api, spark_expr)
        if narrows and api != "Bulk":  # a Bulk job exports what its criteria select; counted per job, not record
            assert read < size, f"{api}: {spark_expr} read {read} of {size} records: nothing was pushed"


def test_filters_are_pushed_only_when_the_answer_is_exact(org: Emulator) -> None:
    from pyspark.sql.datasource import EqualTo, GreaterThan, IsNull, LessThanOrEqual, StringEndsWith

    def kept(filters: list[Any]) -> list[Any]:
        reader = ZohoReader(org.connection_string, Settings("Leads", None, "COQL", None))
        return list(reader.pushFilters(filters))

    exact = [GreaterThan(("Annual_Revenue",), 1000), LessThanOrEqual(("No_of_Employees",), 50)]
    assert kept(exact) == []  # COQL answers exactly these: Spark need not apply them again
    suffix = StringEndsWith(("Last_Name",), "son")
    assert kept([*exact, suffix]) == [suffix]  # Zoho has no "ends with": Spark's alone
    text = EqualTo(("Lead_Source",), "Partner")  # a Zoho text match may ignore case: a superset
    assert kept([text, *exact]) == [text]
    nested = IsNull(("Owner", "id"))  # no such column form: never sent
    assert kept([nested, *exact, text]) == [nested, text]


def test_nothing_that_leaves_the_driver_holds_a_refresh_token_or_client_secret(org: Emulator) -> None:
    reader = ZohoReader(org.connection_string, Settings("Leads", None, "COQL", 4))
    parts = reader.partitions()
    assert len(parts) == 4
    shipped = pickle.dumps(reader) + b"".join(pickle.dumps(p) for p in parts)
    for secret in (org.refresh_token, org.client_secret):
        assert secret.encode() not in shipped
    executor = pickle.loads(pickle.dumps(parts[0])).executor
    assert executor.initiate_oauth == "OFF" and executor.oauth_refresh_token is None
    assert executor.oauth_access_token is not None and "Secret" in repr(executor.oauth_access_token) or \
        executor.oauth_access_token.reveal() not in repr(executor)
