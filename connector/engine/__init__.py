"""SQL front doors: the engine (DuckDB over Zoho reads) and the PEP 249 DB-API.

``Engine(session).execute(sql, params) -> pyarrow.RecordBatchReader`` runs one
statement; :mod:`.dbapi` wraps it as ``connector.connect(...)``;
``connector.duckdb.attach`` puts Zoho modules into a user's own DuckDB.
"""

from __future__ import annotations

from .dbapi import Connection, Cursor, connect, read_sql
from .executor import Engine
from .result import Result

__all__ = ["Connection", "Cursor", "Engine", "Result", "connect", "read_sql"]
