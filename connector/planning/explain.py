"""EXPLAIN: what each Zoho table costs and why, as text or as an Arrow table.

Per table: the API chosen and why, what is pushed (search criteria, COQL
WHERE, Bulk criteria JSON, modified-since, LIMIT/ORDER BY), the residual
filter DuckDB applies on top, whether the pushdown is exact, the projected
columns, the estimated rows, calls and credits, and (APIType=Auto) every
candidate API's calls and credits — with their range when the rows were not
counted — and the statistics bought to choose.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from .plan import Plan, TableScan

_PUSHED_BY_API = {"Search": ("Search", "COQL"), "COQL": ("COQL",), "Bulk": ("Bulk",), "REST": ()}
_LABEL = {"Search": "search criteria", "COQL": "COQL where", "Bulk": "bulk criteria"}

SCHEMA = pa.schema([
    ("table", pa.string()), ("relation", pa.string()), ("api", pa.string()), ("reason", pa.string()),
    ("search_criteria", pa.string()), ("coql_where", pa.string()), ("bulk_criteria", pa.string()),
    ("modified_since", pa.string()), ("limit", pa.int64()), ("order_by", pa.string()),
    ("residual", pa.string()), ("exact", pa.bool_()), ("columns", pa.list_(pa.string())),
    ("estimated_rows", pa.int64()), ("estimated_calls", pa.int64()), ("estimated_credits", pa.int64()),
    ("count_via_coql", pa.bool_()), ("candidates", pa.string()), ("statistics", pa.list_(pa.string())),
])


def _num(v: int | None, unit: str) -> str:
    return f"unknown {unit}s" if v is None else f"{v:,} {unit}{'' if v == 1 else 's'}"


def _order(scan: TableScan) -> str:
    return ", ".join(f"{f} {'asc' if asc else 'desc'}" for f, asc in scan.pushdown.order_by)


def _pushed_lines(scan: TableScan) -> list[str]:
    pd = scan.pushdown
    if scan.count_via_coql:
        return [f"  coql:      {scan.coql_count}"]
    lines = []
    for target in _PUSHED_BY_API.get(scan.api, ()):
        value = {"Search": pd.criteria, "COQL": pd.coql_where, "Bulk": pd.bulk_criteria}[target]
        if value is None:
            continue
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
        note = " (for records newer than SearchIndexLag and past 2,000 results)" \
            if scan.api == "Search" and target == "COQL" else ""
        lines.append(f"  {_LABEL[target] + ':':<16} {shown}{note}")
    if scan.api == "REST" and pd.modified_since is not None:
        lines.append(f"  {'modified since:':<16} {pd.modified_since.isoformat()}")
    for column, values in pd.keys:  # org tables and Attachments: these values are all the calls ask for
        lines.append(f"  {'calls only for:':<16} {column} IN ({', '.join(repr(v) for v in values)})")
    if not lines:
        lines.append(f"  {'pushed:':<16} nothing")
    if pd.limit is not None:
        lines.append(f"  {'limit:':<16} {pd.limit}" + (f" order by {_order(scan)}" if pd.order_by else ""))
    return lines


def explain_scan(scan: TableScan) -> str:
    name = scan.module if scan.alias in (scan.module, scan.relation) else f"{scan.module} AS {scan.alias}"
    lines = [f"{name} -> {scan.api}: {scan.reason}"]
    lines += _pushed_lines(scan)
    lines.append(f"  {'residual:':<16} {scan.residual or '(none)'}")
    lines.append(f"  {'exact:':<16} {'yes' if scan.exact else 'no (DuckDB re-applies the WHERE clause)'}")
    total = len(scan.columns)
    lines.append(f"  {'columns:':<16} {', '.join(scan.columns)} ({total})")
    lines.append(f"  {'estimate:':<16} {_num(scan.estimated_rows, 'row')}, {_num(scan.estimated_calls, 'call')}, "
                 f"{_num(scan.estimated_credits, 'credit')}")
    if scan.candidates:
        lines.append(f"  {'candidates:':<16} {candidates_text(scan)}")
    if scan.statistics:
        lines.append(f"  {'statistics:':<16} bought {'; '.join(scan.statistics)} (1 credit each)")
    return "\n".join(lines)


def candidates_text(scan: TableScan) -> str:
    """Every API's price for the read, the chosen one marked: ``COQL 3 calls, 7 credits (chosen); ...``."""
    parts = []
    for c in scan.candidates:
        text = f"{c.api} {_num(c.cost.calls, 'call')}, {_num(c.cost.credits, 'credit')}"
        if c.low.credits is not None and c.high.credits is not None and c.low.credits != c.high.credits:
            text += f" ({c.low.credits:,}-{c.high.credits:,} over the rows possible)"
        elif c.high.credits is None and c.cost.credits is not None:
            text += " (more if the rows are more)"
        parts.append(text + (" (chosen)" if c.api == scan.api else ""))
    return "; ".join(parts)


def explain(plan: Plan) -> str:
    """Human-readable EXPLAIN of a plan."""
    parts = [explain_scan(s) for s in plan.scans] or ["(no Zoho tables: DuckDB runs the statement alone)"]
    credits = [s.estimated_credits for s in plan.scans]
    if plan.scans:
        known = sum(c for c in credits if c is not None)
        more = " + unknown" if any(c is None for c in credits) else ""
        parts.append(f"total estimated credits: {known:,}{more}")
    parts.append(f"DuckDB: {plan.sql.strip()}")
    return "\n".join(parts)


def explain_table(plan: Plan) -> pa.Table:
    """One row per Zoho table scan, same facts as :func:`explain`."""
    rows: list[dict[str, Any]] = []
    for s in plan.scans:
        pd = s.pushdown
        rows.append({
            "table": s.module, "relation": s.relation, "api": s.api, "reason": s.reason,
            "search_criteria": pd.criteria, "coql_where": s.coql_count if s.count_via_coql else pd.coql_where,
            "bulk_criteria": json.dumps(pd.bulk_criteria, ensure_ascii=False) if pd.bulk_criteria else None,
            "modified_since": pd.modified_since.isoformat() if pd.modified_since else None,
            "limit": pd.limit, "order_by": _order(s) or None, "residual": s.residual or None, "exact": s.exact,
            "columns": list(s.columns), "estimated_rows": s.estimated_rows, "estimated_calls": s.estimated_calls,
            "estimated_credits": s.estimated_credits, "count_via_coql": s.count_via_coql,
            "candidates": candidates_text(s) or None, "statistics": list(s.statistics),
        })
    return pa.Table.from_pylist(rows, schema=SCHEMA)
