"""What every benchmark shares: micro-timing with a warm-up, its table columns, the command line, the JSON result.

Benchmarks are measurements, not tests: they print a table, write
``benchmarks/results/<name>.json`` and never fail on a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WARMUP_RUNS = 5
RESULTS_DIR = Path(__file__).parent / "results"


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


def timing_header() -> str:
    """The column titles matching :func:`timing_cells`."""
    return f"{'median µs':>10} {'p90 µs':>10} {'min µs':>10}"


def timing_cells(figures: dict[str, float]) -> str:
    """One row's figures from :func:`time_us`, aligned under :func:`timing_header`."""
    return f"{figures['median_us']:>10.1f} {figures['p90_us']:>10.1f} {figures['min_us']:>10.1f}"


def micro_main(doc: str | None, name: str, default_runs: int, unit: str, run: Callable[[int], dict[str, Any]],
               print_table: Callable[[dict[str, Any]], None], argv: list[str] | None = None) -> int:
    """A micro-benchmark's command line: ``--runs`` (timed runs per ``unit``) and ``--output``
    (default ``results/<name>.json``); runs it, prints its table and saves its report."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=default_runs,
                        help=f"timed runs per {unit} (default {default_runs})")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / f"{name}.json")
    args = parser.parse_args(argv)
    report = run(max(1, args.runs))
    print_table(report)
    save(report, args.output)
    return 0


def start_emulator(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``zohocrm emulator ARGS`` as a process of its own (its CPU and memory are not the measured client's),
    and the JSON line it prints when ready."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "emulator", *args], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def leads_without_external_ref(source: Any, rows: int) -> Any:
    """The first ``rows`` Leads of a sync source, ``External_Ref`` emptied: it is unique, and an empty
    org's sample leads hold the first values, so a copy written into one would be refused as duplicates.
    The record photo's columns are emptied too: the copy is a table without the source's ``_files``
    folder, so every photo would be reported missing (a failed row) rather than uploaded."""
    import pyarrow as pa

    cleared = ("External_Ref", "Record_Image", "Record_Image_Path", "Record_Image_Size", "Record_Image_SHA256")
    left = rows
    for b in source.read("Leads"):
        if left <= 0:
            return
        b = b.slice(0, left)
        for name in cleared:
            i = b.schema.get_field_index(name)
            if i >= 0:
                b = b.set_column(i, name, pa.nulls(b.num_rows, b.schema.field(i).type))
        yield b
        left -= b.num_rows
