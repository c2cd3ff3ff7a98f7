"""The query planner: SQL in, per-table reads (API, columns, pushed filters) and DuckDB SQL out.

``plan_query(sql, params, resolve, config)`` -> :class:`Plan`; ``explain(plan)``
renders it. See plan.py for the API choice, rules/ for the pushdown rules.
"""

from .explain import explain, explain_table
from .plan import Plan, TableScan, plan_query

__all__ = ["Plan", "TableScan", "explain", "explain_table", "plan_query"]
