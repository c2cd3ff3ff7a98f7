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
    """MaxConcurrency slots for every call, and min(MaxConcurrency, 10) for heavy ones."""

    def __init__(self, max_concurrency: int) -> None:
        self.limit = max_concurrency
        self.heavy_limit = min(max_concurrency, HEAVY_LIMIT)
        self._all = threading.BoundedSemaphore(self.limit)
        self._heavy = threading.BoundedSemaphore(self.heavy_limit)

    @contextmanager
    def held(self, heavy: bool) -> Iterator[None]:
        if heavy:
            with self._heavy, self._all:
                yield
        else:
            with self._all:
                yield
