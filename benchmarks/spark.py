"""A Bulk read through Spark local[2] against the same read in one process (goal: >= 0.8x rows/s, credits <= 1.1x).

A measurement, not a test: it prints a table, writes ``benchmarks/results/spark.json`` and
never fails on a time. One emulated org of ``--records`` records holds Leads (the module read);
in the same run it reads Leads:

* single process: ``BulkReader`` (Bulk Read jobs, CSV pages decoded to Arrow), rows counted;
* Spark: ``spark.read.format("zohocrm").option("api", "Bulk")`` with ``--partitions`` slices
  (Created_Time ranges of whole pages), counted with ``df.count()`` — every slice's rows (all
  columns: Python data sources take no projection) cross into the JVM.

The single-process read runs before the first Spark read and after each one (the Spark session
waits meanwhile), so a machine shared with other work, or a slower minute, loads both sides alike;
the ratio is the median rate of the Spark reads after the first against the median of the single
reads (each read's rate and the load average as it ended are recorded; on this 2-core machine one
read's time varies by some 10% from one minute to the next). Start-up is timed and reported apart, in two parts: the JVM (``SparkSession``
creation and the source's registration) and Spark's Python workers, which a session starts on
its first read of a Python data source (one process for the schema, one for the plan, one per
task slot; reused by every later read, ``spark.python.worker.reuse``): two reads of the 7-row
``_Users`` table at once, one on each of local[2]'s task slots, start them. ``--cold`` leaves that read out, so the timed read is the
session's first and pays for them. The module is then read ``--reads`` times (default 3) on the
session: the first large read also pays for the JVM compiling its Arrow-to-row path (its first
seconds run interpreted), so the ratio compares the later ones, a running session's steady state, and
the first is reported beside it. Credits are the emulator's meter before and after each read.

``--bulk-rows-per-s`` sets how fast the emulated org's bulk jobs run (default 200,000 rows a second:
a page's job takes 1 s, less than building its CSV takes here, so both reads are bound by this
machine's two cores, which the emulator, the JVM and the workers share); 20,000 is the pace
``benchmarks/latency.py`` takes for Zoho's (10 s a page), where both reads wait on the org's job queue.

    python benchmarks/spark.py [--records 1000000] [--partitions 2] [--reads 3] [--cold] [--bulk-rows-per-s 200000] [--output benchmarks/results/spark.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

from _common import RESULTS_DIR, save  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers import BulkReader
from connector.session import ZohoSession


def single(emu: Emulator, module: str) -> dict[str, Any]:
    before, start = emu.stats()["credits_used"], time.perf_counter()
    with ZohoSession(emu.connection_string) as s:
        rows = sum(b.num_rows for b in BulkReader(s.reader_context()).batches(module, None, Pushdown()))
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "credits": emu.stats()["credits_used"] - before, "load_average": _load()}


def _uptime() -> str:
    """``uptime``'s line as the benchmark starts (the machine is shared: other work weighs on both sides)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _load() -> float:
    """The 1-minute load average as the read ends (2 cores: above 2, other work shared them)."""
    return round(os.getloadavg()[0], 2)


def through_spark(emu: Emulator, module: str, partitions: int, cold: bool = False, reads: int = 2,
                  between: Callable[[], None] | None = None) -> dict[str, Any]:
    """``reads`` Spark reads of ``module`` on one session; ``between`` runs after each (the session waits)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    from connector.spark import register

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    startup = time.perf_counter() - started
    workers = None
    try:
        if not cold:
            started = time.perf_counter()
            users = spark.read.format("zohocrm").option("connection", emu.connection_string).load("_Users")
            # one read per task slot at once: a one-slice read starts the worker of one slot only, and the
            # timed read's second task then started its own (fork, imports) 1-2 s after the first
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda _: users.count(), range(2)))
            workers = time.perf_counter() - started
        timed = []
        for _ in range(reads):
            before, start = emu.stats()["credits_used"], time.perf_counter()
            df = (spark.read.format("zohocrm").option("connection", emu.connection_string + ";MaxConcurrency=8")
                  .option("api", "Bulk").option("numPartitions", partitions).load(module))
            rows = df.count()
            seconds = time.perf_counter() - start
            timed.append({"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
                          "credits": emu.stats()["credits_used"] - before, "load_average": _load()})
            if between is not None:
                between()
    finally:
        spark.stop()
    # the reads after the first are the session's steady state; the first large read also pays for the JVM
    # compiling its Arrow-to-row code (reported beside it, like the start-ups)
    steady = timed[1:] or timed
    return {"rows_per_s": round(median(r["rows_per_s"] for r in steady)),
            "credits": median(r["credits"] for r in steady), "reads": timed, "jvm_startup_s": round(startup, 2),
            "python_workers_startup_s": round(workers, 2) if workers is not None else None,
            "first_read_of_session": cold, "partitions": partitions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up read: the timed read starts Spark's Python workers too")
    parser.add_argument("--reads", type=int, default=3,
                        help="Spark reads of the module on one session; the median of those after the first is the "
                             "one compared (the first also pays for the JVM's just-in-time compilation, reported "
                             "beside it)")
    parser.add_argument("--bulk-rows-per-s", type=float, default=200_000.0,
                        help="rows a second the emulated org's bulk jobs take (20000: Zoho's pace, as latency.py)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "spark.json")
    args = parser.parse_args(argv)
    module = "Leads"
    uptime = _uptime()
    with Emulator(org="classic", records=args.records, sizes={module: args.records}, seed=3,
                  downloads_per_minute=100_000, bulk_rows_per_s=args.bulk_rows_per_s) as emu:
        singles = [single(emu, module)]
        spark = through_spark(emu, module, args.partitions, args.cold, max(1, args.reads),
                              between=lambda: singles.append(single(emu, module)))
    rate = median(r["rows_per_s"] for r in singles)
    credits = median(r["credits"] for r in singles)
    report = {"records": args.records, "module": module, "bulk_rows_per_s": args.bulk_rows_per_s,
              "load_before": uptime, "single_process": singles, "single_process_rows_per_s": round(rate),
              "spark": spark, "rows_per_s_ratio": round(spark["rows_per_s"] / rate, 3),
              "first_large_read_ratio": round(spark["reads"][0]["rows_per_s"] / rate, 3),
              "credits_ratio": round(spark["credits"] / credits, 3) if credits else None,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    print(f"{'read':<22} {'rows':>10} {'s':>8} {'rows/s':>10} {'credits':>8} {'load':>6}")
    lines = [("single process #1", singles[0])]
    for i, r in enumerate(spark["reads"]):
        lines.append((f"Spark local[2] x{args.partitions} #{i + 1}", r))
        if i + 1 < len(singles):
            lines.append((f"single process #{i + 2}", singles[i + 1]))
    for name, r in lines:
        print(f"{name:<22} {r['rows']:>10,} {r['seconds']:>8} {r['rows_per_s']:>10,} {r['credits']:>8} "
              f"{r['load_average']:>6}")
    workers = spark["python_workers_startup_s"]
    print(f"JVM start-up {spark['jvm_startup_s']} s, Python workers' start-up "
          f"{'in the Spark time' if workers is None else f'{workers} s'} (JVM's not in it); rows/s ratio "
          f"{report['rows_per_s_ratio']} (medians; goal >= 0.8; the session's first large read "
          f"{report['first_large_read_ratio']}), credits ratio {report['credits_ratio']} (goal <= 1.1)")
    save(report, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
