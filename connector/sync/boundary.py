"""A delta read past a crowded watermark second, in as few calls as a quiet run allows.

When the ids taken at the watermark second fit in one query, the query leaves
them out (``Modified_Time > T or id not in (...)``). When they do not (a mass
update stamps thousands of records with one second), :func:`read_past_boundary`
reads only what is *after* that second — one call that finds nothing on a quiet
run — and checks the second itself by count while it is not settled
(:meth:`.state.ModifiedTimeWatermark.settled`):

* rows taken at the second that changed since show up after it (``moved``), so
  the count there must be ``len(taken - moved)``;
* any other count means the second gained (or lost) rows since it was read: it
  is read again whole; rows already taken are dropped by the runner's window,
  and the ids found there become the boundary set (``ids_now``).

The source supplies three small callables, so the protocol is one piece of code
for every API (and testable without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from .state import BoundaryCheck

ReadFrom = Callable[[datetime], Iterator[pa.RecordBatch]]  # rows with Modified_Time >= the argument
CountAt = Callable[[datetime], "int | None"]  # rows with Modified_Time == the argument; None: cannot say
ReadAt = Callable[[datetime, bool], Iterator[pa.RecordBatch]]  # rows at the second (bool: count answered)


def read_past_boundary(second: datetime, taken: set[str], check: BoundaryCheck, *, read_from: ReadFrom,
                       count_at: CountAt, read_at: ReadAt) -> Iterator[pa.RecordBatch]:
    """Rows after ``second``, then ``second`` again only if it may have gained rows (see above)."""
    moved: set[str] = set()
    for b in read_from(second + timedelta(seconds=1)):
        if "id" in b.schema.names:
            moved |= taken & {str(i) for i in b.column("id").to_pylist()}
        yield b
    if check.watermark.settled():
        check.confirmed = False  # nothing can arrive there any more: not even a count
        return
    counted = count_at(second)
    if counted == len(taken - moved):
        return  # confirmed complete as of this run
    check.ids_now = set()
    for b in read_at(second, counted is not None):
        check.ids_now |= {str(i) for i in b.column("id").to_pylist()}
        yield b


def not_taken(batches: Iterator[pa.RecordBatch], second: datetime, taken: set[str]) -> Iterator[pa.RecordBatch]:
    """Rows less those already taken at the watermark second (a row modified since has a later time)."""
    stamp = pa.scalar(second, pa.timestamp("s", tz="UTC"))
    for b in batches:
        if "Modified_Time" not in b.schema.names:
            yield b
            continue
        at_second = pc.fill_null(pc.equal(b.column("Modified_Time"), stamp), False)
        seen = pc.is_in(b.column("id"), value_set=pa.array(sorted(taken), pa.string()))
        kept = b.filter(pc.invert(pc.and_(at_second, seen)))
        if kept.num_rows:
            yield kept
