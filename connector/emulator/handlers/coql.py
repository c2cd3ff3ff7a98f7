"""``POST /crm/{v}/coql``: a checked COQL plan -> DuckDB SQL -> rows as Zoho renders them.

search-and-coql.md B.1, B.7, B.8. Body ``{"select_query": "..."}``, accepted with
or without Content-Type (the SDK sends none). Scopes: ``ZohoCRM.coql.READ``
(route) and read access to the module in FROM (checked here, 401
``OAUTH_SCOPE_MISMATCH``). Credits 1/2/3 by LIMIT (<= 200 / <= 1,000 / <= 2,000);
COQL counts towards the sub-concurrency limit. No rows -> 204.

Rendering follows the Records API: ids as strings, lookups ``{"name", "id"}``
(user lookups too: no ``email`` in COQL), datetimes with the user's offset,
dotted columns as flat keys, ``id`` always present in record rows. Aggregate
rows carry their group columns and aggregates only (there is no single id).

Ordering: as asked, then ``id`` ascending as the tie-breaker so OFFSET paging
is stable (no ORDER BY = ``id`` ascending). NULLs sort first ascending and last
descending (MySQL's habit; unconfirmed for Zoho).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import schema
from ..app import App
from ..clock import VirtualClock
from ..coql import parse_coql
from ..coql_plan import Column, CoqlPlan, plan_coql
from ..encoding import scalar_converter
from ..filters import LOOKUP_TYPES, compile_filter
from ..http import Request, Response, route
from ..query import Selection
from ..store import Store, module_column, q
from ..tokens import require_scope
from ..zoho_errors import ZohoError, module_not_supported
from .common import API, fixed_scopes, module_scopes_of

Decoder = Callable[[Sequence[Any]], Any]
_SQL_FUNCS = {"COUNT": "count", "SUM": "sum", "MAX": "max", "MIN": "min", "AVG": "avg"}


def credits_for(limit: int) -> int:
    return 1 if limit <= 200 else 2 if limit <= 1_000 else 3


def column_sql(sel: Selection, col: Column, clock: VirtualClock) -> tuple[list[str], Decoder]:
    """SQL expressions of one plain column (value first) and the decoder of their values."""
    sql, f, kind = sel.path_expr(col.path)
    if kind == "id" or col.vtype == "id":
        return [sql], lambda v: None if v[0] is None else str(v[0])
    if f is None:  # a users-table text column (Owner.last_name ...)
        return [sql], lambda v: v[0]
    if f.data_type in LOOKUP_TYPES:
        owner = sel.alias if len(col.path) == 1 else sel.path_expr(col.path[:-1] + ["id"])[0].rsplit(".", 1)[0]
        exprs = [sql, sel.name_expr(f, owner, tuple(col.path))]
        if f.data_type == "multi_module_lookup" and module_column(f):
            exprs.append(f"{owner}.{q(module_column(f) or '')}")

        def lookup(v: Sequence[Any]) -> Any:
            if v[0] is None:
                return None
            out: dict[str, Any] = {"name": v[1], "id": str(v[0])}
            if len(v) > 2:
                mod = schema.MODULES_BY_NAME.get(v[2])
                out = {"module": {"api_name": v[2], "id": str(mod.module_id) if mod else None}, **out}
            return out

        return exprs, lookup
    return [sql], _scalar(f.value_type, clock)


def _scalar(value_type: str, clock: VirtualClock) -> Decoder:
    conv = scalar_converter(value_type, clock)

    def decode(v: Sequence[Any]) -> Any:
        return conv(v[0])

    decode.one = conv  # type: ignore[attr-defined]  # _Select reads single values without a slice
    return decode


def _order(expr: str, desc: bool) -> str:
    return f"{expr} DESC NULLS LAST" if desc else f"{expr} ASC NULLS FIRST"


class _Select:
    """The select list under construction: expressions plus one decoder per output key."""

    def __init__(self) -> None:
        self.exprs: list[str] = []
        self.outputs: list[tuple[str, int, int, Decoder]] = []

    def add(self, key: str, exprs: list[str], decode: Decoder) -> None:
        self.outputs.append((key, len(self.exprs), len(exprs), decode))
        self.exprs.extend(exprs)

    def decoder(self) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """Rows -> records; a one-value column is converted without slicing the row (pages of 2,000)."""
        outs = [(key, i, None, dec.one) if n == 1 and hasattr(dec, "one") else (key, i, n, dec)
                for key, i, n, dec in self.outputs]

        def decode(row: Sequence[Any]) -> dict[str, Any]:
            return {key: conv(row[i]) if n is None else conv(row[i:i + n]) for key, i, n, conv in outs}

        return decode


def run_plan(store: Store, clock: VirtualClock, plan: CoqlPlan) -> tuple[list[dict[str, Any]], bool]:
    """Execute a plan; returns (rendered rows, more_records)."""
    sel = Selection(plan.module, clock.now_naive())
    where, params = compile_filter(plan.where, sel, plan.module, clock) if plan.where is not None else ("", [])
    out = _Select()
    order: list[str] = []
    group_sql: list[str] = []
    if plan.aggregate:
        group_key: dict[tuple[str | None, str], tuple[list[str], Decoder]] = {}
        for g in plan.group_by:
            exprs, dec = column_sql(sel, g, clock)
            group_key[g.ident] = (exprs, dec)
            group_sql.append(exprs[0])
        agg_sql: dict[tuple[str | None, str], str] = {}
        for c in plan.columns:
            if c.func:
                arg = sel.path_expr(c.path)[0]
                agg_sql[c.ident] = f"{_SQL_FUNCS[c.func]}({arg})"
                vt = "integer" if c.func == "COUNT" else "double" if c.func == "AVG" else c.vtype
                out.add(c.key, [agg_sql[c.ident]], _scalar(vt, clock))
            else:
                exprs, dec = group_key[c.ident]
                # the name/module of a grouped lookup depends on its id: any_value is exact
                out.add(c.key, [exprs[0]] + [f"any_value({e})" for e in exprs[1:]], dec)
        for col, desc in plan.order_by:
            order.append(_order(agg_sql[col.ident] if col.func else group_key[col.ident][0][0], desc))
        order += [_order(g, False) for g in group_sql]
    else:
        for c in plan.columns:
            exprs, dec = column_sql(sel, c, clock)
            out.add(c.key, exprs, dec)
        order = [_order(sel.path_expr(col.path)[0], desc) for col, desc in plan.order_by]
        if not any(col.path == ["id"] for col, _ in plan.order_by):
            order.append(f"{sel.alias}.id ASC")
        out.exprs.insert(0, f"{sel.alias}.id")
        out.outputs = [(k, i + 1, n, d) for k, i, n, d in out.outputs]
    sql = f"SELECT {', '.join(out.exprs)} FROM {sel.from_clause()}"  # after every path_expr: joins are known
    if where:
        sql += f" WHERE {where}"
    if group_sql:
        sql += f" GROUP BY {', '.join(group_sql)}"
    if order:
        sql += f" ORDER BY {', '.join(order)}"
    sql += f" LIMIT {plan.limit + 1} OFFSET {plan.offset}"
    rows = store.fetchall(sql, params)
    more = len(rows) > plan.limit
    records = []
    decode = out.decoder()
    for row in rows[:plan.limit]:
        rec = decode(row)
        if not plan.aggregate:
            rec["id"] = str(row[0])
        records.append(rec)
    return records, more


@route("POST", API + "/coql", scopes=fixed_scopes("ZohoCRM.coql.READ"), heavy=lambda req: True)
def coql_query(app: App, req: Request) -> Response:
    body = req.json()
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        # Zoho's code for a missing body key (unconfirmed for COQL).
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found",
                        {"api_name": "select_query", "json_path": "$.select_query"})
    query = parse_coql(text)
    m = app.org.module(query.module)
    if m is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"module": query.module})
    if not m.coql or not m.api_supported:
        raise module_not_supported(m.api_name, module=m.api_name)
    assert req.token is not None
    require_scope(req.token, module_scopes_of(m, "READ"))
    plan = plan_coql(query, m)
    req.credits = credits_for(plan.limit)
    rows, more = run_plan(app.store, app.clock, plan)
    if not rows:
        return Response.empty(204)
    req.records = len(rows)
    return Response.json({"data": rows, "info": {"count": len(rows), "more_records": more}})
