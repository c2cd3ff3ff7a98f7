"""Which calls count against Zoho's sub-concurrency limit, and the slots that keep a connection within it.

Zoho counts concurrent calls per org per OAuth client (limits-and-errors.md
section 3): 5 to 25 by edition, and at most **10** of the resource-heavy kinds
at once whatever the edition — GET records with ``cvid`` or ``sort_by``, COQL,
inserts/updates/upserts of more than 10 records, lead conversion, send mail,
composite calls. A call past either limit is refused with a 429 at once, not
queued, so the connection queues them itself: every call takes one of
MaxConcurrency slots, a heavy call first one of the (at most 10) heavy slots.
Heavy slots are taken before the general ones, always in that order, so two
threads can never hold one each and wait for the other.
"""

from __future__ import annotations

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


class Slots:
    """MaxConcurrency slots for every call, and min(MaxConcurrency, 10) for heavy ones; a call takes both at once
    (never one while waiting for the other).

    Metadata first: a slot that frees goes to a waiting metadata call (the module list, fields, users)
    before any other, since every read waits for the metadata it needs while a count, a deletion log or a
    page asked beside it waits for nothing of its own. So the metadata a run or a statement starts with is
    answered in the first round trip even when the calls asked beside it outnumber the slots.
    """

    def __init__(self, max_concurrency: int) -> None:
        self.limit = max_concurrency
        self.heavy_limit = min(max_concurrency, HEAVY_LIMIT)
        self._cond = threading.Condition(threading.Lock())
        self._busy = 0
        self._heavy_busy = 0
        self._first_waiting = 0  # metadata calls waiting for a slot

    def _free(self, heavy: bool, first: bool) -> bool:
        if heavy and self._heavy_busy >= self.heavy_limit:
            return False
        # the others leave a slot to each waiting metadata call (which is never heavy)
        return self._busy + (0 if first else self._first_waiting) < self.limit

    @contextmanager
    def held(self, heavy: bool, first: bool = False) -> Iterator[None]:
        """A slot for one call (``heavy``: a heavy one too); ``first``: a metadata call, served before others."""
        with self._cond:
            if first:
                self._first_waiting += 1
            try:
                while not self._free(heavy, first):
                    self._cond.wait()
            except BaseException:
                self._cond.notify_all()  # (an interrupt while waiting) its reserved slot goes to the others
                raise
            finally:
                if first:
                    self._first_waiting -= 1
            self._busy += 1
            self._heavy_busy += heavy
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._heavy_busy -= heavy
                self._cond.notify_all()

    @property
    def in_use(self) -> tuple[int, int]:
        """(calls, heavy calls) holding a slot now."""
        with self._cond:
            return self._busy, self._heavy_busy
