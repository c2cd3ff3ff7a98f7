"""What an incremental module reads before it writes: its deletions, then its changed rows.

Both come from the module's saved state and the source alone, so a source that allows it
(:meth:`.contract.Source.delta_ahead`) has them read ahead of the module's turn, in a thread of
its own (:mod:`.prefetch`). One part may need the target: where rows can vanish without the
source listing them (file and DuckDB sources keep no deletion log; Zoho lists no cascade into a
linking or subform module), the source's ids are read with the rest, and what the target holds
beyond them is added to the deletions at the module's turn, in the runner's thread
(:meth:`DeltaStart.settle`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from .boundary import not_taken
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
    #: every id the source has, when rows may have gone unlisted: the target's others went too (a future:
    #: still being listed beside the read; one that gives None found no reason to list them)
    source_ids: frozenset[str] | Future[frozenset[str] | None] | None = None

    def settle(self, target: Target, module: str) -> DeltaStart:
        """The deletions made complete with the target's ids the source no longer has (at the module's turn:
        the target is touched only in the runner's thread)."""
        if self.source_ids is None:
            return self
        listed = set(self.deleted)
        have = self.source_ids.result() if isinstance(self.source_ids, Future) else self.source_ids
        if have is None:  # checked beside the read: nothing can have gone unlisted
            return DeltaStart(self.deleted, self.watermark, self.check)
        gone = target.ids(module) - have - listed
        # A row read at the boundary second and deleted since no longer sits there (the read itself asked
        # the source, which has no such row: dropping it here changes no row read).
        return DeltaStart(sorted(listed | gone), self.watermark.without(gone), self.check)


def deleted_ids(source: Source, module: str, state: ModuleState, *, beside: bool = False,
                wait: Callable[[], None] | None = None, every: Iterator[pa.RecordBatch] | None = None
                ) -> tuple[list[str], frozenset[str] | Future[frozenset[str] | None] | WholeRead | None]:
    """Ids the source lists as gone since the module's last run, and its every id when others may have gone
    unlisted (to be compared with the target's: :meth:`DeltaStart.settle`).

    ``beside``: rows that went with a parent (a linking or subform module) are listed on a thread of their
    own, beside the delta read, which does not need them (only the settling does): a future. ``wait``
    (with ``beside``): the parents' reads this check looks at are still under way; the check itself goes
    on that thread too, once ``wait`` returns, and the future gives None when it finds no cascade. Without
    a deletion log (files, DuckDB, Attachments) the listing comes first, as the read may build on it.
    ``every`` (:meth:`.contract.Source.whole_read`): read in the listing's place when the ids are listed
    without waiting for other reads — a :class:`WholeRead`, whose rows give the caller the delta."""
    listed = source.deleted_ids(module, state.deleted_since)
    expected = state.rows or None  # the rows the target held after the last run: about the source's count
    if listed is None:  # files and DuckDB keep no deletion log: whatever the target has and the source lacks
        return [], frozenset(source.ids(module, expected))
    if beside and wait is not None:
        if every is not None and source.cascade_foreseen(module):
            return sorted(set(listed)), WholeRead(every)
        return sorted(set(listed)), _checked_listing(source, module, state, expected, wait)
    if source.cascade_suspected(module, state.deleted_since):  # rows that went with a parent, unlisted
        if every is not None:
            return sorted(set(listed)), WholeRead(every)
        if beside:
            return sorted(set(listed)), _listing(source, module, expected)
        return sorted(set(listed)), frozenset(source.ids(module, expected))
    return sorted(set(listed)), None


def _listing(source: Source, module: str, expected: int | None) -> Future[frozenset[str] | None]:
    """``source.ids(module)`` on a thread of its own."""
    return _on_own_thread(lambda: frozenset(source.ids(module, expected)))


T = TypeVar("T")


def _on_own_thread(work: Callable[[], T]) -> Future[T]:
    """``work`` on a thread of its own, in the caller's context (its credits' module, its stop)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="zoho-ids")
    try:
        return pool.submit(copy_context().run, work)
    finally:
        pool.shutdown(wait=False)


def _checked_listing(source: Source, module: str, state: ModuleState, expected: int | None,
                     wait: Callable[[], None]) -> Future[frozenset[str] | None]:
    """Once ``wait`` returns: the cascade check, and when it finds one, every id (:func:`_listing`'s thread)."""
    def check() -> frozenset[str] | None:
        if not source.cascade_foreseen(module):  # else the check's answer is known now, whatever they read
            wait()
            if not source.cascade_suspected(module, state.deleted_since):
                return None
        return frozenset(source.ids(module, expected))

    return _on_own_thread(check)


def warm_delta(source: Source, module: str, state: ModuleState, has_modified_time: bool) -> None:
    """Ask what :func:`start_delta` asks first and no other module's read decides — the module's record count
    (:meth:`.contract.Source.expect`) and its deletion log — so a read that waits for its parents' reads has
    them by then (the source keeps both for the read; nothing is asked twice). Where the state kept the
    module's read APIs, the source need not know its modules yet to ask them."""
    if has_modified_time:
        wm = state.watermark
        # the delta's first list page reads from past the watermark second when rows were taken there (as
        # :func:`start_delta`'s read, unless every one of them was deleted since: then that page goes unused)
        since = wm.modified_time + timedelta(seconds=1) if wm.modified_time and wm.boundary_ids else wm.modified_time
        first = (state.list_fields, since) if state.list_fields and since is not None else None
        source.expect(module, wm.modified_time, state.read_apis, state.rows or None, first)
    source.deleted_ids(module, state.deleted_since, state.read_apis)


def start_delta(source: Source, target: Target | None, module: str, state: ModuleState,
                has_modified_time: bool, wait: Callable[[], None] | None = None
                ) -> tuple[DeltaStart, Iterator[pa.RecordBatch]]:
    """The module's deletions, then its changed rows (a lazy read: no row is asked for until iterated).

    ``target`` None: read ahead, in a thread that must not touch the target; the runner settles the
    deletions against it at the module's turn, before it writes them. Given, they are settled before
    the read starts. ``wait``: read ahead before the reads its cascade check looks at have ended (see
    :func:`deleted_ids`).
    """
    if has_modified_time:
        # what the read needs first, beside the deletions
        source.expect(module, state.watermark.modified_time, rows=state.rows or None)
    # a small module whose ids may be listed: the source may read it whole in their place
    every = source.whole_read(module, state.rows or None) if has_modified_time else None
    deleted, listing = deleted_ids(source, module, state, beside=target is None, wait=wait, every=every)
    whole: WholeRead | None = None
    source_ids: frozenset[str] | Future[frozenset[str] | None] | None
    if isinstance(listing, WholeRead):
        whole, source_ids = listing, listing.ids
    else:
        source_ids = listing
    if target is not None and source_ids is not None:  # listed in turn: the target is at hand
        have = source_ids.result() if isinstance(source_ids, Future) else source_ids
        assert have is not None  # no cascade check is left to a thread in turn
        deleted, source_ids = sorted(set(deleted) | (target.ids(module) - have)), None
    wm = state.watermark.without(deleted)
    check = BoundaryCheck(wm)
    if whole is not None:  # its rows give the delta too: no delta read
        return DeltaStart(deleted, wm, check, source_ids), whole.rows(wm.modified_time, wm.boundary_ids)
    if has_modified_time:
        rows = source.read(module, modified_since=wm.modified_time, exclude_ids=wm.boundary_ids or None,
                           boundary=check)
    else:
        rows = source.read(module)  # no watermark column: re-read the (small) module
    return DeltaStart(deleted, wm, check, source_ids), rows


class WholeRead:
    """A module's every row read on a thread of its own in place of its id listing: the ids (a future, for
    :meth:`DeltaStart.settle`) and, filtered as the delta read's query would filter them, its changed rows —
    one read where the listing and the delta read were two."""

    def __init__(self, every: Iterator[pa.RecordBatch]) -> None:
        self.batches: list[pa.RecordBatch] = []

        def read() -> frozenset[str] | None:
            self.batches.extend(every)
            return frozenset(i for b in self.batches for i in b.column("id").to_pylist() if i)

        self.ids = _on_own_thread(read)

    def rows(self, since: datetime | None, taken: set[str]) -> Iterator[pa.RecordBatch]:
        """The rows a delta read from ``since`` finds (read failing: its error, as the delta read's would be)."""
        self.ids.result()
        yield from changed_since(self.batches, since, taken)


def changed_since(batches: list[pa.RecordBatch], since: datetime | None, taken: set[str] | frozenset[str]
                  ) -> Iterator[pa.RecordBatch]:
    """The rows a delta read from ``since`` finds: Modified_Time at or after it, less the ids ``taken`` at exactly
    that second by the last run (the closed start the watermark keeps); every row when there is no ``since``."""
    if since is None:
        yield from (b for b in batches if b.num_rows)
        return
    stamp = pa.scalar(since, pa.timestamp("s", tz="UTC"))
    later = (b.filter(pc.fill_null(pc.greater_equal(b.column("Modified_Time"), stamp), False)) for b in batches)
    yield from not_taken(later, since, set(taken))
