"""Credits of the planner's choice (APIType=Auto) against the cheapest forced API, per query, on the emulator.

For one org size: every query of :mod:`planner_queries` runs with each forced
API (REST, COQL, Search, Bulk) and with Auto, each on its own connection kept
for the whole set (so Auto's statistics cache serves later queries, as it
would in use); the credits of a run are the emulator's ``credits_used``
before and after (ground truth), Auto's statistics included. Answers must be
equal across all five.

On large orgs (``--every-api`` off) a forced REST run is skipped when it
cannot be the cheapest: a single-table statement without LIMIT makes the list
API page through the whole module, at least one credit per 200 records, and
when that floor already exceeds what another API measured, REST's run would
only take minutes to confirm it. The report counts those skips, and its
always-REST sum takes their floors (so it is then a lower bound).
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import pyarrow as pa
from planner_queries import BQ, Picks, build  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from connector.emulator import Emulator
from connector.engine.executor import Engine
from connector.planning.plan import Plan
from connector.session import ZohoSession

APIS = ("REST", "COQL", "Search", "Bulk")
PAGE = 200  # records per list page: Zoho's maximum


def rows_of(table: pa.Table, check: str) -> Any:
    """What two APIs' answers must share: the multiset of rows, the row count, or one column in order."""
    if check == "count":
        return table.num_rows
    if check.startswith("key:"):
        return table.column(check[4:]).to_pylist()
    cols = [c.to_pylist() for c in table.columns]
    return sorted((repr(r) for r in zip(*cols, strict=True)), key=str)


def measure(emu: Emulator, engine: Engine, sql: str) -> tuple[pa.Table, int, float]:
    before, start = emu.stats()["credits_used"], time.perf_counter()
    table = engine.execute(sql).read_all()
    return table, emu.stats()["credits_used"] - before, time.perf_counter() - start


def rest_floor(plan: Plan, sql: str, sizes: dict[str, int]) -> int | None:
    """Credits the list API spends at least on this statement, when that is certain; None otherwise."""
    if len(plan.scans) != 1 or " LIMIT " in f" {sql.upper()} ":
        return None
    scan = plan.scans[0]
    if scan.count_via_coql or scan.empty or scan.pushdown.modified_since is not None or scan.pushdown.limit:
        return None
    return max(1, math.ceil(sizes.get(scan.module, 0) / PAGE))


def run_size(records: int, seed: int, every_api: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with Emulator(org="classic", records=records, seed=seed, downloads_per_minute=100_000) as emu:
        sizes = {k: int(v) for k, v in emu.stats()["module_sizes"].items()}
        sessions = {api: ZohoSession(emu.connection_string + f";APIType={api}") for api in ("Auto", *APIS)}
        try:
            for s in sessions.values():
                for module in s.catalog.modules():
                    s.catalog.table(module)  # metadata before anything is measured
            picks = ZohoSession(emu.connection_string)
            try:
                queries = build(Picks(picks.http), sizes)
            finally:
                picks.close()
            engines = {api: Engine(s) for api, s in sessions.items()}
            results = [run_query(emu, engines, q, sizes, every_api) for q in queries]
        finally:
            for s in sessions.values():
                s.close()
    return summarise(records, results, time.perf_counter() - started)


def run_query(emu: Emulator, engines: dict[str, Engine], query: BQ, sizes: dict[str, int],
              every_api: bool) -> dict[str, Any]:
    forced: dict[str, int] = {}
    answers: dict[str, Any] = {}
    skipped: dict[str, int] = {}
    for api in ("COQL", "Search", "Bulk", "REST"):
        floor = rest_floor(engines["REST"].plan(query.sql), query.sql, sizes) if api == "REST" else None
        if floor is not None and not every_api and floor > min(forced.values()):
            skipped[api] = floor
            continue
        table, forced[api], _ = measure(emu, engines[api], query.sql)
        answers[api] = rows_of(table, query.check)
    auto = engines["Auto"]
    bought = auto.statistics.credits
    before = emu.stats()["credits_used"]
    plan = auto.plan(query.sql)  # buys the statistics it needs: metered with the run
    planned = emu.stats()["credits_used"] - before
    table, spent, seconds = measure(emu, auto, query.sql)
    spent += planned
    got = rows_of(table, query.check)
    cheapest = min(forced.values())
    out = {"id": query.id, "category": query.category, "sql": query.sql, "auto": spent,
           "statistics": auto.statistics.credits - bought, "apis": [s.api if not s.empty else "none"
                                                                    for s in plan.scans],
           "forced": forced, "rest_at_least": skipped.get("REST"), "cheapest": cheapest,
           "ratio": round(spent / cheapest, 3) if cheapest else (1.0 if spent == 0 else None),
           "equal": all(a == got for a in answers.values()), "rows": table.num_rows,
           "seconds": round(seconds, 3)}
    print(f"  {query.id:<28} auto {spent:>5} ({'/'.join(out['apis'])}) cheapest {cheapest:>5} "
          f"{'' if out['equal'] else 'ANSWERS DIFFER'}", file=sys.stderr)
    return out


def summarise(records: int, results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    auto = sum(r["auto"] for r in results)
    cheapest = sum(r["cheapest"] for r in results)
    # A skipped REST run counts its floor: the always-REST figure is then a lower bound (said in the report).
    always = {api: sum(r["forced"].get(api, r["rest_at_least"] if api == "REST" else 0) or 0 for r in results)
              for api in APIS}
    categories: dict[str, dict[str, int]] = {}
    for r in results:
        c = categories.setdefault(r["category"], {"queries": 0, "auto": 0, "cheapest": 0})
        c["queries"] += 1
        c["auto"] += r["auto"]
        c["cheapest"] += r["cheapest"]
    return {
        "records": records, "queries": len(results), "auto_credits": auto,
        "statistics_credits": sum(r["statistics"] for r in results), "cheapest_credits": cheapest,
        "ratio": round(auto / cheapest, 3) if cheapest else None,
        "always_one_api": always, "always_rest_is_lower_bound": any(r["rest_at_least"] is not None for r in results),
        "rest_runs_skipped": sum(1 for r in results if r["rest_at_least"] is not None),
        "answers_equal": all(r["equal"] for r in results),
        "worst": sorted(({"id": r["id"], "auto": r["auto"], "cheapest": r["cheapest"]} for r in results),
                        key=lambda r: r["cheapest"] - r["auto"])[:5],
        "by_category": categories, "seconds": round(seconds, 1), "per_query": results,
    }
