"""What an incremental module reads before it writes: its deletions, then its changed rows.

Both depend only on the module's saved state and the source, except where the deletions must be
found by comparing ids with the target (file and DuckDB sources keep no deletion log, and Zoho
lists no cascade) — so a module whose source says so (:meth:`.contract.Source.delta_ahead`) can
have both read ahead of its turn, in a thread that never touches the target (:mod:`.prefetch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from .contract import Source, Target
from .state import BoundaryCheck, ModifiedTimeWatermark, ModuleState


@dataclass(frozen=True)
class DeltaStart:
    """What an incremental read settled before its first row: the deletions and the watermark without them."""

    deleted: list[str]
    #: the saved watermark less the deleted records (they no longer sit at its boundary second)
    watermark: ModifiedTimeWatermark
    #: what the read does about the boundary second (the source fills it in as it reads)
    check: BoundaryCheck


def deleted_ids(source: Source, target: Target | None, module: str, state: ModuleState) -> list[str]:
    """Ids gone since the module's last run; ``target`` None: from the source's own log only (read ahead)."""
    listed = source.deleted_ids(module, state.deleted_since)
    if listed is None:
        # Files and DuckDB keep no deletion log: whatever the target has and the source lacks is gone.
        return sorted(_target(target, module).ids(module) - source.ids(module))
    gone = set(listed)
    if source.cascade_suspected(module, state.deleted_since):
        gone |= _target(target, module).ids(module) - source.ids(module)  # rows that went with a parent, unlisted
    return sorted(gone)


def _target(target: Target | None, module: str) -> Target:
    if target is None:  # the source said delta_ahead(module), so its deletions needed no target
        raise RuntimeError(f"{module}: its deletions need the target; it cannot be read ahead")
    return target


def start_delta(source: Source, target: Target | None, module: str, state: ModuleState,
                has_modified_time: bool) -> tuple[DeltaStart, Iterator[pa.RecordBatch]]:
    """The module's deletions, then its changed rows (a lazy read: no row is asked for until iterated)."""
    deleted = deleted_ids(source, target, module, state)
    wm = state.watermark.without(deleted)
    check = BoundaryCheck(wm)
    if has_modified_time:
        rows = source.read(module, modified_since=wm.modified_time, exclude_ids=wm.boundary_ids or None,
                           boundary=check)
    else:
        rows = source.read(module)  # no watermark column: re-read the (small) module
    return DeltaStart(deleted, wm, check), rows
