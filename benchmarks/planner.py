"""The planner: its overhead per query (goal: under 5 ms) and the credits its choice spends (goal: <= 1.1x).

A measurement, not a test: it prints tables and writes ``benchmarks/results/planner.json``
and never fails on a time.

Overhead: each figure is the median (and p90) of ``--runs`` timed ``plan_query`` calls in
microseconds, after a few untimed warm-up calls. Table schemas come from the emulator's field
metadata and module sizes are given, so no HTTP and no statistics calls are involved: this is the
planner alone.

Credits (:mod:`planner_credits`): ~170 queries (:mod:`planner_queries`) on an emulated org of each
``--sizes``, run with APIType=Auto and with every forced API; the ratio is Auto's credits
(statistics included) over the cheapest forced API's, per query and summed. A 200k org takes
a while (its forced scans page through tens of thousands of records).

    python benchmarks/planner.py [--runs 300] [--sizes 10000,200000] [--every-api] [--no-credits]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from importlib import metadata
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, save, time_us, timing_cells, timing_header  # noqa: E402  (benchmarks/ is on sys.path)

from connector.config.config import ConnectionConfig
from connector.emulator import schema as emu_schema
from connector.emulator.handlers.metadata import field_json
from connector.planning import explain, plan_query
from connector.schema.types import TableSchema, build_table_schema

WARMUP_RUNS = 5
GOAL_US = 5_000
GOAL_RATIO = 1.1

QUERIES: dict[str, str] = {
    "point lookup": "SELECT * FROM Leads WHERE Email = 'ann@example.com'",
    "prefix + range": "SELECT Last_Name, Email FROM Leads WHERE Last_Name LIKE 'Sm%' AND Lead_Score >= 40",
    "or/not tree": "SELECT id FROM Deals WHERE (Stage IN ('Closed Won', 'Negotiation') OR Amount > 50000) "
                   "AND NOT (Probability < 10 OR Closing_Date < DATE '2024-01-01') AND Deal_Name <> 'x'",
    "order + limit": "SELECT id, Amount FROM Deals WHERE Amount > 100 ORDER BY Created_Time DESC LIMIT 50",
    "count": "SELECT COUNT(*) FROM Contacts WHERE Created_Time >= '2024-01-01T00:00:00+00:00'",
    "aggregate": "SELECT Industry, count(*), sum(Annual_Revenue) FROM Accounts WHERE Employees > 10 "
                 "GROUP BY Industry ORDER BY 2 DESC",
    "3-way join": "SELECT c.Last_Name, a.Account_Name, d.Amount FROM Contacts c "
                  "JOIN Accounts a ON c.Account_Name_Id = a.id LEFT JOIN Deals d ON d.Contact_Name_Id = c.id "
                  "AND d.Stage = 'Closed Won' WHERE a.Industry = 'Banking' AND c.Email_Opt_Out = false",
    "cte + subquery": "WITH big AS (SELECT id, Account_Name FROM Accounts WHERE Annual_Revenue > 1e6) "
                      "SELECT * FROM Contacts WHERE Account_Name_Id IN (SELECT id FROM big) "
                      "AND Lead_Source = 'Web'",
    "25 conjuncts": "SELECT * FROM Leads WHERE " + " AND ".join(f"Lead_Score <> {i}" for i in range(25)),
    "IN 250 values": "SELECT * FROM Leads WHERE Lead_Score IN (" + ", ".join(map(str, range(250))) + ")",
    "params": "SELECT * FROM Leads WHERE City = ? AND Created_Time > ? AND Lead_Score BETWEEN ? AND ?",
}
PARAMS: dict[str, list[Any]] = {"params": ["Oslo", "2024-05-01 10:00:00", 10, 90]}


def build_tables() -> dict[str, TableSchema]:
    out = {}
    for m in emu_schema.MODULES:
        meta = [field_json(m, f, i) for i, f in enumerate(m.fields)]
        out[m.api_name.lower()] = build_table_schema(m.api_name, meta, display_field=m.display_field)
    return out


def measure(sql: str, params: list[Any] | None, tables: dict[str, TableSchema], runs: int) -> dict[str, float]:
    config = ConnectionConfig()

    def once() -> object:
        return plan_query(sql, params, lambda n: tables.get(n.lower()), config, estimate_rows=lambda m: 100_000)

    return time_us(once, runs)


def run(runs: int) -> dict[str, Any]:
    tables = build_tables()
    results = {name: measure(sql, PARAMS.get(name), tables, runs) for name, sql in QUERIES.items()}
    apis = {}
    for name, sql in QUERIES.items():
        plan = plan_query(sql, PARAMS.get(name), lambda n: tables.get(n.lower()), ConnectionConfig(),
                          estimate_rows=lambda m: 100_000)
        apis[name] = [s.api for s in plan.scans]
        explain(plan)  # exercised once so a broken EXPLAIN shows up here too
    medians = [r["median_us"] for r in results.values()]
    return {
        "benchmark": "planner",
        "runs": runs,
        "goal_us": GOAL_US,
        "median_of_medians_us": round(statistics.median(medians), 1),
        "worst_median_us": max(medians),
        "python": platform.python_version(),
        "sqlglot": metadata.version("sqlglot"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "results_us": results,
        "apis": apis,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"planner overhead per query, {report['runs']} runs, sqlglot {report['sqlglot']}")
    print(f"{'query':<16} {timing_header()}  apis")
    for name, figures in report["results_us"].items():
        print(f"{name:<16} {timing_cells(figures)}  {', '.join(report['apis'][name])}")
    verdict = "within" if report["worst_median_us"] < report["goal_us"] else "OVER"
    print(f"median of medians {report['median_of_medians_us']:.1f} µs; worst median {report['worst_median_us']:.1f} µs "
          f"({verdict} the {report['goal_us'] / 1000:.0f} ms goal)")


def print_credits(report: dict[str, Any]) -> None:
    print(f"{'org':>9} {'queries':>8} {'auto':>8} {'(stats)':>8} {'cheapest':>9} {'ratio':>6} "
          f"{'REST':>8} {'COQL':>8} {'Search':>8} {'Bulk':>8}  answers")
    for size in report["sizes"]:
        always = size["always_one_api"]
        rest = (">=" if size.get("always_rest_is_lower_bound") else "") + f"{always['REST']:,}"
        print(f"{size['records']:>9,} {size['queries']:>8} {size['auto_credits']:>8,} {size['statistics_credits']:>8,} "
              f"{size['cheapest_credits']:>9,} {size['ratio']:>6.3f} {rest:>8} {always['COQL']:>8,} "
              f"{always['Search']:>8,} {always['Bulk']:>8,}  {'equal' if size['answers_equal'] else 'DIFFER'}"
              + (f" (REST skipped {size['rest_runs_skipped']}x)" if size["rest_runs_skipped"] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="timed runs per query (default 300)")
    parser.add_argument("--sizes", default="10000,200000", help="org sizes for the credits (default 10000,200000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--every-api", action="store_true",
                        help="run forced REST even where it cannot be the cheapest (slow on large orgs)")
    parser.add_argument("--no-credits", action="store_true", help="the overhead table only")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "planner.json")
    args = parser.parse_args(argv)
    report = run(max(1, args.runs))
    print_table(report)
    if not args.no_credits:
        from planner_credits import run_size

        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        report["credits"] = {"goal_ratio": GOAL_RATIO, "seed": args.seed,
                             "sizes": [run_size(n, args.seed, args.every_api or n <= 50_000) for n in sizes]}
        print_credits(report["credits"])
    save(report, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
