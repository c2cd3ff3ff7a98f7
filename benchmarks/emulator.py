"""How fast the emulator is: org generation and REST list pages over HTTP.

A measurement, not a test: it prints a table and writes ``benchmarks/results/emulator.json``
and never fails on a time. The emulator must never be the bottleneck of a connector
benchmark, so these figures are the ceiling a connector can see.

    python benchmarks/emulator.py [--sizes 200000,1000000] [--pages 300] [--quick]

* ``generate``: records per second of ``generate.populate`` into an in-memory DuckDB
  store, for each org size (all modules together); ``--org enterprise`` generates a whole
  standard org (its ``records`` split as the classic one, plus the other modules on top).
* ``rest_pages``: ``GET /crm/v8/Leads`` pages of 200 records x 10 fields per second over
  loopback HTTP with one keep-alive session, walking ``page_token`` pages (the regime a
  full read uses), median of ``--rounds`` rounds.
* If ``benchmarks/emulator_bulk.py`` exists and has ``run()`` returning a dict, its figures
  are included under ``bulk``.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import requests
from _common import save  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.emulator import Emulator
from connector.emulator.generate import module_sizes, populate
from connector.emulator.schema import org_schema
from connector.emulator.store import Store

HERE = Path(__file__).resolve().parent
LIST_FIELDS = ("Owner,Last_Name,First_Name,Company,Email,Phone,Lead_Source,Lead_Status,Annual_Revenue,"
               "Modified_Time")
PER_PAGE = 200


def bench_generate(records: int, seed: int = 42, org: str = "classic") -> dict[str, Any]:
    kind = org_schema(org)
    sizes = module_sizes(records, None, kind)
    total = sum(sizes.values())
    store = Store(None)
    try:
        start = time.perf_counter()
        populate(store, seed, sizes, kind)
        seconds = time.perf_counter() - start
    finally:
        store.close()
    return {"records": total, "seconds": round(seconds, 3), "records_per_s": round(total / seconds)}


def _token(emu: Emulator, http: requests.Session) -> str:
    body = http.post(f"{emu.accounts_url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "refresh_token": emu.refresh_token}, timeout=30).json()
    return str(body["access_token"])


def bench_rest_pages(records: int, pages: int, rounds: int, org: str = "classic") -> dict[str, Any]:
    with Emulator(records=records, seed=42, org=org) as emu, requests.Session() as http:
        http.headers["Authorization"] = f"Zoho-oauthtoken {_token(emu, http)}"
        url = f"{emu.api_domain}/crm/v8/Leads"
        rates: list[float] = []
        rows = 0
        for _ in range(rounds):
            token: str | None = None
            start = time.perf_counter()
            for _ in range(pages):
                params = {"fields": LIST_FIELDS, "per_page": PER_PAGE, "converted": "both"}
                if token:
                    params["page_token"] = token
                r = http.get(url, params=params, timeout=60)
                r.raise_for_status()
                body = r.json()
                rows += len(body["data"])
                token = body["info"]["next_page_token"]  # None at the end: start over
            rates.append(pages / (time.perf_counter() - start))
        pages_per_s = statistics.median(rates)
        return {"org_records": sum(emu.app.sizes.values()), "leads": emu.app.sizes["Leads"],
                "pages": pages, "rounds": rounds, "per_page": PER_PAGE,
                "fields": len(LIST_FIELDS.split(",")), "pages_per_s": round(pages_per_s, 1),
                "records_per_s": round(pages_per_s * PER_PAGE), "rows_seen": rows}


def bench_bulk() -> dict[str, Any] | None:
    """The bulk-page benchmark of benchmarks/emulator_bulk.py, when that file is there."""
    path = HERE / "emulator_bulk.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("emulator_bulk", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if run is None:
        return None
    result = run(200_000, 3, "Leads")  # a full Zoho page of the widest module
    return result if isinstance(result, dict) else {"result": result}


def run(sizes: list[int], pages: int, rounds: int, page_org: int, org: str = "classic") -> dict[str, Any]:
    return {
        "benchmark": "emulator",
        "python": platform.python_version(),
        "duckdb": metadata.version("duckdb"),
        "pyarrow": metadata.version("pyarrow"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "org": org,
        "generate": [bench_generate(n, org=org) for n in sizes],
        "rest_pages": bench_rest_pages(page_org, pages, rounds, org),
        "bulk": bench_bulk(),
    }


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{prefix}.{k}" if prefix else str(k), v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [(prefix, f"{value:,.3f}" if isinstance(value, float) and value < 100 else f"{value:,.0f}")]
    return []


def print_table(report: dict[str, Any]) -> None:
    print(f"{'measure':<44} {'value':>16}")
    for g in report["generate"]:
        print(f"{'generate ' + format(g['records'], ',') + ' records (records/s)':<44} {g['records_per_s']:>16,}")
        print(f"{'generate ' + format(g['records'], ',') + ' records (s)':<44} {g['seconds']:>16,.2f}")
    p = report["rest_pages"]
    label = f"REST pages/s ({p['per_page']} x {p['fields']} fields, keep-alive)"
    print(f"{label:<44} {p['pages_per_s']:>16,.1f}")
    print(f"{'REST records/s':<44} {p['records_per_s']:>16,}")
    for name, value in _flat("bulk", report.get("bulk") or {}):
        print(f"{name:<44} {value:>16}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="org sizes to generate (comma-separated)")
    parser.add_argument("--pages", type=int, default=300, help="REST pages per round (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of REST pages; the median is kept")
    parser.add_argument("--page-org", type=int, default=50_000, help="org size for the REST measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--org", choices=("classic", "enterprise"), default="classic",
                        help="the org generated: the ten classic modules, or a whole standard org")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "emulator.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        sizes, args.pages, args.rounds, args.page_org = [20_000], 30, 1, 5_000
    report = run(sizes, max(1, args.pages), max(1, args.rounds), args.page_org, args.org)
    print_table(report)
    save(report, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
