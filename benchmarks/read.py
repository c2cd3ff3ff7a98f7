"""How fast and how cheaply the four readers read, against the emulator (a measurement, not a test).

    python benchmarks/read.py [--records 1000000] [--module Leads] [--rss-rows 200000,1000000] [--quick]

Prints a table and writes ``benchmarks/results/read.json`` (one entry per ``--records`` under
``runs``, so a 200k and a 1M run sit side by side); never fails on a time.

* ``decode``: the bulk reader's decoder (``pyarrow.csv`` streaming from the zip plus the vectorised
  fix-ups, users/layouts maps loaded beforehand) against raw ``pyarrow.csv.read_csv`` on the same
  page files, extracted (type inference, and with the same column types, and on one thread: the decoder
  streams a page block by block, where ``read_csv`` parses a whole file's blocks on every core);
  ``ratio`` = raw time / decoder time (goal >= 0.8). Best of ``--rounds``.
* ``end_to_end``: rows/s of a full read of ``--module`` (every column) per APIType, with the API
  calls and credits the connection's meter counted. Search has no full-module path: without
  criteria it is a COQL read, shown as such. For Bulk also the time each page spent in its job
  (create, poll, download) — pages are pipelined, so the total is about max(decode, job) per page.
* ``query_classes``: calls and credits per reader for a point lookup (``Email = x``), a selective
  filter (``Lead_Source = 'Web Download'``, ~7 %) and a full scan. The list API cannot filter, so
  REST's three classes cost the same full scan (measured once, shown for each class).
* ``rss``: peak RSS of a child process that reads a module of 200k and of 1M rows with the Bulk
  reader; the emulator runs in this process, so it does not count. The child reports
  ``resource.getrusage`` and ``VmHWM``; the peak shown is ``VmHWM`` because Linux carries
  ``ru_maxrss`` across fork+exec (it would show this big parent's size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
from _common import save  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers import BulkReader, reader_for
from connector.readers.bulk import PageFile
from connector.readers.bulk_csv import decode_page, open_page
from connector.readers.names import LookupNames
from connector.session import ZohoSession

HERE = Path(__file__).resolve().parent
APIS = ("REST", "COQL", "Search", "Bulk")


def _meter(session: ZohoSession) -> tuple[int, int]:
    snap = session.http.meter.snapshot()
    return int(snap["calls"]), int(snap["credits"])


def _read(session: ZohoSession, api: str, module: str, pushdown: Pushdown | None = None) -> dict[str, Any]:
    session.catalog.table(module)  # metadata outside the measurement
    calls0, credits0 = _meter(session)
    ctx = session.reader_context()
    start = time.perf_counter()
    rows = sum(b.num_rows for b in reader_for(api, ctx).batches(module, None, pushdown))
    seconds = time.perf_counter() - start
    calls, credits = _meter(session)
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds) if seconds else None,
            "calls": calls - calls0, "credits": credits - credits0, **{k: v for k, v in ctx.stats.items()}}


class TimedBulkReader(BulkReader):
    """Records how long each page spent in its job (create, poll, download) on the worker thread."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.job_seconds: list[float] = []

    def fetch_page(self, *args: Any, **kw: Any) -> PageFile:
        start = time.perf_counter()
        page = super().fetch_page(*args, **kw)
        self.job_seconds.append(round(time.perf_counter() - start, 3))
        return page


def bench_decode(session: ZohoSession, module: str, rounds: int) -> dict[str, Any]:
    ctx = session.reader_context()
    reader = BulkReader(ctx)
    plan = reader.plan(module)
    names = LookupNames(ctx)
    names.users()
    names.layouts(module)
    workdir = Path(tempfile.mkdtemp(prefix="read-bench-"))
    try:
        pages: list[PageFile] = []
        token, number, more = None, 1, True
        while more:
            page = reader.fetch_page(module, plan.fields, None, number, token, workdir, threading.Event())
            pages.append(page)
            token, number, more = page.next_page_token, page.page + 1, page.more
        csvs = []
        for p in pages:
            with zipfile.ZipFile(p.path) as zf:
                csvs.append(Path(zf.extract(zf.namelist()[0], workdir)))
        _, headers, close = open_page(pages[0].path, plan, reader.block_size)
        close()
        typed = pacsv.ConvertOptions(column_types={headers[h]: t for h, t in plan.read_types.items()},
                                     null_values=[""], strings_can_be_null=True)
        parse = pacsv.ParseOptions(newlines_in_values=True)  # textareas hold newlines: raw needs it too

        def best(fn: Any) -> float:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return min(times)

        raw = best(lambda: [pacsv.read_csv(c, parse_options=parse) for c in csvs])
        raw_typed = best(lambda: [pacsv.read_csv(c, parse_options=parse, convert_options=typed) for c in csvs])
        # the decoder parses a page's blocks one after another (a stream, in a few blocks of memory), where
        # read_csv parses a whole file's blocks on every core: the same single-threaded, beside it
        one = pacsv.ReadOptions(use_threads=False)
        raw_one = best(lambda: [pacsv.read_csv(c, read_options=one, parse_options=parse) for c in csvs])
        ours = best(lambda: [sum(b.num_rows for b in decode_page(p.path, plan, names, block_size=reader.block_size))
                             for p in pages])
        rows = sum(p.count for p in pages)
        mb = sum(c.stat().st_size for c in csvs) / 1e6
        return {"module": module, "pages": len(pages), "rows": rows, "csv_mb": round(mb, 1),
                "columns": len(plan.outputs), "raw_read_csv_s": round(raw, 3),
                "raw_read_csv_typed_s": round(raw_typed, 3), "decoder_s": round(ours, 3),
                "decoder_rows_per_s": round(rows / ours), "decoder_mb_per_s": round(mb / ours, 1),
                "raw_read_csv_one_thread_s": round(raw_one, 3), "ratio_vs_raw": round(raw / ours, 2),
                "ratio_vs_raw_typed": round(raw_typed / ours, 2), "ratio_vs_raw_one_thread": round(raw_one / ours, 2)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench_end_to_end(session: ZohoSession, module: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for api in APIS:
        if api == "Bulk":
            ctx = session.reader_context()
            calls0, credits0 = _meter(session)
            reader = TimedBulkReader(ctx)
            start = time.perf_counter()
            rows = sum(b.num_rows for b in reader.batches(module))
            seconds = time.perf_counter() - start
            calls, credits = _meter(session)
            out[api] = {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
                        "calls": calls - calls0, "credits": credits - credits0, "job_seconds": reader.job_seconds,
                        **ctx.stats}
        else:
            out[api] = _read(session, api, module)
            if api == "Search":
                out[api]["note"] = "no criteria: the search reader reads with COQL"
    return out


def _classes(session: ZohoSession, module: str) -> dict[str, Pushdown]:
    from connector.api import coql

    rows, _ = coql.run(session.http, f"select Email from {module} where Email is not null order by id asc limit 1")
    email = str(rows[0]["Email"])
    quoted = coql.quote_literal(email)
    return {
        "point_lookup": Pushdown(criteria=f"(Email:equals:{email})", coql_where=f"Email = {quoted}",
                                 bulk_criteria={"field": {"api_name": "Email"}, "comparator": "equal", "value": email},
                                 exact=True),
        "selective_filter": Pushdown(criteria="(Lead_Source:equals:Web Download)",
                                     coql_where="Lead_Source = 'Web Download'",
                                     bulk_criteria={"field": {"api_name": "Lead_Source"}, "comparator": "equal",
                                                    "value": "Web Download"}, exact=True),
        "full_scan": Pushdown(),
    }


def bench_query_classes(session: ZohoSession, module: str, end_to_end: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, pd in _classes(session, module).items():
        out[name] = {}
        for api in APIS:
            if name == "full_scan" or api == "REST":
                full = end_to_end[api]
                out[name][api] = {k: full[k] for k in ("rows", "calls", "credits", "seconds")}
                if api == "REST" and name != "full_scan":
                    out[name][api]["note"] = "the list API cannot filter: a full scan"
                continue
            got = _read(session, api, module, pd)
            out[name][api] = {k: got[k] for k in ("rows", "calls", "credits", "seconds")}
    return out


def _vm_hwm_kb() -> int | None:
    """Peak RSS of this process image (``VmHWM``); unlike ru_maxrss it starts afresh at exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def child_read(module: str, api: str) -> None:
    """Run in a subprocess: read the whole module, report rows and peak RSS as one JSON line.

    Linux carries ``ru_maxrss`` over fork and exec, so a child started by a big parent (this one
    hosts the emulator) reports at least the parent's size there; ``VmHWM`` is the child's own.
    """
    before = _vm_hwm_kb()
    with ZohoSession(os.environ["ZOHOCRM_CONNECTION"]) as session:
        rows = sum(b.num_rows for b in reader_for(api, session.reader_context()).batches(module))
    peak = _vm_hwm_kb()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    print(json.dumps({"rows": rows, "peak_rss_mb": round((peak or maxrss) / 1024, 1),
                      "rss_before_read_mb": round((before or 0) / 1024, 1),
                      "ru_maxrss_mb": round(maxrss / 1024, 1)}))


def bench_rss(module: str, sizes: list[int], api: str) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        with Emulator(org="classic", records=n, seed=42, sizes={module: n}, downloads_per_minute=1_000) as emu:
            env = {**os.environ, "ZOHOCRM_CONNECTION": emu.connection_string}
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child-read", module, api], env=env, check=True,
                                  capture_output=True, text=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result.update({"module_rows": n, "reader": api, "seconds": round(time.perf_counter() - start, 1)})
            out.append(result)
    return out


def child_bench(module: str, rounds: int) -> None:
    """Run in a subprocess: the decode, end-to-end and query-class measurements as one JSON line."""
    with ZohoSession(os.environ["ZOHOCRM_CONNECTION"]) as session:
        out: dict[str, Any] = {"decode": bench_decode(session, module, rounds)}
        out["end_to_end"] = bench_end_to_end(session, module)
        out["query_classes"] = bench_query_classes(session, module, out["end_to_end"])
    print(json.dumps(out))


def run(records: int, module: str, rss_rows: list[int], rounds: int) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "read", "records": records, "module": module, "python": platform.python_version(),
        "pyarrow": metadata.version("pyarrow"), "duckdb": metadata.version("duckdb"),
        "platform": platform.platform(), "cpus": os.cpu_count(),
    }
    # The readers run in a child process: sharing this process's GIL with the emulator would slow
    # both and measure the pairing, not the reader (the CPUs are still shared, as on a laptop).
    with Emulator(org="classic", records=records, seed=42, downloads_per_minute=1_000) as emu:
        report["module_rows"] = emu.app.sizes[module]
        env = {**os.environ, "ZOHOCRM_CONNECTION": emu.connection_string}
        proc = subprocess.run([sys.executable, __file__, "--child-bench", module, str(rounds)], env=env,
                              check=True, capture_output=True, text=True)
        report.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    report["rss"] = bench_rss(module, rss_rows, "Bulk") if rss_rows else []
    return report


def print_table(r: dict[str, Any]) -> None:
    d = r["decode"]
    print(f"read benchmark: {r['records']:,} records, {r['module']} = {r['module_rows']:,} rows, {r['cpus']} cpus")
    print(f"\nbulk decode ({d['pages']} pages, {d['rows']:,} rows, {d['csv_mb']} MB CSV, {d['columns']} columns)")
    print(f"  raw read_csv {d['raw_read_csv_s']:.3f} s | raw typed {d['raw_read_csv_typed_s']:.3f} s | "
          f"decoder {d['decoder_s']:.3f} s ({d['decoder_rows_per_s']:,} rows/s, {d['decoder_mb_per_s']} MB/s)")
    print(f"  ratio raw/decoder {d['ratio_vs_raw']} (goal >= 0.8); vs raw typed {d['ratio_vs_raw_typed']}; vs raw on "
          f"one thread ({d['raw_read_csv_one_thread_s']:.3f} s) {d['ratio_vs_raw_one_thread']}")
    print(f"\n{'end to end (full read)':<24}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'calls':>8}{'credits':>9}")
    for api, e in r["end_to_end"].items():
        print(f"{api:<24}{e['rows']:>10,}{e['seconds']:>10.2f}{e['rows_per_s']:>10,}{e['calls']:>8,}{e['credits']:>9,}")
    if "job_seconds" in r["end_to_end"].get("Bulk", {}):
        print(f"  bulk job seconds per page (create+poll+download, pipelined): {r['end_to_end']['Bulk']['job_seconds']}")
    print(f"\n{'query class':<18}" + "".join(f"{api + ' calls/credits':>22}" for api in APIS))
    for name, per in r["query_classes"].items():
        print(f"{name:<18}" + "".join(f"{str(per[a]['calls']) + ' / ' + str(per[a]['credits']):>22}" for a in APIS))
    if r["rss"]:
        print(f"\n{'peak RSS (child process)':<30}{'rows':>12}{'peak MB':>10}{'before read MB':>16}{'seconds':>9}")
        for x in r["rss"]:
            print(f"{x['reader'] + ' ' + r['module']:<30}{x['rows']:>12,}{x['peak_rss_mb']:>10}"
                  f"{x['rss_before_read_mb']:>16}{x['seconds']:>9}")


def merge_runs(path: Path, report: dict[str, Any]) -> dict[str, Any]:
    """The results file keeps one run per org size (``runs["200000"]``...), so runs at 200k and 1M coexist."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    runs = dict(old.get("runs", {})) if isinstance(old, dict) else {}
    if isinstance(old, dict) and "records" in old and "runs" not in old:
        runs[str(old["records"])] = old  # a file written before runs were kept side by side
    runs[str(report["records"])] = report
    return {"benchmark": "read", "runs": dict(sorted(runs.items(), key=lambda kv: int(kv[0])))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="org size (default 1,000,000)")
    parser.add_argument("--module", default="Leads", help="module to read (default Leads, the widest)")
    parser.add_argument("--rss-rows", default="200000,1000000", help="module sizes for the RSS runs ('' skips)")
    parser.add_argument("--rounds", type=int, default=5, help="decode rounds; the best is kept")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "read.json")
    parser.add_argument("--child-read", nargs=2, metavar=("MODULE", "API"), help=argparse.SUPPRESS)
    parser.add_argument("--child-bench", nargs=2, metavar=("MODULE", "ROUNDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_read:
        child_read(*args.child_read)
        return 0
    if args.child_bench:
        child_bench(args.child_bench[0], int(args.child_bench[1]))
        return 0
    rss_rows = [int(s) for s in args.rss_rows.split(",") if s.strip()]
    if args.quick:
        args.records, rss_rows, args.rounds = 20_000, [5_000, 20_000], 1
    report = run(args.records, args.module, rss_rows, max(1, args.rounds))
    print_table(report)
    save(merge_runs(args.output, report), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
