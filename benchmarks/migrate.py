"""Migration throughput: full vs incremental reads, REST vs Bulk writes, credits, peak memory.

A measurement, not a test: it prints a table and writes ``benchmarks/results/migrate.json``
and never fails on a time.

    python benchmarks/migrate.py [--records 1000000] [--write-rows 50000] [--skip-rest-read]

The emulators run as processes of their own (``zohocrm emulator``) so that each phase's peak
RSS is the connector's alone; each phase runs in a child process too (its ``ru_maxrss``).

Phases:

* ``full``: every module into DuckDB with ``APIType=Auto`` (Bulk Read for modules of 10,000+
  records, REST pages below) — and, unless skipped, ``full-rest``: the same with REST only;
* ``incremental``: after ``/__emulator/mutate`` changed ~1% of Leads, Contacts, Deals and
  Accounts (updates, creates, deletes): COQL deltas + ``/deleted`` into the same DuckDB;
* ``write-rest`` / ``write-bulk``: ``--write-rows`` Leads from Parquet into a fresh org through
  the REST writer (100 records a call) and through Bulk Write (25,000 rows a job);
* ``whole-org``: an enterprise org of ``--whole-org`` records (every module: notes, attachments,
  activities, inventory with line items, campaigns with members...) migrated to ``parquet:``
  with every attachment and file-field file: rows/s, and files and MB/s written under ``_files``.

Credits are the emulator's own count (``/__emulator/stats``), compared with the least the API
allows for the same rows (limits-and-errors.md section 2): reads — per module the cheapest of
REST (1 a page of 200, plus 2 a page for every further group of 50 fields), COQL (3 per 2,000
rows, at most 50 fields) and Bulk Read (50 a job of 200,000 rows); deltas — one COQL call of
1 credit plus 2 for ``/deleted`` per module; writes — 1 credit per 10 records over REST, 500
per Bulk Write job of 25,000 rows. Metadata calls are not in the minimum.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from _common import leads_without_external_ref, save, start_emulator  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
ALLOW = ";AllowedOperations=read,insert,update,upsert,delete;AllowedModules=Leads"


# -- emulators and phases in processes of their own ------------------------------------------------

def emulator(records: int, seed: int, org: str = "classic") -> tuple[subprocess.Popen[str], dict[str, Any]]:
    return start_emulator("--org", org, "--records", str(records), "--seed", str(seed))


def stats(info: dict[str, Any]) -> dict[str, Any]:
    return dict(requests.get(f"{info['api_domain']}/__emulator/stats", timeout=60).json())


def phase(name: str, **args: Any) -> dict[str, Any]:
    """Run one phase in a child process; its JSON result, with the child's peak RSS."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--args", json.dumps(args)], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    from connector.session import ZohoSession
    from connector.sync import open_source, open_target, run
    from connector.sync.source_zoho import ZohoSource

    started = time.perf_counter()
    if name in ("full", "full-rest", "incremental"):
        src = ZohoSource(ZohoSession(args["conn"]), api_type="REST" if name == "full-rest" else None)
        tgt = open_target(f"duckdb:{args['db']}")
        result = run(src, tgt, incremental=name == "incremental")
        tgt.close()
        src.close()
        rows = sum(m.rows_read for m in result.modules)
        extra = {"rows_deleted": sum(m.rows_deleted for m in result.modules),
                 "rows_written": result.rows_written}
    elif name == "export-leads":
        src = open_source(f"duckdb:{args['db']}")
        tgt = open_target(f"parquet:{args['dir']}")
        import pyarrow as pa

        from connector.sync.state import ModuleState
        rows = tgt.replace_module("Leads", src.schema("Leads"), leads_without_external_ref(src, args["rows"]),
                                  ModuleState("Leads", loaded=True))
        tgt.close()
        src.close()
        extra = {"arrow": pa.__version__}
    elif name == "whole-org":
        from connector.sync import migrate

        result = migrate(args["conn"], f"parquet:{args['dir']}")
        rows = result.rows_written
        files = [f for f in Path(args["dir"], "_files").rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        seconds = time.perf_counter() - started
        extra = {"modules": len(result.modules), "failed": result.rows_failed, "files": len(files),
                 "file_mb": round(size / 2**20, 1), "file_mb_per_s": round(size / 2**20 / seconds, 1)}
    else:  # write-rest / write-bulk
        api = name.split("-")[1]
        result = None
        from connector.sync import migrate

        result = migrate(f"parquet:{args['dir']}", args["conn"] + ALLOW, modules=["Leads"], write_api=api,
                         state_path=args["state"])
        rows = result.rows_written
        extra = {"failed": result.rows_failed}
    seconds = time.perf_counter() - started
    return {"phase": name, "rows": rows, "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds) if seconds else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **extra}


# -- the least credits the API allows ---------------------------------------------------------------

def min_read_credits(sizes: dict[str, int], fields: dict[str, int]) -> int:
    total = 0
    for module, n in sizes.items():
        if n == 0:
            continue
        groups = max(1, math.ceil(fields.get(module, 1) / 50))
        options = [math.ceil(n / 200) * (1 + 2 * (groups - 1)), math.ceil(n / 200_000) * 50]
        if fields.get(module, 1) <= 50:
            options.append(math.ceil(n / 2_000) * 3)
        total += min(options)
    return total


def min_write_credits(rows: int, api: str) -> int:
    return math.ceil(rows / 10) if api == "rest" else math.ceil(rows / 25_000) * 500


def field_counts(conn: str) -> dict[str, int]:
    from connector.session import ZohoSession

    with ZohoSession(conn) as s:
        return {m: len(s.catalog.table(m).fields_for(None)) for m in s.catalog.modules()
                if s.catalog.modules()[m].generated_type in ("default", "custom", "subform", "linking")}


def measured(name: str, info: dict[str, Any], minimum: int, **args: Any) -> dict[str, Any]:
    before = stats(info)
    res = phase(name, **args)
    after = stats(info)
    res["credits"] = after["credits_used"] - before["credits_used"]
    # Which calls the credits went to (the emulator's count per endpoint).
    res["calls"] = {k: v - before["calls"].get(k, 0) for k, v in sorted(after["calls"].items())
                    if v != before["calls"].get(k, 0)}
    res["credits_minimum"] = minimum
    res["credits_ratio"] = round(res["credits"] / minimum, 2) if minimum else None
    files = f", {res['files']:,} files {res['file_mb']:,} MB ({res['file_mb_per_s']} MB/s)" if "files" in res else ""
    print(f"  {name:<12} {res['rows']:>10,} rows {res['seconds']:>8.1f} s {res['rows_per_s'] or 0:>9,} rows/s "
          f"{res['credits']:>7,} credits (min {minimum:,}) peak RSS {res['peak_rss_mb']:,.0f} MB{files}", flush=True)
    return res


class _Done(Exception):
    """--only-whole-org: the other phases are skipped."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--write-rows", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-rest-read", action="store_true", help="skip the REST-only full read (slow at 1M)")
    ap.add_argument("--whole-org", type=int, default=200_000, help="records of the enterprise org migrated whole "
                    "with its files (0: skip)")
    ap.add_argument("--only-whole-org", action="store_true", help="run the whole-org phase alone")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "migrate.json"))
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.phase:
        print(json.dumps(run_phase(opts.phase, json.loads(opts.args))))
        return
    work = Path(tempfile.mkdtemp(prefix="zohocrm-bench-"))
    procs: list[subprocess.Popen[str]] = []
    results: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    rows = 0
    try:
        if opts.whole_org:
            proc, w = emulator(opts.whole_org, opts.seed, org="enterprise")
            procs.append(proc)
            results["whole-org"] = measured("whole-org", w, 0, conn=w["connection_string"], dir=str(work / "org"))
            results["whole-org"]["org_records"] = sum(dict(w["records"]).values())
            proc.terminate()
            shutil.rmtree(work / "org", ignore_errors=True)
        if opts.only_whole_org:
            raise _Done
        print(f"starting an emulator with {opts.records:,} records ...", flush=True)
        t0 = time.perf_counter()
        proc, a = emulator(opts.records, opts.seed)
        procs.append(proc)
        sizes = dict(a["records"])
        print(f"  ready in {time.perf_counter() - t0:.1f} s: {sizes}", flush=True)
        fields = field_counts(a["connection_string"])
        read_min = min_read_credits(sizes, fields)
        db = work / "crm.duckdb"
        results["full"] = measured("full", a, read_min, conn=a["connection_string"], db=str(db))
        if not opts.skip_rest_read:
            results["full-rest"] = measured("full-rest", a, read_min, conn=a["connection_string"],
                                            db=str(work / "rest.duckdb"))
        changed = 0
        for module in ("Leads", "Contacts", "Deals", "Accounts"):
            n = sizes.get(module, 0) // 100
            body = {"module": module, "updates": n, "creates": n // 10, "deletes": n // 20, "seed": 5}
            r = requests.post(f"{a['api_domain']}/__emulator/mutate", json=body, timeout=600).json()
            changed += len(r["updated"]) + len(r["created"]) + len(r["deleted"])
        requests.post(f"{a['api_domain']}/__emulator/clock", json={"advance_s": 2}, timeout=60)
        results["incremental"] = measured("incremental", a, 3 * len(sizes), conn=a["connection_string"], db=str(db))
        results["incremental"]["records_changed"] = changed
        rows = min(opts.write_rows, sizes.get("Leads", 0))
        pq_dir = work / "leads"
        phase("export-leads", db=str(db), dir=str(pq_dir), rows=rows)
        for api in ("rest", "bulk"):
            proc, b = emulator(0, 7)
            procs.append(proc)
            results[f"write-{api}"] = measured(f"write-{api}", b, min_write_credits(rows, api), conn=b[
                "connection_string"], dir=str(pq_dir), state=str(work / f"state-{api}.duckdb"))
            proc.terminate()
    except _Done:
        pass
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)
    import duckdb
    import pyarrow as pa

    report = {"benchmark": "migrate", "records": opts.records, "module_sizes": sizes, "write_rows": rows,
              "phases": results, "cpus": os.cpu_count(), "python": platform.python_version(),
              "duckdb": duckdb.__version__, "pyarrow": pa.__version__, "platform": platform.platform()}
    save(report, Path(opts.out))
    print(f"written to {opts.out}")


if __name__ == "__main__":
    main()
