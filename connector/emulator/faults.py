"""Seeded, reproducible fault injection.

Each API call gets a sequence number; whether it fails, and how, is a pure
function of (seed, sequence number, fault rate, kinds), so the same sequence of
calls against a fresh instance fails the same way every run.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from .settings import LATE_FAULT_KINDS


@dataclass(frozen=True)
class Fault:
    kind: str

    @property
    def late(self) -> bool:
        """Happens after the handler ran (the write landed but the answer is lost)."""
        return self.kind in LATE_FAULT_KINDS


class FaultInjector:
    def __init__(self, seed: int, rate: float, kinds: tuple[str, ...]) -> None:
        self.seed = seed
        self.rate = rate
        self.kinds = tuple(kinds)
        self._seq = 0
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def configure(self, rate: float | None = None, kinds: tuple[str, ...] | None = None) -> None:
        with self._lock:
            if rate is not None:
                self.rate = rate
            if kinds is not None:
                self.kinds = tuple(kinds)
            self._seq = 0

    def draw(self) -> Fault | None:
        with self._lock:
            self._seq += 1
            seq = self._seq
            rate, kinds = self.rate, self.kinds
        if rate <= 0 or not kinds:
            return None
        rnd = random.Random(f"{self.seed}:{seq}")
        if rnd.random() >= rate:
            return None
        kind = kinds[rnd.randrange(len(kinds))]
        with self._lock:
            self.injected[kind] += 1
        return Fault(kind)
