"""Zoho metadata -> typed Arrow tables: the type table, the catalog, value conversion."""

from .catalog import Catalog, ModuleInfo
from .types import Column, TableSchema, build_table_schema

__all__ = ["Catalog", "ModuleInfo", "Column", "TableSchema", "build_table_schema"]
