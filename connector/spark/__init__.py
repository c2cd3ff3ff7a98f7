"""Zoho CRM as a PySpark 4 data source (the optional ``spark`` extra).

    import connector.spark
    connector.spark.register(spark)
    spark.read.format("zohocrm").option("connection", conn).load("Leads")
"""

from __future__ import annotations

from typing import Any

__all__ = ["ZohoDataSource", "register"]


def register(spark: Any) -> None:
    """Register the ``zohocrm`` source on a SparkSession and turn on Python filter pushdown.

    Spark refuses a source that pushes filters while ``spark.sql.python.filterPushdown.enabled`` is
    false (its default), so registering without this setting makes every read fail.
    """
    source = __getattr__("ZohoDataSource")
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    spark.dataSource.register(source)


def __getattr__(name: str) -> Any:
    if name == "ZohoDataSource":
        try:
            from .source import ZohoDataSource
        except ImportError as exc:
            if "pyspark" not in str(exc):
                raise
            raise ImportError("Spark support needs PySpark 4.1 or later: pip install 'zohocrm-connector[spark]'") \
                from None
        return ZohoDataSource
    raise AttributeError(name)
