"""Incremental sync state: the Modified_Time watermark with its boundary ids.

dlt's rule: the start is *closed* (``Modified_Time >= watermark``) and the ids
already taken at exactly the watermark second are remembered, so records that
share the boundary second (Zoho timestamps have second precision and mass
updates share seconds) are neither lost nor taken twice. singer's rule: the
watermark never passes the moment the run started (the "signpost"), so a record
changed while the run reads is picked up whole by the next run.

A quiet run must read nothing, however many rows share the boundary second
(a mass update stamps thousands). When the ids taken there do not fit in the
source's query (COQL: 10 ``not in`` lists of 100), the source reads only what is
*after* the boundary second, and the second itself is checked by count — one
call — until it is *settled*: confirmed complete by a read or count made at least
:data:`BOUNDARY_SETTLE` after it. A write can land in a second we already passed
only while it is in flight (Zoho stamps Modified_Time as it processes the write),
never minutes later, so a settled second needs no check at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import StateError

#: how long after a second a check must come for that second to count as complete for good
BOUNDARY_SETTLE = timedelta(minutes=10)


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


@dataclass
class ModifiedTimeWatermark:
    modified_time: datetime | None = None  # UTC, second precision
    boundary_ids: set[str] = field(default_factory=set)
    #: when (the source's clock: the signpost of the run) the boundary ids were last confirmed complete
    checked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"modified_time": self.modified_time.isoformat() if self.modified_time else None,
                "boundary_ids": sorted(self.boundary_ids),
                "checked_at": self.checked_at.isoformat() if self.checked_at else None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ModifiedTimeWatermark:
        if not data:
            return cls()
        try:
            return cls(_when(data.get("modified_time")), set(data.get("boundary_ids") or []),
                       _when(data.get("checked_at")))
        except (TypeError, ValueError) as exc:
            raise StateError(f"sync state has a malformed watermark: {exc}",
                             hint="delete the module's state to force a full reload") from None

    def settled(self) -> bool:
        """Whether no row can still arrive in the boundary second (see the module docstring)."""
        return (self.modified_time is not None and self.checked_at is not None
                and self.checked_at - self.modified_time >= BOUNDARY_SETTLE)

    def without(self, ids: Iterable[str]) -> ModifiedTimeWatermark:
        """The same watermark with ``ids`` (deleted records) no longer counted at the boundary."""
        gone = set(ids)
        if not gone & self.boundary_ids:
            return self
        return ModifiedTimeWatermark(self.modified_time, self.boundary_ids - gone, self.checked_at)

    def window_filter(self, batch: pa.RecordBatch, signpost: datetime) -> pa.RecordBatch:
        """Rows inside [watermark, signpost) that were not already taken at the boundary second."""
        mt = batch.column("Modified_Time")
        keep = pc.less(mt, pa.scalar(signpost, pa.timestamp("s", tz="UTC")))
        if self.modified_time is not None:
            wm = pa.scalar(self.modified_time, pa.timestamp("s", tz="UTC"))
            keep = pc.and_(keep, pc.greater_equal(mt, wm))
            if self.boundary_ids:
                at_boundary = pc.equal(mt, wm)
                seen = pc.is_in(batch.column("id"), value_set=pa.array(sorted(self.boundary_ids), pa.string()))
                keep = pc.and_(keep, pc.invert(pc.and_(at_boundary, seen)))
        keep = pc.fill_null(keep, False)
        return batch.filter(keep)

    def advanced(self, batches: Iterable[pa.RecordBatch], check: BoundaryCheck | None = None,
                 signpost: datetime | None = None) -> ModifiedTimeWatermark:
        """The watermark after taking these (already window-filtered) rows.

        ``check``: what the read did about the boundary second (None: it read it whole);
        ``signpost``: when this run started, the time of any confirmation it made.
        """
        top = self.modified_time
        ids = set(self.boundary_ids if check is None or check.ids_now is None else check.ids_now)
        checked = signpost if check is None or check.confirmed else self.checked_at
        for b in batches:
            if b.num_rows == 0:
                continue
            mt = b.column("Modified_Time")
            mx = pc.max(mt).as_py()
            if mx is None:
                continue
            if top is None or mx > top:
                # A new boundary second, read whole by this run (after its signpost): checked now.
                top, ids, checked = mx, set(), signpost
            if mx == top:
                mask = pc.equal(mt, pa.scalar(top, pa.timestamp("s", tz="UTC")))
                ids |= set(b.column("id").filter(mask).to_pylist())
        return ModifiedTimeWatermark(top, ids, checked)


def since_watermark(table: pa.Table, since: datetime, exclude_ids: Iterable[str] | None = None) -> pa.Table:
    """Rows with Modified_Time >= ``since``, less ``exclude_ids`` at exactly that second (a local source's
    delta: what it reads is what it counts, so a quiet run reads nothing)."""
    mt = table.column("Modified_Time")
    keep = pc.greater_equal(mt, pa.scalar(since, mt.type))
    ids = sorted(exclude_ids or ())
    if ids and "id" in table.column_names:
        taken = pc.and_(pc.equal(mt, pa.scalar(since, mt.type)),
                        pc.is_in(table.column("id"), value_set=pa.array(ids, pa.string())))
        keep = pc.and_(keep, pc.invert(taken))
    return table.filter(pc.fill_null(keep, False))


@dataclass
class BoundaryCheck:
    """What a delta read did about the watermark's second; the source fills it in as it reads.

    ``confirmed``: the read (or a count) covered the boundary second, so the ids taken there
    are known complete as of this run; a source that skips a settled second says False.
    ``ids_now``: every id at that second, when the source read the second again whole (ids
    that moved on or were deleted drop out of the set).
    """

    watermark: ModifiedTimeWatermark
    confirmed: bool = True
    ids_now: set[str] | None = None


@dataclass
class ModuleState:
    module: str
    loaded: bool = False  # a full load has committed
    watermark: ModifiedTimeWatermark = field(default_factory=ModifiedTimeWatermark)
    deleted_since: datetime | None = None  # /deleted is read from here on
    formulas_refreshed_at: datetime | None = None
    rows: int = 0
    #: False: the module has files (attachments, photos, file fields) and its last load left them out. A run
    #: that takes them when they were left out (or the other way round) loads the module whole. True also for
    #: a module without files, and for states written before files could be left out (they were taken).
    files: bool = True
    #: whether the module had files the target keeps at its last run (None: a state written before this was
    #: kept). A run that says nothing of files to a module without any reads it incrementally whatever
    #: ``files`` says, so its first calls can go out before its fields are known.
    has_files: bool | None = None
    #: the APIs that served the module at the source at its last run (Zoho: REST, COQL, Bulk...; None: not
    #: kept, or a source without such APIs): the next run's first calls (a record count, the deletion log)
    #: need not wait for the source's module list to learn which it may ask
    read_apis: frozenset[str] | None = None
    #: the fields the source's first list page of the module asks (Zoho: a module with columns only its list
    #: API returns, whose small delta that API reads), as at the last run; None: not such a module, or not
    #: kept. The next run may ask that page with its first calls, before the module's fields are known
    list_fields: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"module": self.module, "loaded": self.loaded, "watermark": self.watermark.to_json(),
               "deleted_since": self.deleted_since.isoformat() if self.deleted_since else None,
               "formulas_refreshed_at": self.formulas_refreshed_at.isoformat() if self.formulas_refreshed_at
               else None, "rows": self.rows, "files": self.files}
        if self.has_files is not None:
            out["has_files"] = self.has_files
        if self.read_apis is not None:
            out["read_apis"] = sorted(self.read_apis)
        if self.list_fields is not None:
            out["list_fields"] = list(self.list_fields)
        return out

    def loads_incrementally(self, take_files: bool) -> bool | None:
        """Whether a run that takes files (or not) reads this loaded module as a delta, judged by the state
        alone; None when that needs the module's fields (a state from before ``has_files`` was kept)."""
        if not self.loaded:
            return False
        if self.files == take_files or self.has_files is False:
            return True
        return False if self.has_files else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleState:
        files, has_files = data.get("files", True), data.get("has_files")
        if not isinstance(files, bool):
            raise ValueError(f"files is {files!r}, not true or false")
        if has_files is not None and not isinstance(has_files, bool):
            raise ValueError(f"has_files is {has_files!r}, not true or false")
        apis = data.get("read_apis")
        if apis is not None and not (isinstance(apis, list) and all(isinstance(a, str) for a in apis)):
            raise ValueError(f"read_apis is {apis!r}, not a list of API names")
        listed = data.get("list_fields")
        if listed is not None and not (isinstance(listed, list) and all(isinstance(f, str) for f in listed)):
            raise ValueError(f"list_fields is {listed!r}, not a list of field names")
        return cls(data["module"], bool(data.get("loaded")), ModifiedTimeWatermark.from_json(data.get("watermark")),
                   _when(data.get("deleted_since")), _when(data.get("formulas_refreshed_at")),
                   int(data.get("rows") or 0), files, has_files, None if apis is None else frozenset(apis),
                   None if listed is None else tuple(listed))


# -- a (module, state) table of JSON texts: a DuckDB target's and the Zoho target's sidecar ----------


def load_state_table(con: Any, table: str, where: object) -> dict[str, ModuleState]:
    """Every module's state from ``table`` of DuckDB connection ``con`` (``where`` names its file)."""
    out = {}
    for module, raw in con.execute(f"SELECT module, state FROM {table}").fetchall():
        try:
            out[module] = ModuleState.from_json(json.loads(raw))
        except (ValueError, KeyError) as exc:
            raise StateError(f"the sync state of {module} in {where} is corrupt: {exc}",
                             hint=f"DELETE FROM {table} WHERE module = '{module}' to reload it") from None
    return out


def save_state_row(con: Any, table: str, state: ModuleState) -> None:
    con.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", [state.module, json.dumps(state.to_json())])
