"""Connection strings: grammar, property table, data centers, and ``ConnectionConfig``.

The bottom layer: imports nothing from the rest of ``connector`` except the error
tree, and nothing heavy (no pyarrow, duckdb or requests), so parsing a
connection string is cheap. Every property is documented in
``connection_strings/README.md``, generated from :data:`PROPERTIES`.
"""

from __future__ import annotations

from connector.config.config import ConnectionConfig, parse_connection_string
from connector.config.files import load_connection_file, read_connection_file
from connector.config.grammar import ConnectionStringSyntaxError, format_connection_string, parse_pairs
from connector.config.properties import (
    OPERATIONS,
    PROPERTIES,
    PROPERTIES_BY_NAME,
    READ_ONLY_SCOPES,
    WRITE_OPERATIONS,
    did_you_mean,
    lookup_property,
)
from connector.config.regions import (
    DEFAULT_REGION,
    INSTANCE_TYPES,
    REGIONS,
    Region,
    canonical_instance_type,
    region_by_name,
    region_for_domain,
    region_for_host,
    region_for_location,
)
from connector.config.values import Property, PropType, Secret

__all__ = [
    "DEFAULT_REGION",
    "INSTANCE_TYPES",
    "OPERATIONS",
    "PROPERTIES",
    "PROPERTIES_BY_NAME",
    "READ_ONLY_SCOPES",
    "REGIONS",
    "WRITE_OPERATIONS",
    "ConnectionConfig",
    "ConnectionStringSyntaxError",
    "PropType",
    "Property",
    "Region",
    "Secret",
    "canonical_instance_type",
    "did_you_mean",
    "format_connection_string",
    "load_connection_file",
    "lookup_property",
    "parse_connection_string",
    "parse_pairs",
    "read_connection_file",
    "region_by_name",
    "region_for_domain",
    "region_for_host",
    "region_for_location",
]
