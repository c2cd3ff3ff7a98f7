"""Refuse, by name and before any Zoho call, SQL that would read files, URLs or run hidden SQL text.

The engine's DuckDB has no access outside itself (:mod:`connector.engine.sandbox`): that is the
guarantee. This check only makes the answer clear and early: ``read_csv('/etc/passwd')`` is
refused as "read_csv() reads files or URLs", not as a DuckDB permission error after the planner has
already asked Zoho for record counts. Internal table functions that scan Python objects by pointer,
change logging or profiling, or checkpoint are refused with the same words.

Refused: the table functions that open files or URLs (``read_*``, ``parquet_*``, ``glob``,
``sniff_csv``, scanners of other databases and formats), ``query``/``query_table`` (SQL text the
planner cannot see), and a table named like a file or URL (``FROM 'leads.csv'``,
``FROM "s3://bucket/x.parquet"``), which DuckDB would read as a file.
"""

from __future__ import annotations

import re

from sqlglot import exp

from connector.errors import NotSupportedError

_FILE_FUNCTIONS = re.compile(
    r"^(read_\w+|parquet_\w+|glob|sniff_csv|csv_scan|json_scan|iceberg_\w+|delta_\w+|sqlite_\w+|postgres_\w+|"
    r"mysql_\w+|st_read\w*|st_drivers|duckdb_extensions|load_aws_credentials|http_\w+|ducklake_\w+)$",
    re.IGNORECASE)
_INTERNAL_FUNCTIONS = re.compile(r"^(arrow_scan\w*|python_\w+|pandas_scan|\w*external_resource\w*|\w*_logging|"
                                 r"\w*_profiling|\w*checkpoint|\w*grammar_extension)$", re.IGNORECASE)
_HIDDEN_SQL = frozenset({"query", "query_table", "json_execute_serialized_sql"})
_FILE_NAME = re.compile(r"(://|[/\\]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|xlsx|xls|arrow|feather|avro|db|"
                        r"duckdb|sqlite|gz|zst|bz2|xz|zip)$)", re.IGNORECASE)
_HINT = "to combine Zoho modules with files, attach Zoho to your own DuckDB with connector.duckdb.attach"


def function_name(func: exp.Func) -> str:
    """A function's name as written (``read_csv``, ``glob``), lower case."""
    if isinstance(func, exp.Anonymous):
        return str(func.this).lower()
    return func.sql_name().lower()


def refuse_external_access(tree: exp.Expr) -> None:
    """Raise NotSupportedError naming the first file/URL function or file-named table in ``tree``."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            if _FILE_FUNCTIONS.match(name):
                raise NotSupportedError(f"{name}() reads files or URLs, which SQL over Zoho does not allow",
                                        hint=_HINT)
            if _INTERNAL_FUNCTIONS.match(name):
                raise NotSupportedError(f"{name}() is an internal DuckDB function that SQL over Zoho does not run",
                                        hint=_HINT)
            if name in _HIDDEN_SQL:
                raise NotSupportedError(f"{name}() runs SQL text the connector cannot check",
                                        hint="write that statement directly")
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.name
            if _FILE_NAME.search(name) and name.lower() not in ctes:
                raise NotSupportedError(f"{name!r} names a file or URL, and SQL over Zoho does not read files",
                                        hint=_HINT)
