"""How long this connection's calls take to come back: the typical round trip the planner prices time with.

Zoho answers in a few hundred milliseconds where the emulator on loopback answers in one or two;
what a read costs in time (calls x latency / the calls that can be in flight) follows that, so the
planner asks the connection rather than assuming (:mod:`connector.planning.timing`).

The figure is the median of the last :data:`WINDOW` calls, the lower of the two middle ones when their
number is even. A mean would let one stalled call (a connection's first, which carries its TCP and TLS
handshakes; a call that waited on a busy machine; a retried one) price every read after it as slow and
turn a plan to another API for a gain that is not there; the median moves only when most calls do.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

#: how many of the latest calls the figure is taken from
WINDOW = 15


def typical(seconds: Iterable[float]) -> float:
    """The lower median of ``seconds`` (0.0 for none: nothing is known to be slow)."""
    ordered = sorted(seconds)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0.0


class Latency:
    """The lower median of this connection's latest call round trips (send to the whole answer read)."""

    def __init__(self, window: int = WINDOW) -> None:
        self._recent: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._recent.append(seconds)

    @property
    def seconds(self) -> float:
        """The typical call so far, in seconds (0.0 before the first answer)."""
        with self._lock:
            return typical(self._recent)
