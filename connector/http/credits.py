"""API credit accounting (limits-and-errors.md section 2).

Zoho meters credits, not requests. The connector estimates what each call
costs from the documented table, sums it per connection and per operation, and
reads ``X-API-CREDITS-REMAINING`` when Zoho sends it (only once half the
org's credits are used).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: what the calls made in this context are for (a migration's module), so that work done for several
#: modules at once (a read ahead, a module written) still adds up per module
_CHARGED_TO: ContextVar[str | None] = ContextVar("zohocrm_charged_to", default=None)


@contextmanager
def charging(tag: str) -> Iterator[None]:
    """Credits of the calls made inside (in this thread, or a thread started with its context) count for ``tag``."""
    token = _CHARGED_TO.set(tag)
    try:
        yield
    finally:
        _CHARGED_TO.reset(token)

_COUNT_RE = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


def coql_credits(query: str) -> int:
    """1 for LIMIT <= 200 (the default), 2 up to 1,000, 3 up to 2,000."""
    m = _COUNT_RE.search(query or "")
    limit = 200
    if m:
        limit = int(m.group(2) or m.group(1))
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


def estimate_credits(method: str, path: str, params: dict[str, Any] | None = None,
                     body: Any = None) -> int:
    """Credits a call costs, from its method, path (after /crm/vN or /crm/bulk/vN) and body."""
    p = path.rstrip("/")
    if "/oauth/" in p:
        return 0  # accounts server calls are not metered in CRM credits
    if "/crm/bulk/" in p:
        if method == "POST" and p.endswith("/read"):
            return 50
        if method == "POST" and p.endswith("/write"):
            return 500
        return 1
    if p.endswith("/coql") and method == "POST":
        return coql_credits((body or {}).get("select_query", "") if isinstance(body, dict) else "")
    if p.endswith("/deleted"):
        return 2
    if (params or {}).get("cvid") and method == "GET":
        return 3
    if method in ("POST", "PUT") and isinstance(body, dict) and isinstance(body.get("data"), list):
        return max(1, math.ceil(len(body["data"]) / 10))
    return 1


class CreditMeter:
    """Running totals of credits per connection, split by operation kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.calls = 0
        self.by_kind: dict[str, int] = {}
        #: credits per :func:`charging` tag
        self.by_tag: dict[str, int] = {}
        #: last X-API-CREDITS-REMAINING Zoho sent (None until it sends one)
        self.remaining: int | None = None

    def add(self, kind: str, credits: int, remaining_header: str | None = None) -> None:
        with self._lock:
            self.total += credits
            self.calls += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + credits
            tag = _CHARGED_TO.get()
            if tag is not None:
                self.by_tag[tag] = self.by_tag.get(tag, 0) + credits
            if remaining_header is not None:
                try:
                    self.remaining = int(remaining_header)
                except ValueError:
                    pass

    def charged(self, tag: str) -> int:
        """Credits of the calls made for ``tag`` (see :func:`charging`)."""
        with self._lock:
            return self.by_tag.get(tag, 0)

    def tags(self) -> dict[str, int]:
        """Credits per :func:`charging` tag so far (a copy)."""
        with self._lock:
            return dict(self.by_tag)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"credits": self.total, "calls": self.calls, "by_kind": dict(self.by_kind),
                    "remaining": self.remaining}
