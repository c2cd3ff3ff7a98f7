"""A file target's modules read into memory ahead of their rewrite, while the run waits for Zoho.

An incremental run into a Parquet or CSV directory rewrites each changed module's file whole: it reads the
file as it stands, leaves out the rows the delta replaces or deletes, and writes the rest with the delta.
Reading the old file is the larger part of that work, and it needs nothing from the source: so as soon as
a module is known to change (its read has brought rows, or its deletions are settled), the target reads its
file in a background thread, while the run still waits for other answers, and the module's turn takes
the rows from memory. Within a budget: a file too large for it is read at its turn, in chunks, as
before. The rows are kept with the file's identity (inode, mtime, size) and the schema they were read
with; anything else found at the turn (the file replaced, the schema changed) reads the file again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

log = logging.getLogger("connector.sync")

#: bytes of rows (Arrow's in-memory size) read ahead and not yet taken, at most
BUDGET_BYTES = 256 << 20
#: what a file's rows are taken to weigh in memory before they are read, per byte on disk
EXPANSION = {"parquet": 6, "csv": 2}

Stamp = tuple[int, int, int]


def stamp_of(path: Path) -> Stamp | None:
    """The file's identity: a rename over it (a new generation) or a write to it changes it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass
class _Read:
    stamp: Stamp
    schema: pa.Schema | None
    weight: int  # the estimate until read, then the rows' own size
    rows: Future[pa.Table | None]


class Preread:
    """Modules' rows read ahead (:meth:`start`), taken by their turn (:meth:`rows`) and let go on commit
    (:meth:`drop`). Thread-safe; one reading thread, in the order asked."""

    def __init__(self, kind: str, budget: int = BUDGET_BYTES) -> None:
        self.expansion = EXPANSION.get(kind, 2)
        self.budget = budget
        self._lock = threading.Lock()
        self._reads: dict[str, _Read] = {}
        self._held = 0
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        #: modules whose reads were started; reads served from memory (a module's turn, or some columns); turns
        #: that found their module's read still queued behind others' and read the file themselves
        self.started: list[str] = []
        self.served = 0
        self.skipped = 0

    def start(self, module: str, path: Path, schema: pa.Schema | None,
              read: Callable[[], Iterator[pa.Table]]) -> bool:
        """Read ``module``'s file (``read``: its chunks, as a turn would read them) in the background, unless
        it is read already, absent, or over the budget. Whether a read is (now) under way or done."""
        stamp = stamp_of(path)
        if stamp is None:
            return False
        weight = stamp[2] * self.expansion
        with self._lock:
            got = self._reads.get(module)
            if got is not None and got.stamp == stamp and _same(got.schema, schema):
                return True
            if self._closed or self._held + weight - (got.weight if got else 0) > self.budget:
                return False
            if got is not None:
                self._forget(module)
            entry = _Read(stamp, schema, weight, Future())
            self._reads[module] = entry
            self._held += weight
            self.started.append(module)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="zoho-preread")
            pool = self._pool
        pool.submit(copy_context().run, self._read, module, entry, read)
        return True

    def _read(self, module: str, entry: _Read, read: Callable[[], Iterator[pa.Table]]) -> None:
        if not entry.rows.set_running_or_notify_cancel():
            return
        try:
            parts = list(read())
            table = pa.concat_tables(parts) if parts else None
        except Exception as exc:  # noqa: BLE001 - the turn reads the file itself and reports what it finds
            log.debug("%s: not read ahead (%s)", module, exc)
            table = None
        with self._lock:
            if self._reads.get(module) is entry:  # not dropped meanwhile: weigh it as it is
                self._held += (table.nbytes if table is not None else 0) - entry.weight
                entry.weight = table.nbytes if table is not None else 0
        entry.rows.set_result(table)

    def rows(self, module: str, path: Path, schema: pa.Schema | None, wait: bool) -> pa.Table | None:
        """The module's rows as read ahead, if that read is of the file as it is now and with ``schema``;
        ``wait``: for a read still under way (else None for it). None: read the file."""
        with self._lock:
            got = self._reads.get(module)
        if got is None or not _same(got.schema, schema) or (not wait and not got.rows.done()):
            return None
        if got.rows.cancel():  # still queued behind other modules' reads: the caller reads it sooner itself
            with self._lock:
                self._forget(module)
                self.skipped += 1
            return None
        try:
            table = got.rows.result()
        except CancelledError:  # dropped before it ran
            return None
        if table is None or stamp_of(path) != got.stamp:
            return None
        with self._lock:
            self.served += 1
        return table

    def drop(self, module: str) -> None:
        """Let go of the module's rows (its file was replaced, or its turn is over)."""
        with self._lock:
            self._forget(module)

    def _forget(self, module: str) -> None:
        got = self._reads.pop(module, None)
        if got is not None:
            self._held -= got.weight
            got.rows.cancel()

    def close(self) -> None:
        """Drop every read; a read under way ends by itself, unused."""
        with self._lock:
            self._closed = True
            for module in list(self._reads):
                self._forget(module)
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    @property
    def held(self) -> int:
        """Bytes of rows read ahead and not let go (an estimate for reads under way)."""
        with self._lock:
            return self._held


def _same(a: pa.Schema | None, b: pa.Schema | None) -> bool:
    return a is b or (a is not None and b is not None and a.equals(b, check_metadata=True))
