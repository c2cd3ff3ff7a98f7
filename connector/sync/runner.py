"""Migrate and incremental sync runners.

Per module, in dependency order: a full load the first time (or without
``incremental``), then deltas on the Modified_Time watermark plus deletes from
``/deleted``. Each module's data and state commit together (see the targets),
so a failed or killed run is resumed by running it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from connector.errors import ConnectorError

from .state import ModifiedTimeWatermark, ModuleState

log = logging.getLogger("connector.sync")

ProgressFn = Callable[[str, str, int], None]  # (module, phase, rows)


@dataclass
class ModuleResult:
    module: str
    mode: str  # "full" or "incremental"
    rows_read: int = 0
    rows_written: int = 0
    rows_deleted: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class MigrationResult:
    modules: list[ModuleResult] = field(default_factory=list)
    started_at: datetime | None = None
    credits: int = 0

    @property
    def ok(self) -> bool:
        return all(m.error is None for m in self.modules)

    @property
    def rows_written(self) -> int:
        return sum(m.rows_written for m in self.modules)

    def as_rows(self) -> list[dict[str, Any]]:
        return [m.__dict__.copy() for m in self.modules]


class _Counter:
    """Counts rows flowing through a batch iterator and reports progress."""

    def __init__(self, module: str, phase: str, progress: ProgressFn | None) -> None:
        self.module, self.phase, self.progress = module, phase, progress
        self.rows = 0
        self.batches: list[pa.RecordBatch] = []

    def wrap(self, it: Iterator[pa.RecordBatch], keep: bool = False) -> Iterator[pa.RecordBatch]:
        for b in it:
            self.rows += b.num_rows
            if keep:
                self.batches.append(b)
            if self.progress:
                self.progress(self.module, self.phase, self.rows)
            yield b


def _filtered(it: Iterator[pa.RecordBatch], wm: ModifiedTimeWatermark, signpost: datetime,
              seen: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for b in it:
        kept = wm.window_filter(b, signpost)
        seen.append(kept.select(["id", "Modified_Time"]))
        yield kept


def sync_module(source: Any, target: Any, module: str, state: ModuleState | None, *, incremental: bool,
                signpost: datetime, progress: ProgressFn | None = None) -> ModuleResult:
    started = time.monotonic()
    schema = source.schema(module)
    if not incremental or state is None or not state.loaded:
        res = ModuleResult(module, "full")
        counter = _Counter(module, "full", progress)
        below: list[pa.RecordBatch] = []

        has_mt = "Modified_Time" in schema.names
        new_state = ModuleState(module, loaded=True, deleted_since=signpost)

        def full_batches() -> Iterator[pa.RecordBatch]:
            for b in counter.wrap(source.read(module)):
                # Every row read goes to the target; the watermark counts only rows older than the
                # signpost, so rows changed while we read are read again (and upserted) next run.
                if has_mt:
                    below.append(ModifiedTimeWatermark().window_filter(b, signpost).select(["id", "Modified_Time"]))
                yield b
            # Targets stage every batch before committing data and state together, so the
            # watermark is known by the time the state is written.
            new_state.watermark = ModifiedTimeWatermark().advanced(below) if has_mt else ModifiedTimeWatermark()

        rows = target.replace_module(module, schema, full_batches(), new_state)
        res.rows_read, res.rows_written = counter.rows, rows
    else:
        res = ModuleResult(module, "incremental")
        counter = _Counter(module, "delta", progress)
        wm = state.watermark
        seen: list[pa.RecordBatch] = []
        has_mt = "Modified_Time" in schema.names
        if has_mt:
            delta = _filtered(counter.wrap(source.read(module, modified_since=wm.modified_time)), wm, signpost, seen)
        else:
            delta = counter.wrap(source.read(module))  # no watermark column: re-read the (small) module
        deleted = source.deleted(module, state.deleted_since) if hasattr(source, "deleted") else []
        new_state = ModuleState(module, loaded=True, watermark=wm, deleted_since=signpost,
                                formulas_refreshed_at=state.formulas_refreshed_at)
        def delta_batches() -> Iterator[pa.RecordBatch]:
            for b in delta:
                if b.num_rows:
                    yield b
            new_state.watermark = wm.advanced(seen) if has_mt else wm

        written, removed = target.apply_changes(module, schema, delta_batches(), deleted, new_state)
        res.rows_read, res.rows_written, res.rows_deleted = counter.rows, written, removed
    res.seconds = time.monotonic() - started
    return res


def run(source: Any, target: Any, *, modules: list[str] | None = None, incremental: bool = False,
        progress: ProgressFn | None = None, stop_on_error: bool = False) -> MigrationResult:
    result = MigrationResult()
    names = modules or source.modules()
    states = target.load_state()
    signpost = source.now()
    result.started_at = signpost
    for module in names:
        try:
            result.modules.append(sync_module(source, target, module, states.get(module), incremental=incremental,
                                              signpost=signpost, progress=progress))
        except ConnectorError as exc:
            log.error("module %s failed: %s", module, exc)
            result.modules.append(ModuleResult(module, "incremental" if incremental else "full", error=str(exc)))
            if stop_on_error:
                break
    meter = getattr(getattr(source, "session", None), "http", None)
    if meter is not None:
        result.credits = meter.meter.snapshot()["credits"]
    return result
