"""How long this connection's calls take to come back: a moving average the planner prices time with.

Zoho answers in a few hundred milliseconds where the emulator on loopback answers in one or two;
what a read costs in time (calls x latency / the calls that can be in flight) follows that, so the
planner asks the connection rather than assuming (:mod:`connector.planning.timing`).
"""

from __future__ import annotations

import threading

#: weight of the newest call: about the last ten calls count
ALPHA = 0.2


class Latency:
    """Exponential moving average of call round trips (send to the whole answer read), in seconds."""

    def __init__(self, alpha: float = ALPHA) -> None:
        self.alpha = alpha
        self._seconds: float | None = None
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            prev = self._seconds
            self._seconds = seconds if prev is None else prev + self.alpha * (seconds - prev)

    @property
    def seconds(self) -> float:
        """The average so far (0.0 before the first answer: nothing is known to be slow)."""
        return self._seconds or 0.0
