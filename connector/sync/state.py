"""Incremental sync state: the Modified_Time watermark with its boundary ids.

dlt's rule: the start is *closed* (``Modified_Time >= watermark``) and the ids
already taken at exactly the watermark second are remembered, so records that
share the boundary second (Zoho timestamps have second precision and mass
updates share seconds) are neither lost nor taken twice. singer's rule: the
watermark never passes the moment the run started (the "signpost"), so a record
changed while the run reads is picked up whole by the next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import StateError


@dataclass
class ModifiedTimeWatermark:
    modified_time: datetime | None = None  # UTC, second precision
    boundary_ids: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"modified_time": self.modified_time.isoformat() if self.modified_time else None,
                "boundary_ids": sorted(self.boundary_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ModifiedTimeWatermark:
        if not data:
            return cls()
        try:
            mt = data.get("modified_time")
            return cls(datetime.fromisoformat(mt).astimezone(UTC) if mt else None, set(data.get("boundary_ids") or []))
        except (TypeError, ValueError) as exc:
            raise StateError(f"sync state has a malformed watermark: {exc}",
                             hint="delete the module's state to force a full reload") from None

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

    def advanced(self, batches: Iterable[pa.RecordBatch]) -> ModifiedTimeWatermark:
        """The watermark after taking these (already window-filtered) rows."""
        top = self.modified_time
        ids = set(self.boundary_ids)
        for b in batches:
            if b.num_rows == 0:
                continue
            mt = b.column("Modified_Time")
            mx = pc.max(mt).as_py()
            if mx is None:
                continue
            if top is None or mx > top:
                top, ids = mx, set()
            if mx == top:
                mask = pc.equal(mt, pa.scalar(top, pa.timestamp("s", tz="UTC")))
                ids |= set(b.column("id").filter(mask).to_pylist())
        return ModifiedTimeWatermark(top, ids)


@dataclass
class ModuleState:
    module: str
    loaded: bool = False  # a full load has committed
    watermark: ModifiedTimeWatermark = field(default_factory=ModifiedTimeWatermark)
    deleted_since: datetime | None = None  # /deleted is read from here on
    formulas_refreshed_at: datetime | None = None
    rows: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "loaded": self.loaded, "watermark": self.watermark.to_json(),
                "deleted_since": self.deleted_since.isoformat() if self.deleted_since else None,
                "formulas_refreshed_at": self.formulas_refreshed_at.isoformat() if self.formulas_refreshed_at
                else None, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleState:
        def dt(v: Any) -> datetime | None:
            return datetime.fromisoformat(v).astimezone(UTC) if v else None

        return cls(data["module"], bool(data.get("loaded")), ModifiedTimeWatermark.from_json(data.get("watermark")),
                   dt(data.get("deleted_since")), dt(data.get("formulas_refreshed_at")), int(data.get("rows") or 0))


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
