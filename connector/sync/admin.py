"""Look at and reset a sync's state, wherever the target keeps it (``zohocrm state``).

* ``duckdb:PATH`` keeps it in the table ``_zohocrm_state`` of the database;
* ``parquet:DIR`` / ``csv:DIR`` in the manifest ``DIR/_zohocrm_state.json``;
* a Zoho target in its sidecar DuckDB file (``--state PATH``, else the file named
  after the source/target pair, which needs ``--source`` to be found), together
  with the id map, rows that failed, lookups waiting for the second pass and the
  insert batches a killed run left under ``<state>.pending/``.

Showing reads only. Resetting a module forgets its watermark, so the next run
loads it in full; nothing else is touched. For a Zoho target that means the id
map and pending batches stay: the full load updates the records it made before
instead of inserting them again, and a killed run's batches are still resumed
(looked up) first. Starting over from nothing is deleting the state file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from connector.errors import ConfigError, StateError
from connector.localfs import private_umask

from .backends import open_source, split_url
from .files import MANIFEST
from .idmap import pending_dir
from .state import ModuleState, load_state_table
from .target_duckdb import STATE_TABLE as DUCKDB_STATE

ZOHO_STATE = "state"  # the table of a Zoho target's sidecar (idmap.py)


@dataclass
class ModuleStatus:
    """One module's sync state, as ``zohocrm state show`` prints it."""

    module: str
    loaded: bool = False  # a full load has committed
    watermark: datetime | None = None  # Modified_Time up to which changes were taken
    boundary_ids: int = 0  # ids taken at exactly that second
    boundary_settled: bool = False
    last_run: datetime | None = None  # the signpost of the last run that committed this module
    rows: int | None = None
    id_map: int | None = None  # Zoho targets: source records known in the target
    failed: int | None = None  # Zoho targets: rows the last attempt did not write
    deferred: int | None = None  # Zoho targets: lookups waiting for their record
    pending_batches: int | None = None  # Zoho targets: insert batches of a killed run, resumed first
    files: bool = True  # False: loaded with --no-files (records only; attachments, photos, file fields left out)

    def to_json(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass
class SyncStateView:
    kind: str  # duckdb, parquet, csv or zoho
    location: Path  # the file (or directory) the state lives in
    modules: list[ModuleStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": str(self.location), "modules": [m.to_json() for m in self.modules]}


@dataclass(frozen=True)
class StateLocation:
    kind: str
    path: Path


def locate(target: str, *, source: str | None = None, state_path: str | None = None) -> StateLocation:
    """Where the state of a sync into ``target`` lives (Zoho targets: ``state_path``, or found from ``source``)."""
    scheme, rest = split_url(target)
    if scheme in ("duckdb", "parquet", "csv"):
        path = Path(rest.strip()).expanduser()
        if not rest.strip() or not path.exists():
            raise StateError(f"there is no {scheme} target at {path}", hint="give the --target a migration wrote")
        return StateLocation(scheme, path)
    if state_path:
        return StateLocation("zoho", Path(state_path).expanduser())
    if not source:
        raise ConfigError("the sync state of a Zoho target is named after both ends of the sync",
                          hint="give --source as well (the one the migration used), or --state PATH")
    from .target_zoho import ZohoTarget

    with open_source(source) as src, ZohoTarget.from_url(split_url(target)[1]) as tgt:
        path, _, _ = tgt.state_file(src)
    return StateLocation("zoho", Path(path))


def _status(state: ModuleState) -> ModuleStatus:
    wm = state.watermark
    return ModuleStatus(state.module, state.loaded, wm.modified_time, len(wm.boundary_ids), wm.settled(),
                        state.deleted_since, state.rows, files=state.files)


def _read_only(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise StateError(f"there is no sync state at {path}", hint="give the --state (or --target) a migration used")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StateError(f"cannot read the sync state {path}: {exc}",
                         hint="a migration into this target may be running; try again when it ends") from None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _counts(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    return dict(con.execute(f"SELECT module, count(*) FROM {table} GROUP BY module").fetchall())


def show(loc: StateLocation) -> SyncStateView:
    """Every module's state (read only)."""
    view = SyncStateView(loc.kind, loc.path)
    if loc.kind in ("parquet", "csv"):
        from .files import FileDir

        states = _file_states(FileDir(loc.path, loc.kind).manifest())
        view.modules = [_status(s) for _, s in sorted(states.items())]
        return view
    con = _read_only(loc.path)
    try:
        table = DUCKDB_STATE if loc.kind == "duckdb" else ZOHO_STATE
        states = load_state_table(con, table, loc.path) if table in _tables(con) else {}
        if loc.kind == "duckdb":
            view.modules = [_status(s) for _, s in sorted(states.items())]
            return view
        mapped, failed, deferred = (_counts(con, t) for t in ("idmap", "failed", "deferred"))
    finally:
        con.close()
    pending: dict[str, int] = {}
    for p in pending_dir(loc.path).glob("*.parquet"):
        module = p.name.rsplit(".", 2)[0]
        pending[module] = pending.get(module, 0) + 1
    for module in sorted(set(states) | set(mapped) | set(pending) | set(deferred)):
        st = _status(states[module]) if module in states else ModuleStatus(module)
        st.id_map, st.failed = mapped.get(module, 0), failed.get(module, 0)
        st.deferred, st.pending_batches = deferred.get(module, 0), pending.get(module, 0)
        view.modules.append(st)
    return view


def _file_states(manifest: dict[str, Any]) -> dict[str, ModuleState]:
    out = {}
    for module, entry in manifest.get("modules", {}).items():
        if entry.get("state"):
            try:
                out[module] = ModuleState.from_json(entry["state"])
            except (KeyError, TypeError, ValueError) as exc:
                raise StateError(f"the state of {module} in the manifest is corrupt: {exc}") from None
    return out


def reset(loc: StateLocation, modules: list[str] | None) -> list[str]:
    """Forget the watermark of ``modules`` (every module when None): the next run loads them in full.

    Returns the modules whose state was reset. Unknown module names are an error that lists the known ones.
    """
    known = [m.module for m in show(loc).modules if m.loaded or m.watermark is not None or m.last_run is not None]
    chosen = known if modules is None else modules
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise ConfigError(f"no sync state for {', '.join(unknown)} in {loc.path}",
                          hint=f"modules with a state: {', '.join(known) or 'none'}")
    if not chosen:
        return []
    if loc.kind in ("parquet", "csv"):
        _reset_files(loc, chosen)
        return chosen
    table = DUCKDB_STATE if loc.kind == "duckdb" else ZOHO_STATE
    try:
        with private_umask():  # DuckDB re-creates its WAL with the process umask
            con = duckdb.connect(str(loc.path))
    except duckdb.Error as exc:
        raise StateError(f"cannot change the sync state {loc.path}: {exc}",
                         hint="a migration into this target may be running; try again when it ends") from None
    try:
        with private_umask():
            con.execute(f"DELETE FROM {table} WHERE module IN (SELECT unnest(?))", [chosen])
    finally:
        con.close()
    return chosen


def _reset_files(loc: StateLocation, modules: list[str]) -> None:
    from filelock import FileLock, Timeout

    from .file_formats import write_json_atomic
    from .files import FileDir

    lock = FileLock(str(loc.path / ".zohocrm.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StateError(f"a migration is writing {loc.path}", hint="try again when it ends") from None
    try:
        manifest = FileDir(loc.path, loc.kind).manifest()
        for module in modules:
            # The data file stays until the next run replaces it whole; only the watermark goes.
            manifest["modules"].get(module, {}).pop("state", None)
        with private_umask():
            write_json_atomic(loc.path / MANIFEST, manifest)
    finally:
        lock.release()


def dumps(view: SyncStateView) -> str:
    return json.dumps(view.to_json(), indent=1)
