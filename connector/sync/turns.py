"""Which module an incremental run writes next, when its target takes modules in any order.

The runner writes one module at a time, and a file or DuckDB target commits each with its own state, so the
order of those commits is free but for one thing: the lookups that point at records deleted at the source,
which the runner empties for such targets (Zoho does so without an edit, so no delta brings it). A parent's
deletions must be complete, and the clears they cause handed to the target, before a module that looks the
parent up is written; otherwise that module is written at its turn and again at the run's end.

Read ahead, a delta knows its deletions long before its rows are all in, and a module with files waits for its
downloads after its rows. So the run *settles* its modules in its own order as far as it can without waiting
(:meth:`.delta.DeltaStart.settle`: the deletions made complete against the target; then the lookups they
empty are cleared), and writes, among the modules settled so far, the first whose read has done all it could
before its turn: ended (its files downloaded), or waiting for the runner to take its batches. Every module
before a written one is settled, so nothing is written before a clear that concerns it, and no module is
rewritten more often than in the run's order. A module that cannot be settled without waiting holds back
every module after it: one not read ahead is read and written at its place, as in the run's order; one whose
head or listing is still on the wire is settled once they are in (the modules before it written meanwhile).

Only for runs whose modules are all deltas (a full load reads and writes in the run's order), into a target
that says it takes any order (:attr:`.contract.Target.writes_in_any_order`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pyarrow as pa

from connector.http.credits import charging

from .delta import DeltaStart
from .prefetch import ReadAhead

#: seconds between looks when no read ahead says anything (a download ending tells nobody)
LOOK_AGAIN = 0.02

Clear = Callable[[str, list[str]], int]


def take_delta(ahead: ReadAhead[DeltaStart | None], module: str) -> tuple[DeltaStart, Iterator[pa.RecordBatch]]:
    """An incremental module's read, taken from the read-ahead: what its delta settled first, and its rows."""
    start, rows = ahead.take(module)
    if start is None:
        raise RuntimeError(f"{module}: an incremental module was started as a full load")
    return start, rows


class WriteTurns:
    """The modules of a run in the order to write them (iterate), their settled deltas (:meth:`delta`) and the
    lookups their deletions cleared (:meth:`cleared`), which the module's turn takes instead of doing again."""

    def __init__(self, names: list[str], ahead: ReadAhead[DeltaStart | None], settle: Callable[[DeltaStart, str],
                 DeltaStart], clear: Clear | None, downloading: Callable[[str], bool],
                 preread: Callable[[str], None] | None = None) -> None:
        self.remaining = list(names)
        self.ahead = ahead
        self._settle = settle
        self._clear = clear
        self._downloading = downloading
        #: module -> its delta, settled and its clears made (or what taking or settling it raised)
        self._settled: dict[str, tuple[DeltaStart, Iterator[pa.RecordBatch], int] | Exception] = {}
        #: module -> the lookups its deletions cleared, once its turn took its delta
        self._cleared: dict[str, int] = {}
        self._preread = preread
        #: the modules the target was told change (:meth:`.contract.Target.preread`)
        self._told: set[str] = set()

    def __iter__(self) -> Iterator[str]:
        self.ahead.begin()
        while self.remaining:
            module = self._next()
            self.remaining.remove(module)
            yield module

    def _next(self) -> str:
        while True:
            seen = self.ahead.changed.version
            settled = self._settle_ahead()
            self._tell_changes()
            for module in settled:
                if self._ready(module):
                    return module
            if not settled and self.ahead.head(self.remaining[0]) is None:
                return self.remaining[0]  # not read ahead: its turn reads it, in the run's order
            self.ahead.changed.wait(seen, LOOK_AGAIN)

    def _ready(self, module: str) -> bool:
        return isinstance(self._settled[module], Exception) or (self.ahead.ready(module)
                                                                and not self._downloading(module))

    def _tell_changes(self) -> None:
        """Tell the target, in the run's order, which modules still to be written change: rows have come, or
        deletions were settled (it may start reading what it holds of them)."""
        if self._preread is None:
            return
        for module in self.remaining:
            if module in self._told:
                continue
            settled = self._settled.get(module)
            if self.ahead.has_rows(module) or (isinstance(settled, tuple) and bool(settled[0].deleted)):
                self._told.add(module)
                self._preread(module)

    def _settle_ahead(self) -> list[str]:
        """Settle the remaining modules in order while that needs no wait; the ones settled, in order."""
        done = []
        for module in self.remaining:
            if module not in self._settled and not self._settle_now(module):
                break
            done.append(module)
        return done

    def _settle_now(self, module: str) -> bool:
        head = self.ahead.head(module)
        if head is None or not head.done():
            return False
        known = head.result() if head.exception() is None else None
        if known is not None and isinstance(known.source_ids, Future) and not known.source_ids.done():
            return False  # its listing is still on the wire (maybe waiting for other reads): not now
        try:
            with charging(module):
                start, rows = take_delta(self.ahead, module)
                start = self._settle(start, module)
                cleared = self._clear(module, start.deleted) if self._clear is not None and start.deleted else 0
            self._settled[module] = (start, rows, cleared)
        except Exception as exc:  # noqa: BLE001 - raised at the module's turn, as it would have been there
            self._settled[module] = exc
        return True

    def delta(self, module: str) -> tuple[DeltaStart, Iterator[pa.RecordBatch]] | None:
        """The module's settled delta (raising what taking or settling it raised); None when it was not settled
        ahead."""
        got = self._settled.pop(module, None)
        if isinstance(got, Exception):
            raise got
        if got is None:
            return None
        self._cleared[module] = got[2]
        return got[0], got[1]

    def cleared(self, module: str) -> int | None:
        """The lookups the module's deletions cleared when it was settled ahead (None: it was not)."""
        return self._cleared.pop(module, None)
