"""Zoho CRM as a PySpark 4 data source (the optional ``spark`` extra).

    from connector.spark import ZohoDataSource
    spark.dataSource.register(ZohoDataSource)
    spark.read.format("zohocrm").option("connection", conn).load("Leads")
"""

from __future__ import annotations

from typing import Any

__all__ = ["ZohoDataSource"]


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
