"""The query planner: SQL in, per-table reads (API, columns, pushed filters) and DuckDB SQL out.

``plan_query(sql, params, resolve, config)`` -> :class:`Plan`; ``explain(plan)``
renders it. See plan.py for the API choice, rules/ for the pushdown rules.

The names below load on first use: the planner brings in sqlglot and its DuckDB dialect (a quarter
of a second), which a sync, pricing its reads with :mod:`.choice` alone, never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .explain import explain, explain_table
    from .plan import Plan, TableScan, plan_query

__all__ = ["Plan", "TableScan", "explain", "explain_table", "plan_query"]
_HOME = {"Plan": "plan", "TableScan": "plan", "plan_query": "plan", "explain": "explain", "explain_table": "explain"}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
