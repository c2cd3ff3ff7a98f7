"""Zoho's API limits: rolling 24-hour credits, concurrency, sub-concurrency, download rate.

limits-and-errors.md sections 1-4. Over any limit the call gets HTTP 429
``TOO_MANY_REQUESTS`` at once (Zoho does not queue). Once half the credits are
used, responses carry ``X-API-CREDITS-REMAINING``.

Credits are per org (one emulator = one org) in a rolling 24-hour window of the
virtual clock: each call's credits come back 24 h after the call. Concurrency is
counted per OAuth client; heavy calls (sort_by/cvid lists, COQL, big batch
writes...) also count against the sub-concurrency limit of 10.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from .clock import VirtualClock
from .zoho_errors import ZohoError

WINDOW_S = 86_400
TOO_MANY = ("Number of API requests for the 24 hour period is exceeded or the concurrency limit of the "
            "user for the app is exceeded.")


def too_many_requests(details: dict[str, object] | None = None) -> ZohoError:
    return ZohoError(429, "TOO_MANY_REQUESTS", TOO_MANY, details or {})


class Limits:
    def __init__(self, clock: VirtualClock, credits: int, concurrency: int, sub_concurrency: int,
                 downloads_per_minute: int) -> None:
        self.clock = clock
        self.budget = credits
        self.concurrency = concurrency
        self.sub_concurrency = sub_concurrency
        self.downloads_per_minute = downloads_per_minute
        self._lock = threading.Lock()
        self._spent: deque[tuple[float, int]] = deque()
        self._spent_total = 0
        self.credits_used = 0
        self._inflight: dict[str, int] = defaultdict(int)
        self._inflight_heavy: dict[str, int] = defaultdict(int)
        self._downloads: deque[float] = deque()
        self.rejected = 0
        #: the most calls (and heavy calls) seen in flight at once per client since the last
        #: ``reset_peaks``: benchmarks and tests show with it that a client stayed within the limits
        self._peak: dict[str, int] = defaultdict(int)
        self._peak_heavy: dict[str, int] = defaultdict(int)
        #: calls admitted into a concurrency slot, and how many of them were heavy
        self.admitted = 0
        self.admitted_heavy = 0

    # -- credits ----------------------------------------------------------------------

    def _expire(self) -> None:
        cutoff = self.clock.time() - WINDOW_S
        while self._spent and self._spent[0][0] <= cutoff:
            self._spent_total -= self._spent.popleft()[1]

    def remaining(self) -> int:
        with self._lock:
            self._expire()
            return max(0, self.budget - self._spent_total)

    def check_credits(self, needed: int = 1) -> None:
        if self.remaining() < needed:
            self._reject()
            raise too_many_requests()

    def _reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def charge(self, credits: int) -> None:
        if credits <= 0:
            return
        with self._lock:
            self._spent.append((self.clock.time(), credits))
            self._spent_total += credits
            self.credits_used += credits

    def headers(self) -> dict[str, str]:
        # Sent once >= 50% of the budget is used (v4+ docs); no X-RateLimit-* headers in v8.
        rem = self.remaining()
        if rem <= self.budget / 2:
            return {"X-API-CREDITS-REMAINING": str(rem)}
        return {}

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()
            self._spent_total = 0
            self.credits_used = 0
            self._downloads.clear()
            self._peak.clear()
            self._peak_heavy.clear()
            self.admitted = self.admitted_heavy = 0

    # -- concurrency ------------------------------------------------------------------

    def enter(self, client_id: str, heavy: bool) -> None:
        with self._lock:
            if self._inflight[client_id] >= self.concurrency or (
                    heavy and self._inflight_heavy[client_id] >= self.sub_concurrency):
                self.rejected += 1
                raise too_many_requests()  # not queued: the extra call fails at once
            self._inflight[client_id] += 1
            self.admitted += 1
            self.admitted_heavy += heavy
            self._peak[client_id] = max(self._peak[client_id], self._inflight[client_id])
            if heavy:
                self._inflight_heavy[client_id] += 1
                self._peak_heavy[client_id] = max(self._peak_heavy[client_id], self._inflight_heavy[client_id])

    def leave(self, client_id: str, heavy: bool) -> None:
        with self._lock:
            self._inflight[client_id] -= 1
            if heavy:
                self._inflight_heavy[client_id] -= 1

    def peaks(self) -> dict[str, object]:
        """The limits and the peak in-flight calls per client (all calls, heavy calls) since the last reset."""
        with self._lock:
            peak, heavy = dict(self._peak), dict(self._peak_heavy)
        return {"limit": self.concurrency, "sub_limit": self.sub_concurrency,
                "peak": max(peak.values(), default=0), "peak_heavy": max(heavy.values(), default=0),
                "peak_per_client": peak, "peak_heavy_per_client": heavy,
                "admitted": self.admitted, "admitted_heavy": self.admitted_heavy}

    def reset_peaks(self) -> None:
        with self._lock:
            self._peak.clear()
            self._peak_heavy.clear()

    def in_flight(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self._inflight.items() if v}

    # -- bulk downloads -----------------------------------------------------------------

    def check_download(self) -> None:
        now = self.clock.time()
        with self._lock:
            while self._downloads and self._downloads[0] < now - 60:
                self._downloads.popleft()
            if len(self._downloads) >= self.downloads_per_minute:
                self.rejected += 1
                raise ZohoError(429, "TOO_MANY_REQUESTS",
                                "download limit of 10 per minute reached; try again after a minute", {})
            self._downloads.append(now)
