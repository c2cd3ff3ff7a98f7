"""A DuckDB file (typically one a migration wrote) as a migration source.

Tables are modules; the schema stored by :class:`DuckDBTarget` gives the
catalog's Arrow types back exactly (DuckDB itself widens ``timestamp[s]`` to
microseconds and has no Arrow decimal widths of its own). Tables written by
something else are read with the types DuckDB reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa

from connector.errors import ConfigError, StateError

from .contract import Source
from .paths import quiet
from .record_files import open_stored
from .schema_io import conform, schema_from_json
from .state import BoundaryCheck, ModuleState
from .target_duckdb import SCHEMA_TABLE, STATE_TABLE, USERS_TABLE, q

BATCH_ROWS = 50_000


class DuckDBSource(Source):
    scheme = "duckdb"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise ConfigError(f"no DuckDB file at {self.path}", hint="give duckdb:PATH of an existing database")
        self.con = quiet(duckdb.connect(str(self.path), read_only=True))
        self.con.execute("SET TimeZone = 'UTC'")

    @classmethod
    def from_url(cls, location: str, **options: Any) -> DuckDBSource:
        return cls(location)

    def __repr__(self) -> str:
        return f"DuckDBSource({str(self.path)!r})"

    def identity(self) -> str:
        return f"duckdb:{self.path.resolve()}"

    def _tables(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_schema = 'main'").fetchall()}

    def _meta(self, table: str) -> dict[str, str]:
        if table not in self._tables():
            return {}
        return {r[0]: r[1] for r in self.con.execute(f"SELECT * FROM {table}").fetchall()}

    def modules(self) -> list[str]:
        listed = list(self._meta(STATE_TABLE))
        others = sorted(t for t in self._tables() if not t.startswith("_") and t not in listed)
        return [m for m in listed if m in self._tables()] + others

    def schema(self, module: str) -> pa.Schema:
        raw = self._meta(SCHEMA_TABLE).get(module)
        if raw:
            return schema_from_json(json.loads(raw))
        if module not in self._tables():
            raise StateError(f"{self.path} has no table {module}", hint=f"tables: {', '.join(self.modules())}")
        return self.con.sql(f"SELECT * FROM {q(module)} LIMIT 0").to_arrow_table().schema

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def signpost(self, module: str) -> datetime | None:
        """Complete up to the upstream run's signpost for this module (see FileSource.signpost)."""
        raw = self._meta(STATE_TABLE).get(module)
        return ModuleState.from_json(json.loads(raw)).deleted_since if raw else None

    def read(self, module: str, columns: list[str] | None = None, *, modified_since: datetime | None = None,
             exclude_ids: set[str] | None = None, boundary: BoundaryCheck | None = None
             ) -> Iterator[pa.RecordBatch]:
        schema = self.schema(module)
        if columns is not None and "id" not in columns:
            columns = ["id", *columns]
        have = set(self.con.sql(f"SELECT * FROM {q(module)} LIMIT 0").to_arrow_table().column_names)
        want = [c for c in (columns or schema.names) if c in have]
        target = pa.schema([schema.field(c) for c in (columns or schema.names) if c in schema.names])
        where = ""
        params: list[object] = []
        if modified_since is not None and "Modified_Time" in have:
            where, params = " WHERE Modified_Time >= ?", [modified_since]
            if exclude_ids:
                # The ids already taken at the watermark second: a run with nothing new reads nothing.
                where += " AND NOT (Modified_Time = ? AND id IN (SELECT unnest(?)))"
                params += [modified_since, sorted(exclude_ids)]
        sql = f"SELECT {', '.join(q(c) for c in want)} FROM {q(module)}{where} ORDER BY id"
        reader = self.con.cursor().sql(sql, params=params or None).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            if batch.num_rows:
                yield from conform(batch, target).to_batches()

    def ids(self, module: str, expected: int | None = None) -> set[str]:
        return {r[0] for r in self.con.execute(f"SELECT id FROM {q(module)}").fetchall() if r[0] is not None}

    def users(self) -> list[dict[str, Any]]:
        raw = self._meta(USERS_TABLE).get("users")
        return list(json.loads(raw)) if raw else []

    def open_file(self, path: str) -> BinaryIO:
        """A file of ``PATH.files`` by the path the table gives (relative to the database's folder)."""
        return open_stored(self.path.parent, path)

    def close(self) -> None:
        self.con.close()
