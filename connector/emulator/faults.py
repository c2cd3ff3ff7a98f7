"""Seeded, reproducible fault injection, and what each fault looks like on the wire.

Each API call (accounts server included, ``/__emulator/`` never) gets a sequence
number; whether it fails, and how, is a pure function of (seed, sequence
number, fault rate, kinds), so the same sequence of calls against a fresh
instance fails the same way every run. Changing the configuration at run time
restarts the sequence, so "configure, then call" is reproducible too.

The kinds are the failures a connector must survive (limits-and-errors.md sections
5 and 8): Zoho's 500 envelope, a gateway's HTML 502, a plain-text 503, a 429, an
HTTP 200 carrying an error body, a connection closed without an answer, a slow
answer, and ``drop_after``: the handler ran (a write landed) but the answer is lost.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

from .http import Response
from .limits import too_many_requests
from .settings import LATE_FAULT_KINDS
from .zoho_errors import ZohoError

#: sentinel a handler pipeline returns to make the server close the connection without answering
DROP = object()


@dataclass(frozen=True)
class Fault:
    kind: str

    @property
    def late(self) -> bool:
        """Happens after the handler ran (the write landed but the answer is lost)."""
        return self.kind in LATE_FAULT_KINDS


class FaultInjector:
    def __init__(self, seed: int, rate: float, kinds: tuple[str, ...], slow_ms: float = 2000.0) -> None:
        self.seed = seed
        self.rate = rate
        self.kinds = tuple(kinds)
        #: how long a "slow" answer is held back before it is sent normally
        self.slow_ms = slow_ms
        self._seq = 0
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def configure(self, rate: float | None = None, kinds: tuple[str, ...] | None = None,
                  slow_ms: float | None = None) -> None:
        """Change the mix; the call sequence starts over so the next calls are reproducible."""
        with self._lock:
            if rate is not None:
                self.rate = rate
            if kinds is not None:
                self.kinds = tuple(kinds)
            if slow_ms is not None:
                self.slow_ms = slow_ms
            self._seq = 0

    def draw(self) -> Fault | None:
        with self._lock:
            self._seq += 1
            seq = self._seq
            rate, kinds = self.rate, self.kinds
        if rate <= 0 or not kinds:
            return None
        # One generator per call number: the outcome of call n does not depend on how many
        # random numbers earlier calls consumed, nor on threads interleaving.
        rnd = random.Random(f"{self.seed}:{seq}")
        if rnd.random() >= rate:
            return None
        kind = kinds[rnd.randrange(len(kinds))]
        with self._lock:
            self.injected[kind] += 1
        return Fault(kind)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)

    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()

    def early_response(self, fault: Fault, route_kind: str) -> Response | object | None:
        """What the client gets instead of the real answer; None = go on and answer normally."""
        k = fault.kind
        if k == "slow":
            time.sleep(self.slow_ms / 1000.0)
            return None
        if k == "drop":
            return DROP
        if fault.late:
            return None
        if route_kind == "accounts":
            return _accounts_fault(k)
        return _crm_fault(k)


def _crm_fault(kind: str) -> Response:
    if kind == "500":
        e = ZohoError(500, "INTERNAL_ERROR", "Internal server error occurred.", {})
        return Response.json(e.body(), 500)
    if kind == "502":
        # What the load balancer in front of Zoho sends: HTML, not the JSON envelope.
        return Response(502, b"<html><head><title>502 Bad Gateway</title></head><body><center>"
                        b"<h1>502 Bad Gateway</h1></center></body></html>", {"Content-Type": "text/html"})
    if kind == "503":
        return Response(503, b"Service Unavailable", {"Content-Type": "text/plain"})
    if kind == "429":
        return Response.json(too_many_requests().body(), 429)
    # error200: success status, error body (limits-and-errors.md section 8).
    e = ZohoError(200, "INTERNAL_ERROR", "Internal server error occurred.", {})
    return Response.json(e.body(), 200)


def _accounts_fault(kind: str) -> Response:
    """Zoho Accounts fails too; its failures are not CRM envelopes."""
    if kind in ("429", "error200"):
        # The accounts server throttles with its own body; 429 is sent as the integrators report
        # it (HTTP 400), error200 as an HTTP 200 with the same body (oauth-and-regions.md section 6).
        status = 400 if kind == "429" else 200
        return Response.json({"error_description": "You have made too many requests continuously. "
                              "Please try again after some time.", "error": "Access Denied",
                              "status": "failure"}, status)
    if kind == "502":
        return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})
    status = 503 if kind == "503" else 500
    return Response(status, b"Service temporarily unavailable", {"Content-Type": "text/plain"})
