"""The emulated org's records, kept in DuckDB (one table per module).

Why DuckDB: a 1,000,000-record org must fit and be fast to generate, scan,
filter (search criteria and COQL compile to SQL) and export (a 200,000-row
Bulk Read page is one ``COPY``-like query plus Arrow's CSV writer).

Layout:
* ``"<Module>"``: one row per live record, one column per stored field
  (see :func:`column_type`), plus ``id`` and ``_written_at`` (virtual time of
  the last API write, which drives search index lag).
* ``"<Module>$history"``: the previous versions of records updated through the
  API, with ``_superseded_at``; search reads "as of" a lagged cutoff from the
  union of both, so a just-edited record still matches on its old values.
* ``users``, ``layouts``, ``deleted_records`` and ``counters``; ``files`` (:mod:`.files`);
  ``photos``, the uploaded record photos (:mod:`.photos`).

Reads run on per-thread cursors (DuckDB MVCC gives each a consistent
snapshot); writes are serialized by one lock so concurrent API writers never
hit a transaction conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from . import schema
from .arrow_rows import execute_with_rows, rows_table
from .schema import JSON_DOCUMENT_TYPES, FieldDef, ModuleDef

# Columns every module table carries besides its fields.
ID_COLUMN = "id"
WRITTEN_AT = "_written_at"


#: the uploaded and generated files (Files API, attachments, file/image fields: :mod:`.files`)
FILES_COLUMNS = "file_id VARCHAR PRIMARY KEY, name VARCHAR, size BIGINT, content_type VARCHAR, data BLOB, " \
                "created_time TIMESTAMP, created_by BIGINT"

#: the record photos uploaded through the Photo API (:mod:`.photos`)
PHOTOS_COLUMNS = "photo_id VARCHAR PRIMARY KEY, content_type VARCHAR, data BLOB"


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def column_type(f: FieldDef) -> str | None:
    """DuckDB column type for a field, or None when the field is not stored as a column."""
    dt = f.data_type
    if f.virtual or dt in {"formula", "rollup_summary", "subform", "multiselectlookup", "multiuserlookup"}:
        return None  # computed at read time, or kept in a subform / linking module
    if dt in JSON_DOCUMENT_TYPES:
        return "VARCHAR"  # the JSON document as Zoho sends it
    return {
        "multiselectpicklist": "VARCHAR[]",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "percent": "DOUBLE",
        "currency": "DECIMAL(18,2)",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "lookup": "BIGINT",
        "ownerlookup": "BIGINT",
        "userlookup": "BIGINT",
        "layout": "BIGINT",
        "multi_module_lookup": "BIGINT",
    }.get(dt, "VARCHAR")


def module_column(f: FieldDef) -> str | None:
    """Name of the companion column holding the target module of a polymorphic lookup."""
    if f.targets:
        return f.api_name + "$module"
    return None


def stored_columns(m: ModuleDef) -> list[tuple[str, str]]:
    """(column, type) pairs of a module table, in order."""
    cols: list[tuple[str, str]] = [(ID_COLUMN, "BIGINT")]
    for f in m.fields:
        t = column_type(f)
        if t is None:
            continue
        cols.append((f.api_name, t))
        mc = module_column(f)
        if mc:
            cols.append((mc, "VARCHAR"))
    cols += list(m.extra_columns)
    cols.append((WRITTEN_AT, "TIMESTAMP"))
    return cols


def display_expr(m: ModuleDef, alias: str) -> str:
    """SQL giving a record's display name (what lookups show as ``name``)."""
    if m.display_field == "id":
        return f"CAST({alias}.id AS VARCHAR)"
    return f"{alias}.{q(m.display_field)}"


def formula_sql(f: FieldDef, now: datetime) -> str:
    assert f.formula is not None
    return f.formula[1].replace("{now}", f"TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'")


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path else ":memory:"
        self.con = duckdb.connect(self.path)
        self.write_lock = threading.RLock()
        self._local = threading.local()
        #: the ``seed`` counter, read once (every generated file's and photo's bytes derive from it)
        self.seed: int | None = None
        #: users' (full_name, email) and layouts' names by id, read once (both tables are written when the
        #: store is made and never after): a page names them from here instead of joining them per query
        self._people: dict[int, tuple[str | None, str | None]] | None = None
        self._layouts: dict[int, str | None] | None = None

    # -- plumbing -----------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cur = cur
        return cur

    def release_cursor(self) -> None:
        """Close this thread's cursor, if it has one, while the thread still runs Python: dropped only when the
        thread ends, its destructor would run as the thread's locals go, which at the interpreter's exit (a
        daemon thread ending late) is past the point where it may take the GIL, and aborts the process."""
        cur = self._local.__dict__.pop("cur", None)
        if cur is not None:
            try:
                cur.close()
            except duckdb.Error:
                pass

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.cursor().execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        return self.execute(sql, params).fetchone()

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:
            pass

    # -- schema -------------------------------------------------------------------

    def has_data(self) -> bool:
        row = self.fetchone(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'counters'")
        return bool(row and row[0])

    def create_schema(self) -> None:
        with self.write_lock:
            cur = self.cursor()
            for m in schema.ALL_MODULES:
                cols = ", ".join(f"{q(c)} {t}" for c, t in stored_columns(m))
                cur.execute(f"CREATE TABLE IF NOT EXISTS {q(m.api_name)} ({cols})")
                cur.execute(f"CREATE TABLE IF NOT EXISTS {q(m.api_name + '$history')} "
                            f"({cols}, _superseded_at TIMESTAMP)")
            cur.execute("""CREATE TABLE IF NOT EXISTS users (
                id BIGINT, first_name VARCHAR, last_name VARCHAR, full_name VARCHAR, email VARCHAR,
                status VARCHAR, role_name VARCHAR, role_id BIGINT, profile_name VARCHAR,
                profile_id BIGINT, zuid BIGINT)""")
            cur.execute("CREATE TABLE IF NOT EXISTS layouts (id BIGINT, name VARCHAR)")
            cur.execute("""CREATE TABLE IF NOT EXISTS deleted_records (
                module VARCHAR, id BIGINT, display_name VARCHAR, type VARCHAR,
                deleted_by BIGINT, created_by BIGINT, deleted_time TIMESTAMP)""")
            cur.execute("CREATE TABLE IF NOT EXISTS counters (name VARCHAR PRIMARY KEY, value BIGINT)")
            cur.execute(f"CREATE TABLE IF NOT EXISTS files ({FILES_COLUMNS})")  # see files.py
            cur.execute(f"CREATE TABLE IF NOT EXISTS photos ({PHOTOS_COLUMNS})")  # see photos.py
            cur.execute("CREATE TABLE IF NOT EXISTS tags (id BIGINT PRIMARY KEY, module VARCHAR, name VARCHAR, "
                        "color_code VARCHAR, created_time TIMESTAMP, modified_time TIMESTAMP, created_by BIGINT, "
                        "modified_by BIGINT)")
            cur.execute("CREATE TABLE IF NOT EXISTS record_tags (module VARCHAR, record_id BIGINT, tag_id BIGINT)")
            if not self.fetchone("SELECT count(*) FROM users")[0]:  # type: ignore[index]
                for u in schema.USERS:
                    cur.execute("INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
                        u.id, u.first_name, u.last_name, u.full_name, u.email, u.status, u.role,
                        schema.ROLES[u.role], u.profile, schema.PROFILES[u.profile], u.zuid])
                for lid, name in schema.LAYOUTS.items():
                    cur.execute("INSERT INTO layouts VALUES (?, ?)", [lid, name])

    def people(self) -> dict[int, tuple[str | None, str | None]]:
        """Every user's (full_name, email) by id."""
        if self._people is None:
            self._people = {int(r[0]): (r[1], r[2]) for r in self.fetchall("SELECT id, full_name, email FROM users")}
        return self._people

    def layout_names(self) -> dict[int, str | None]:
        """Every layout's name by id."""
        if self._layouts is None:
            self._layouts = {int(r[0]): r[1] for r in self.fetchall("SELECT id, name FROM layouts")}
        return self._layouts

    # -- counters (ids, autonumbers) -------------------------------------------------

    def next_values(self, name: str, count: int, start: int) -> list[int]:
        """Reserve ``count`` consecutive values of a named counter (first value ``start``)."""
        return self.next_values_many([(name, count, start)])[0]

    def next_values_many(self, wanted: Sequence[tuple[str, int, int]]) -> list[list[int]]:
        """:meth:`next_values` for several counters ``(name, count, start)`` (distinct names) at once.

        One ``UPDATE ... RETURNING`` moves the counters that exist (a select and an ``INSERT OR
        REPLACE`` per counter cost three times as much); a counter met for the first time is inserted.
        """
        if not wanted:
            return []
        names = [name for name, _, _ in wanted]
        assert len(set(names)) == len(names), "next_values_many: a counter named twice"
        cases = " ".join("WHEN ? THEN ?" for _ in wanted)
        marks = ", ".join("?" for _ in wanted)
        params: list[Any] = [x for name, count, _ in wanted for x in (name, count)] + names
        with self.write_lock:
            last: dict[str, int] = {str(name): int(value) for name, value in self.fetchall(
                f"UPDATE counters SET value = value + CASE name {cases} END WHERE name IN ({marks}) "
                "RETURNING name, value", params)}
            for name, count, start in wanted:
                if name not in last:
                    last[name] = start + count - 1
                    self.execute("INSERT INTO counters VALUES (?, ?)", [name, last[name]])
        return [list(range(last[name] - count + 1, last[name] + 1)) for name, count, _ in wanted]

    def set_counter(self, name: str, value: int) -> None:
        self.set_counters({name: value})

    def set_counters(self, values: dict[str, int]) -> None:
        """Counters set to these values, in one statement (a statement each cost more than the org's rows)."""
        if not values:
            return
        with self.write_lock:
            rows = ", ".join("(?, ?)" for _ in values)
            self.execute(f"INSERT OR REPLACE INTO counters VALUES {rows}",
                         [x for name, value in values.items() for x in (name, value)])
            if "seed" in values:
                self.seed = None

    def new_ids(self, m: ModuleDef, count: int) -> list[int]:
        return self.next_values(f"id:{m.api_name}", count, id_base(m) + 1)

    # -- reads --------------------------------------------------------------------

    def count(self, m: ModuleDef, where: str = "", params: Sequence[Any] | None = None) -> int:
        sql = f"SELECT count(*) FROM {q(m.api_name)}" + (f" WHERE {where}" if where else "")
        row = self.fetchone(sql, params)
        return int(row[0]) if row else 0

    def exists(self, m: ModuleDef, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        if not ids:
            return set()
        if len(ids) == 1:  # a record's own path (/Leads/{id}/...): an equality plans in half the time
            rows = self.fetchall(f"SELECT id FROM {q(m.api_name)} WHERE id = ?", ids)
        else:
            rows = self.fetchall(f"SELECT id FROM {q(m.api_name)} WHERE id IN (SELECT unnest(?))", [ids])
        return {r[0] for r in rows}

    def raw_rows(self, m: ModuleDef, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Stored columns of the given records, keyed by id."""
        ids = list(ids)
        if not ids:
            return {}
        cur = self.execute(f"SELECT * FROM {q(m.api_name)} WHERE id IN (SELECT unnest(?))", [ids])
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}

    def record_values(self, m: ModuleDef, record_id: int, columns: Sequence[str]) -> dict[str, Any] | None:
        """Some stored columns of one record (None: no such record): a download's look at its record
        reads the columns it needs, not the whole row (a tenth of the time on a 50k-record module)."""
        row = self.fetchone(f"SELECT id, {', '.join(q(c) for c in columns)} FROM {q(m.api_name)} WHERE id = ?",
                            [record_id])
        return None if row is None else dict(zip(columns, row[1:], strict=True))

    # -- writes -------------------------------------------------------------------

    def insert_rows(self, m: ModuleDef, rows: list[dict[str, Any]]) -> None:
        """Insert records given as {column: db value}; missing columns are NULL.

        Loaded through Arrow in one statement (``executemany`` costs about 2 ms a row).
        """
        if not rows:
            return
        types = dict(stored_columns(m))
        names = ", ".join(q(c) for c in types)
        table = rows_table(rows, list(types), types)
        with self.write_lock:
            execute_with_rows(self.cursor(), table,
                              f"INSERT INTO {q(m.api_name)} ({names}) SELECT {names} FROM {{rel}}")

    def update_row(self, m: ModuleDef, record_id: int, changes: dict[str, Any], now: datetime,
                   keep_history: bool = True) -> None:
        """Apply column changes to one record; the previous version goes to history."""
        if not changes:
            return
        with self.write_lock:
            if keep_history:
                self.execute(
                    f"INSERT INTO {q(m.api_name + '$history')} SELECT *, ? FROM {q(m.api_name)} "
                    f"WHERE id = ?", [now, record_id])
            sets = ", ".join(f"{q(c)} = ?" for c in changes)
            self.execute(f"UPDATE {q(m.api_name)} SET {sets} WHERE id = ?",
                         [*changes.values(), record_id])

    def delete_rows(self, m: ModuleDef, ids: list[int], *, deleted_by: int, now: datetime) -> list[int]:
        """Delete records (to the recycle bin list); returns the ids that existed."""
        if not ids:
            return []
        with self.write_lock:
            disp = display_expr(m, "t")
            created_by = "t.Created_By" if m.field("Created_By") else "NULL"
            present = [r[0] for r in self.fetchall(
                f"SELECT id FROM {q(m.api_name)} WHERE id IN (SELECT unnest(?))", [ids])]
            if not present:
                return []
            self.execute(
                f"INSERT INTO deleted_records SELECT ?, t.id, {disp}, 'recycle', ?, {created_by}, ? "
                f"FROM {q(m.api_name)} t WHERE t.id IN (SELECT unnest(?))",
                [m.api_name, deleted_by, now, present])
            self.execute(f"DELETE FROM {q(m.api_name)} WHERE id IN (SELECT unnest(?))", [present])
            return present

    def prune_history(self, before: datetime) -> None:
        """Drop history versions superseded before ``before`` (no search can still see them)."""
        with self.write_lock:
            for m in schema.ALL_MODULES:
                self.execute(f"DELETE FROM {q(m.api_name + '$history')} WHERE _superseded_at < ?", [before])


def id_base(m: ModuleDef) -> int:
    """First id of a module's id range: ORG_PREFIX, 2-digit module slot, 10-digit sequence."""
    return schema.ORG_PREFIX * 10**12 + m.id_slot * 10**10
