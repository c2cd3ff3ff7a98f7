"""What every benchmark shares: micro-timing with a warm-up, and writing the JSON result.

Benchmarks are measurements, not tests: they print a table, write
``benchmarks/results/<name>.json`` and never fail on a time.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WARMUP_RUNS = 5


def time_us(operation: Callable[[], object], runs: int, warmup: int = WARMUP_RUNS) -> dict[str, float]:
    """Median, p90 and min of ``runs`` calls, in microseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        operation()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        operation()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples), 1),
        "p90_us": round(samples[min(len(samples) - 1, int(len(samples) * 0.9))], 1),
        "min_us": round(samples[0], 1),
    }


def save(report: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {output}", file=sys.stderr)
