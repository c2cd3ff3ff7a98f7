"""DuckDB as a migration target: data and sync state committed in one transaction.

Full loads stream into a staging table and swap it in with the module's new
state in one transaction; incremental runs upsert the delta by ``id`` and apply
deletes in one transaction with the state. A crash at any point leaves either
the old table and old state or the new ones — never a mix — so a re-run is
exact: no gap, no duplicate.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from connector.interrupts import held
from connector.localfs import private_umask

from .contract import Target
from .paths import TARGET, connect_duckdb, quiet, transaction, usable_file
from .schema_io import schema_to_json
from .state import ModuleState, load_state_table, save_state_row

STATE_TABLE = "_zohocrm_state"
SCHEMA_TABLE = "_zohocrm_schema"  # module -> its Arrow schema (schema_io JSON), so reads give types back exactly
STAGE_ROWS = 20_000
USERS_TABLE = "_zohocrm_users"  # the source's users, for mapping owners by email on a later migration


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBTarget(Target):
    scheme = "duckdb"
    writes_in_any_order = True  # one table and one state row per module, committed together

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        # The file and the WAL DuckDB re-creates at every checkpoint hold record data: private
        # for as long as the connection is open, whatever the caller's umask.
        self._private = ExitStack()
        self._private.enter_context(private_umask())
        try:
            if self.path in (":memory:", ""):
                self.con = quiet(duckdb.connect(":memory:"))
            else:
                where = usable_file(self.path, "DuckDB target", TARGET)
                self.path = str(where)
                self.con = connect_duckdb(where, "DuckDB target", TARGET)
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (module VARCHAR PRIMARY KEY, state VARCHAR)")
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (module VARCHAR PRIMARY KEY, schema VARCHAR)")
        except BaseException:
            if hasattr(self, "con"):
                self.con.close()
            self._private.close()
            raise

    @classmethod
    def from_url(cls, location: str, **options: Any) -> DuckDBTarget:
        return cls(location)

    def __repr__(self) -> str:
        return f"DuckDBTarget({self.path!r})"

    def files_folder(self) -> tuple[Path, Path] | None:
        """Files go to a folder beside the database, ``PATH.files`` (none for an in-memory database)."""
        if self.path in (":memory:", ""):
            return None
        where = Path(self.path)
        return where.with_name(where.name + ".files"), where.parent

    def identity(self) -> str:
        return f"duckdb:{Path(self.path).resolve() if self.path not in (':memory:', '') else ':memory:'}"

    def ids(self, module: str) -> set[str]:
        if not self._columns(module):
            return set()
        return {r[0] for r in self.con.execute(f"SELECT id FROM {q(module)}").fetchall() if r[0] is not None}

    def save_users(self, users: list[dict[str, object]]) -> None:
        text = json.dumps(users)
        if self._columns(USERS_TABLE):
            row = self.con.execute(f"SELECT value FROM {USERS_TABLE} WHERE key = 'users'").fetchall()
            if row and row[0][0] == text:
                return  # unchanged: a run with nothing new leaves the database untouched
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {USERS_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self.con.execute(f"INSERT OR REPLACE INTO {USERS_TABLE} VALUES ('users', ?)", [text])

    def _save_schema(self, module: str, schema: pa.Schema) -> None:
        self.con.execute(f"INSERT OR REPLACE INTO {SCHEMA_TABLE} VALUES (?, ?)",
                         [module, json.dumps(schema_to_json(schema))])

    def state_before_begin(self) -> dict[str, ModuleState]:
        return self.load_state()  # its own file: nothing to open first

    def load_state(self) -> dict[str, ModuleState]:
        return load_state_table(self.con, STATE_TABLE, self.path)

    def _save_state(self, state: ModuleState) -> None:
        save_state_row(self.con, STATE_TABLE, state)

    def _stage(self, name: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
        stg = q(name)
        self.con.execute(f"DROP TABLE IF EXISTS {stg}")
        empty = pa.Table.from_batches([], schema=schema)
        self.con.register("_zoho_empty", empty)
        self.con.execute(f"CREATE TABLE {stg} AS SELECT * FROM _zoho_empty")
        self.con.unregister("_zoho_empty")
        rows = 0
        buf: list[pa.RecordBatch] = []
        buffered = 0

        def flush() -> None:
            # One INSERT per ~STAGE_ROWS rows: an INSERT per 200-row page costs more than the rows.
            self.con.register("_zoho_batch", pa.Table.from_batches(buf))
            self.con.execute(f"INSERT INTO {stg} BY NAME SELECT * FROM _zoho_batch")
            self.con.unregister("_zoho_batch")

        for batch in batches:
            if batch.num_rows == 0:
                continue
            if buf and batch.schema != buf[0].schema:
                flush()
                buf, buffered = [], 0
            buf.append(batch)
            buffered += batch.num_rows
            rows += batch.num_rows
            if buffered >= STAGE_ROWS:
                flush()
                buf, buffered = [], 0
        if buf:
            flush()
        return rows

    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        staging = f"_stg_{module}"
        rows = self._stage(staging, schema, batches)
        state.rows = rows
        with self._transaction():
            self.con.execute(f"DROP TABLE IF EXISTS {q(module)}")
            self.con.execute(f"ALTER TABLE {q(staging)} RENAME TO {q(module)}")
            self._save_state(state)
            self._save_schema(module, schema)
        return rows

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction, committed when the block ends well, else rolled back; a stopping signal waits for
        its end (:func:`connector.interrupts.held`), so a run never stops between a commit and its record."""
        with held(), transaction(self.con):
            yield

    def _columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
        return {r[0]: r[1] for r in rows}

    def save_state(self, state: ModuleState) -> None:
        """The module's state alone (a run that changed no row but learned something about its watermark)."""
        self._save_state(state)

    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        staging = f"_delta_{module}"
        nonempty = (b for b in batches if b.num_rows)
        first = next(nonempty, None)
        # Staged only when there is a delta: an empty run must not touch the database at all.
        rows = self._stage(staging, schema, itertools.chain([first], nonempty)) if first is not None else 0
        have = self._columns(module)
        new_cols = [(c, t) for c, t in self._columns(staging).items() if c not in have] if rows else []
        deleted = 0
        if deleted_ids:
            self.con.register("_zoho_deleted", pa.table({"id": pa.array(deleted_ids, pa.string())}))
            deleted = self.con.execute(f"SELECT count(*) FROM {q(module)} WHERE id IN "
                                       f"(SELECT id FROM _zoho_deleted)").fetchall()[0][0]
        if not rows and not deleted and not new_cols:
            # Nothing changed: no transaction, no state write — the database stays byte-for-byte as it was.
            if first is not None:
                self.con.execute(f"DROP TABLE IF EXISTS {q(staging)}")
            if deleted_ids:
                self.con.unregister("_zoho_deleted")
            return 0, 0
        try:
            with self._transaction():
                for col, typ in new_cols:  # the org gained a field since the last run
                    self.con.execute(f"ALTER TABLE {q(module)} ADD COLUMN {q(col)} {typ}")
                if rows:
                    self.con.execute(f"DELETE FROM {q(module)} WHERE id IN (SELECT id FROM {q(staging)})")
                    self.con.execute(f"INSERT INTO {q(module)} BY NAME SELECT * FROM {q(staging)}")
                if deleted:
                    self.con.execute(f"DELETE FROM {q(module)} WHERE id IN (SELECT id FROM _zoho_deleted)")
                state.rows = self.con.execute(f"SELECT count(*) FROM {q(module)}").fetchall()[0][0]
                self._save_state(state)
                if new_cols:
                    self._save_schema(module, schema)
                self.con.execute(f"DROP TABLE IF EXISTS {q(staging)}")
        finally:
            if deleted_ids:
                self.con.unregister("_zoho_deleted")
        return rows, int(deleted)

    def clear_references(self, module: str, id_col: str, name_col: str, module_col: str | None, parent: str,
                         ids: list[str]) -> int:
        """Empty a lookup wherever it points at one of ``ids`` (records of ``parent`` deleted at the source)."""
        cols = self._columns(module)
        if id_col not in cols:
            return 0
        sets = [f"{q(c)} = NULL" for c in (id_col, name_col, module_col) if c and c in cols]
        where = f"{q(id_col)} IN (SELECT id FROM _zoho_gone)"
        if module_col and module_col in cols:
            where += f" AND {q(module_col)} = ?"
        params = [parent] if module_col and module_col in cols else []
        self.con.register("_zoho_gone", pa.table({"id": pa.array(ids, pa.string())}))
        try:
            hit = self.con.execute(f"SELECT count(*) FROM {q(module)} WHERE {where}", params).fetchall()[0][0]
            if hit:
                self.con.execute(f"UPDATE {q(module)} SET {', '.join(sets)} WHERE {where}", params)
        finally:
            self.con.unregister("_zoho_gone")
        return int(hit)

    def update_columns(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState) -> int:
        """Overwrite some columns (by id) — used to refresh formula fields, which do not bump Modified_Time."""
        staging = f"_cols_{module}"
        first = next(batches, None)
        if first is None:
            return 0
        rows = self._stage(staging, first.schema, iter([first, *batches]))
        cols = [c for c in first.schema.names if c != "id"]
        sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in cols)
        with self._transaction():
            self.con.execute(f"UPDATE {q(module)} AS t SET {sets} FROM {q(staging)} s WHERE t.id = s.id")
            self._save_state(state)
            self.con.execute(f"DROP TABLE {q(staging)}")
        return rows

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._private.close()
