"""What a 200,000-row Bulk Read page costs the emulator, relative to ``pyarrow.csv.write_csv``.

A measurement, not a test: it prints a table and writes ``benchmarks/results/emulator_bulk.json``
and never fails on a time. The goal (issue 3) is that producing a page costs at most 2x
``pyarrow.csv.write_csv`` of the same rows, measured in the same run.

    python benchmarks/emulator_bulk.py [--rows 200000] [--runs 3] [--module Leads]

"produce" is exactly what a job's background thread does: the page query (every cell formatted
in SQL: offsets, ``;`` lists, plain numbers), then the CSV written into the result zip. It is
timed with the emulator's default zip (stored) and with deflate level 1 (``bulk_zip_level``),
whose CPU cost alone is about twice ``write_csv`` on this kind of text. The baseline is
``pyarrow.csv.write_csv`` of the produced Arrow table into memory. Figures are medians.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from _common import save  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.emulator import schema
from connector.emulator.app import App
from connector.emulator.bulk_read import page_table
from connector.emulator.csv_format import write_zipped_csv
from connector.emulator.settings import Settings


def run(rows: int, runs: int, module: str) -> dict[str, Any]:
    m = schema.module(module)
    if m is None:
        raise SystemExit(f"unknown module {module!r}")
    t0 = time.perf_counter()
    # Small neighbours keep generation quick; the module under test gets exactly ``rows`` records.
    app = App(Settings(records=2_000, seed=42, sizes={module: rows}))
    generate_s = time.perf_counter() - t0
    columns = [("id", ["id"])] + [(f.api_name, [f.api_name]) for f in m.fields
                                  if f.data_type not in schema.NOT_EXPORTED_TYPES]
    times: dict[str, list[float]] = {"query": [], "produce_stored": [], "produce_deflate1": [], "write_csv": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for level, key in ((0, "produce_stored"), (1, "produce_deflate1")):
                start = time.perf_counter()
                table, _more = page_table(app, m, columns, None, 1, None, 200_000)
                queried = time.perf_counter()
                csv_bytes = write_zipped_csv(table, Path(tmp) / f"page{level}.zip", "page.csv", level=level)
                done = time.perf_counter()
                times[key].append(done - start)
                if level == 0:
                    times["query"].append(queried - start)
                sizes[key] = (Path(tmp) / f"page{level}.zip").stat().st_size
                sizes["csv"] = csv_bytes
            start = time.perf_counter()
            buf = io.BytesIO()
            pacsv.write_csv(table, buf)
            times["write_csv"].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "benchmark": "emulator_bulk",
        "module": module, "rows": table.num_rows, "columns": len(columns), "runs": runs,
        "generate_org_s": round(generate_s, 3),
        "median_s": {k: round(v, 4) for k, v in med.items()},
        "ratio_vs_write_csv": {k: round(med[k] / med["write_csv"], 2) for k in ("produce_stored", "produce_deflate1")},
        "goal_ratio": 2.0,
        "bytes": sizes,
        "cpus": os.cpu_count(),
        "python": platform.python_version(), "duckdb": duckdb.__version__, "pyarrow": pa.__version__,
        "platform": platform.platform(), "machine": platform.machine(),
    }


def print_table(report: dict[str, Any]) -> None:
    med, ratio = report["median_s"], report["ratio_vs_write_csv"]
    print(f"{report['module']}: {report['rows']:,} rows x {report['columns']} columns, "
          f"CSV {report['bytes']['csv'] / 1e6:.1f} MB, {report['cpus']} CPUs, median of {report['runs']}")
    print(f"{'step':<34}{'seconds':>10}{'x write_csv':>14}")
    print(f"{'pyarrow.csv.write_csv (baseline)':<34}{med['write_csv']:>10.3f}{1.0:>14.2f}")
    print(f"{'page query only':<34}{med['query']:>10.3f}{med['query'] / med['write_csv']:>14.2f}")
    print(f"{'produce page, stored zip (default)':<34}{med['produce_stored']:>10.3f}{ratio['produce_stored']:>14.2f}")
    print(f"{'produce page, deflate level 1':<34}{med['produce_deflate1']:>10.3f}{ratio['produce_deflate1']:>14.2f}")
    print(f"goal: <= {report['goal_ratio']}x   zip sizes: stored {report['bytes']['produce_stored'] / 1e6:.1f} MB, "
          f"deflate {report['bytes']['produce_deflate1'] / 1e6:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="records of the module (default 200,000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--module", default="Leads", help="module to export (default Leads, the widest)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "emulator_bulk.json")
    args = parser.parse_args(argv)
    report = run(args.rows, args.runs, args.module)
    print_table(report)
    save(report, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
