"""DuckDB as a migration target: data and sync state committed in one transaction.

Full loads stream into a staging table and swap it in with the module's new
state in one transaction; incremental runs upsert the delta by ``id`` and apply
deletes in one transaction with the state. A crash at any point leaves either
the old table and old state or the new ones — never a mix — so a re-run is
exact: no gap, no duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from connector.errors import StateError

from .state import ModuleState

STATE_TABLE = "_zohocrm_state"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBTarget:
    scheme = "duckdb"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path not in (":memory:", "") and Path(self.path).parent:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (module VARCHAR PRIMARY KEY, state VARCHAR)")

    def __repr__(self) -> str:
        return f"DuckDBTarget({self.path!r})"

    def load_state(self) -> dict[str, ModuleState]:
        out = {}
        for module, raw in self.con.execute(f"SELECT module, state FROM {STATE_TABLE}").fetchall():
            try:
                out[module] = ModuleState.from_json(json.loads(raw))
            except (ValueError, KeyError) as exc:
                raise StateError(f"sync state of {module} in {self.path} is corrupt: {exc}",
                                 hint=f"DELETE FROM {STATE_TABLE} WHERE module = '{module}' to reload it") from None
        return out

    def _save_state(self, state: ModuleState) -> None:
        self.con.execute(f"INSERT OR REPLACE INTO {STATE_TABLE} VALUES (?, ?)",
                         [state.module, json.dumps(state.to_json())])

    def _stage(self, name: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
        stg = q(name)
        self.con.execute(f"DROP TABLE IF EXISTS {stg}")
        empty = pa.Table.from_batches([], schema=schema)
        self.con.register("_zoho_empty", empty)
        self.con.execute(f"CREATE TABLE {stg} AS SELECT * FROM _zoho_empty")
        self.con.unregister("_zoho_empty")
        rows = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            self.con.register("_zoho_batch", pa.Table.from_batches([batch]))
            self.con.execute(f"INSERT INTO {stg} BY NAME SELECT * FROM _zoho_batch")
            self.con.unregister("_zoho_batch")
            rows += batch.num_rows
        return rows

    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        staging = f"_stg_{module}"
        rows = self._stage(staging, schema, batches)
        state.rows = rows
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DROP TABLE IF EXISTS {q(module)}")
            self.con.execute(f"ALTER TABLE {q(staging)} RENAME TO {q(module)}")
            self._save_state(state)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return rows

    def _columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
        return {r[0]: r[1] for r in rows}

    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        staging = f"_delta_{module}"
        rows = self._stage(staging, schema, batches)
        have = self._columns(module)
        new_cols = [(c, t) for c, t in self._columns(staging).items() if c not in have]
        self.con.execute("BEGIN TRANSACTION")
        try:
            for col, typ in new_cols:  # the org gained a field since the last run
                self.con.execute(f"ALTER TABLE {q(module)} ADD COLUMN {q(col)} {typ}")
            if rows:
                self.con.execute(f"DELETE FROM {q(module)} WHERE id IN (SELECT id FROM {q(staging)})")
                self.con.execute(f"INSERT INTO {q(module)} BY NAME SELECT * FROM {q(staging)}")
            deleted = 0
            if deleted_ids:
                self.con.register("_zoho_deleted", pa.table({"id": pa.array(deleted_ids, pa.string())}))
                deleted = self.con.execute(f"SELECT count(*) FROM {q(module)} WHERE id IN "
                                           f"(SELECT id FROM _zoho_deleted)").fetchone()[0]  # type: ignore[index]
                self.con.execute(f"DELETE FROM {q(module)} WHERE id IN (SELECT id FROM _zoho_deleted)")
                self.con.unregister("_zoho_deleted")
            state.rows = self.con.execute(f"SELECT count(*) FROM {q(module)}").fetchone()[0]  # type: ignore[index]
            self._save_state(state)
            self.con.execute(f"DROP TABLE {q(staging)}")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return rows, int(deleted)

    def update_columns(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState) -> int:
        """Overwrite some columns (by id) — used to refresh formula fields, which do not bump Modified_Time."""
        staging = f"_cols_{module}"
        first = next(batches, None)
        if first is None:
            return 0
        rows = self._stage(staging, first.schema, iter([first, *batches]))
        cols = [c for c in first.schema.names if c != "id"]
        sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in cols)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"UPDATE {q(module)} AS t SET {sets} FROM {q(staging)} s WHERE t.id = s.id")
            self._save_state(state)
            self.con.execute(f"DROP TABLE {q(staging)}")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return rows

    def close(self) -> None:
        self.con.close()
