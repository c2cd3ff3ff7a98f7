"""Which calls count against Zoho's sub-concurrency limit, and the slots that keep a connection within it.

Zoho counts concurrent calls per org per OAuth client (limits-and-errors.md
section 3): 5 to 25 by edition, and at most **10** of the resource-heavy kinds
at once whatever the edition — GET records with ``cvid`` or ``sort_by``, COQL,
inserts/updates/upserts of more than 10 records, lead conversion, send mail,
composite calls. A call past either limit is refused with a 429 at once, not
queued, so the connection queues them itself: every call takes one of
MaxConcurrency slots, a heavy call one of the (at most 10) heavy slots too.
A call takes both at once, under one lock, so two threads can never hold one
each and wait for the other.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

#: Zoho's sub-concurrency for heavy calls, the same on every edition
HEAVY_LIMIT = 10
#: a write of more than this many records is heavy
HEAVY_WRITE_RECORDS = 10

_HEAVY_PATH_ENDS = ("/coql", "/actions/convert", "/actions/send_mail", "/__composite_requests")


def is_heavy(method: str, url: str, params: dict[str, Any] | None, json: Any) -> bool:
    """Whether Zoho counts this call against the sub-concurrency limit of 10."""
    path = urlsplit(url).path.rstrip("/")
    if "/crm/bulk/" in path:
        return False  # bulk jobs are limited by their own queue, not by sub-concurrency
    if path.endswith(_HEAVY_PATH_ENDS):
        return True
    if method == "GET":
        return bool(params) and any(params.get(k) is not None for k in ("sort_by", "cvid"))  # type: ignore[union-attr]
    if method in ("POST", "PUT", "PATCH") and isinstance(json, dict):
        data = json.get("data")
        return isinstance(data, list) and len(data) > HEAVY_WRITE_RECORDS
    return False


class _Waiter:
    """One call waiting for a slot: its place in the queue and whether a slot was handed to it."""

    __slots__ = ("key", "heavy", "granted", "event")

    def __init__(self, key: tuple[int, int], heavy: bool) -> None:
        self.key, self.heavy, self.granted, self.event = key, heavy, False, threading.Event()


class Slots:
    """MaxConcurrency slots for every call, and min(MaxConcurrency, 10) for heavy ones; a call takes both at once
    (never one while waiting for the other).

    A call that cannot have its slots at once waits in a queue, and a slot that frees is handed to the first
    waiting call that can use it, in this order:

    * metadata first (the module list, fields, users): every read waits for the metadata it needs, while a
      count, a deletion log or a page asked beside it waits for nothing of its own, so the metadata a run or a
      statement starts with is answered in the first round trip even when the calls asked beside it outnumber
      the slots;
    * then calls that finish work under way (``finishing``: the file downloads of rows already read, which the
      rows' module waits for before it commits, holding them meanwhile) before calls that start more of it
      (the next module's pages read ahead);
    * then in the order the calls came.

    A heavy call that waits for a heavy slot does not hold back a light call behind it when a general slot is
    free. Slots are handed over in that fixed order, not to whichever waiting thread happens to run first: no
    call waits behind ones that came after it, and a freed slot wakes only the call it goes to.
    """

    def __init__(self, max_concurrency: int) -> None:
        self.limit = max_concurrency
        self.heavy_limit = min(max_concurrency, HEAVY_LIMIT)
        self._lock = threading.Lock()
        self._busy = 0
        self._heavy_busy = 0
        self._queue: list[_Waiter] = []  # by key: (rank: 0 metadata, 1 finishing, 2 the others; arrival)
        self._arrivals = itertools.count()

    def _fits(self, heavy: bool) -> bool:
        return self._busy < self.limit and not (heavy and self._heavy_busy >= self.heavy_limit)

    def _hand_over(self) -> None:
        """Give the free slots to the waiting calls, first in the queue first (under ``_lock``)."""
        i = 0
        while i < len(self._queue) and self._busy < self.limit:
            w = self._queue[i]
            if not self._fits(w.heavy):
                i += 1  # no heavy slot: a light call behind it may take the general one
                continue
            del self._queue[i]
            self._busy += 1
            self._heavy_busy += w.heavy
            w.granted = True
            w.event.set()

    def _release(self, heavy: bool) -> None:
        with self._lock:
            self._busy -= 1
            self._heavy_busy -= heavy
            self._hand_over()

    @contextmanager
    def held(self, heavy: bool, first: bool = False, finishing: bool = False) -> Iterator[None]:
        """A slot for one call (``heavy``: a heavy one too); ``first``: a metadata call, served before others;
        ``finishing``: a call that finishes work under way (a file download), served before the rest."""
        waiter = None
        try:
            with self._lock:
                if not self._queue and self._fits(heavy):
                    self._busy += 1
                    self._heavy_busy += heavy
                else:
                    waiter = _Waiter((0 if first else 1 if finishing else 2, next(self._arrivals)), heavy)
                    bisect.insort(self._queue, waiter, key=lambda w: w.key)
                    self._hand_over()
            if waiter is not None:
                waiter.event.wait()
        except BaseException:  # (an interrupt while waiting) its place, or the slot just handed to it, goes
            if waiter is not None:
                with self._lock:
                    if waiter in self._queue:  # not handed a slot, and now none will be
                        self._queue.remove(waiter)
                if waiter.granted:
                    self._release(heavy)
            raise
        try:
            yield
        finally:
            self._release(heavy)

    @property
    def in_use(self) -> tuple[int, int]:
        """(calls, heavy calls) holding a slot now."""
        with self._lock:
            return self._busy, self._heavy_busy

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now."""
        with self._lock:
            return len(self._queue)
