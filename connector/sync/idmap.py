"""The sidecar state of a Zoho target: id map, sync state, deferred lookups — one small DuckDB file.

A Zoho org cannot hold our bookkeeping, so it lives next to the connection:
``--state PATH``, else ``<dir of OAuthSettingsLocation>/zohocrm-sync-<key>.duckdb``,
else ``~/.zohocrm/sync/zohocrm-sync-<key>.duckdb``, where ``<key>`` is a hash of
the source's and the target's identities (data center + org id, or a path): the
same source id means different things in different sources, so each pair has
its own map.

Tables:

* ``idmap(module, source_id, target_id)`` — which target record a source record became;
  committed after every successful write batch, so a killed run resumes without
  inserting what it already inserted;
* ``state(module, state)`` — the incremental watermark per module (as for other targets);
* ``deferred(module, source_id, field, ref_id, ref_module)`` — lookups that could not be
  set on first write because the record they point at did not exist yet (self
  references, cycles); set by a second pass, then removed;
* ``failed(module, source_id, code, message)`` — rows the target refused in the last
  attempt; kept until a later write of the same row succeeds;
* ``meta(key, value)`` — the source and target identities this file belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from connector.errors import StateError
from connector.localfs import private_umask

from .paths import STATE, connect_duckdb, transaction, usable_file
from .state import ModuleState, load_state_table, save_state_row


def pending_dir(state_file: Path) -> Path:
    """Where a Zoho target keeps insert batches saved before they are sent: ``<state>.pending/`` beside it."""
    return state_file.with_name(state_file.stem + ".pending")


_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS idmap (module VARCHAR, source_id VARCHAR, target_id VARCHAR, "
    "PRIMARY KEY (module, source_id))",
    "CREATE TABLE IF NOT EXISTS state (module VARCHAR PRIMARY KEY, state VARCHAR)",
    "CREATE TABLE IF NOT EXISTS deferred (module VARCHAR, source_id VARCHAR, field VARCHAR, ref_id VARCHAR, "
    "ref_module VARCHAR, PRIMARY KEY (module, source_id, field))",
    "CREATE TABLE IF NOT EXISTS failed (module VARCHAR, source_id VARCHAR, code VARCHAR, message VARCHAR, "
    "PRIMARY KEY (module, source_id))",
)


class SyncStateStore:
    def __init__(self, path: str | Path) -> None:
        # The id map sits beside secrets and names every record: private whatever the umask,
        # for as long as it is open (DuckDB re-creates its WAL at every checkpoint).
        self._private = ExitStack()
        self._private.enter_context(private_umask())
        try:
            self.path = usable_file(path, "sync state", STATE)
            self.con = connect_duckdb(self.path, "sync state", STATE)
            for ddl in _DDL:
                self.con.execute(ddl)
        except BaseException:
            if hasattr(self, "con"):
                self.con.close()
            self._private.close()
            raise

    def __repr__(self) -> str:
        return f"SyncStateStore({str(self.path)!r})"

    # -- whose state is this --------------------------------------------------------------------

    def bind(self, source: str, target: str) -> None:
        """Refuse a state file that belongs to another source/target pair (its ids would mean nothing)."""
        have = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        for key, value in (("source", source), ("target", target)):
            if key in have and have[key] != value:
                raise StateError(f"the sync state {self.path} belongs to {key} {have[key]!r}, not {value!r}",
                                 hint="give another --state file for this pair")
        self.con.execute("INSERT OR REPLACE INTO meta VALUES ('source', ?), ('target', ?)", [source, target])

    # -- id map -------------------------------------------------------------------------------------

    def lookup(self, module: str, source_ids: Iterable[str]) -> dict[str, str]:
        ids = sorted({i for i in source_ids if i})
        if not ids:
            return {}
        rows = self.con.execute("SELECT source_id, target_id FROM idmap WHERE module = ? AND source_id IN "
                                "(SELECT unnest(?))", [module, ids]).fetchall()
        return {r[0]: r[1] for r in rows}

    def source_ids(self, module: str) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT source_id FROM idmap WHERE module = ?", [module]).fetchall()}

    def record(self, module: str, pairs: dict[str, str], failed: dict[str, tuple[str, str]] | None = None) -> None:
        """Commit one batch's outcome at once: new mappings, and which rows failed (or no longer do)."""
        with self._transaction():
            if pairs:
                self._through_arrow(module, "_pairs", {"s": list(pairs), "t": list(pairs.values())},
                                    "INSERT OR REPLACE INTO idmap SELECT ?, s, t FROM _pairs",
                                    "DELETE FROM failed WHERE module = ? AND source_id IN (SELECT s FROM _pairs)")
            if failed:
                self._through_arrow(module, "_failed", {"s": list(failed), "c": [v[0] for v in failed.values()],
                                                        "m": [v[1] for v in failed.values()]},
                                    "INSERT OR REPLACE INTO failed SELECT ?, s, c, m FROM _failed")

    def forget(self, module: str, source_ids: Iterable[str]) -> None:
        ids = list(source_ids)
        if ids:
            self.con.execute("DELETE FROM idmap WHERE module = ? AND source_id IN (SELECT unnest(?))", [module, ids])
            self.con.execute("DELETE FROM deferred WHERE module = ? AND source_id IN (SELECT unnest(?))",
                             [module, ids])

    def failed(self, module: str) -> dict[str, tuple[str, str]]:
        rows = self.con.execute("SELECT source_id, code, message FROM failed WHERE module = ?", [module]).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- incremental state --------------------------------------------------------------------------

    def load_states(self) -> dict[str, ModuleState]:
        return load_state_table(self.con, "state", self.path)

    def save_state(self, state: ModuleState) -> None:
        save_state_row(self.con, "state", state)

    # -- lookups set in a second pass ---------------------------------------------------------------

    def defer(self, module: str, source_ids: list[str], refs: list[tuple[str, str, str, str]]) -> None:
        """Replace what is deferred for these rows with ``refs``: (source_id, field, ref_id, ref_module).

        A row written again says afresh what it points at; an older deferral of it must not
        overwrite the newer value in the second pass.
        """
        with self._transaction():
            if source_ids:
                self.con.execute("DELETE FROM deferred WHERE module = ? AND source_id IN (SELECT unnest(?))",
                                 [module, source_ids])
            if refs:
                columns = {k: [r[i] for r in refs] for i, k in enumerate(("s", "f", "r", "m"))}
                self._through_arrow(module, "_refs", columns,
                                    "INSERT OR REPLACE INTO deferred SELECT ?, s, f, r, m FROM _refs")

    def deferred(self) -> dict[str, list[tuple[str, str, str, str]]]:
        out: dict[str, list[tuple[str, str, str, str]]] = {}
        for m, sid, f, ref, rm in self.con.execute("SELECT * FROM deferred ORDER BY module, source_id").fetchall():
            out.setdefault(m, []).append((sid, f, ref, rm))
        return out

    def undefer(self, module: str, keys: list[tuple[str, str]]) -> None:
        if keys:
            self._through_arrow(module, "_keys", {"s": [k[0] for k in keys], "f": [k[1] for k in keys]},
                                "DELETE FROM deferred WHERE module = ? AND (source_id, field) IN "
                                "(SELECT (s, f) FROM _keys)")

    # -- sizes (the permission check before a run, ``zohocrm state``) ----------------------------------

    def counts(self, table: str) -> dict[str, int]:
        """Rows per module in ``idmap``, ``failed`` or ``deferred``."""
        if table not in ("idmap", "failed", "deferred"):
            raise ValueError(f"no table {table!r} in the sync state")
        return dict(self.con.execute(f"SELECT module, count(*) FROM {table} GROUP BY module").fetchall())

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._private.close()

    # -- helpers ------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: a killed run must find either a batch's whole outcome or none of it."""
        with transaction(self.con):
            yield

    def _through_arrow(self, module: str, name: str, columns: dict[str, list[Any]], *statements: str) -> None:
        """Run ``statements`` (``module`` bound to their ``?``) over ``columns`` registered as table ``name``.

        Through Arrow: executemany runs row by row, seconds for a few thousand rows.
        """
        self.con.register(name, pa.table(columns))
        for sql in statements:
            self.con.execute(sql, [module])
        self.con.unregister(name)
