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

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import schema
from ..app import App
from ..clock import VirtualClock
from ..coql import parse_coql
from ..coql_json import STORED_TYPES, column_json, sql_text
from ..coql_plan import SE_MODULE, Column, CoqlPlan, invalid_query, plan_coql
from ..encoding import ScalarDecoder, scalar_converter
from ..filters import LOOKUP_TYPES, compile_filter
from ..http import Request, Response, route
from ..query import Selection, clauses, page_first
from ..store import Store, module_column, q
from ..tokens import require_scope
from ..zoho_errors import ZohoError, module_not_supported
from .common import API, fixed_scopes, module_scopes_of

Decoder = Callable[[Sequence[Any]], Any]
_SQL_FUNCS = {"COUNT": "count", "SUM": "sum", "MAX": "max", "MIN": "min", "AVG": "avg"}


def credits_for(limit: int) -> int:
    return 1 if limit <= 200 else 2 if limit <= 1_000 else 3


def column_sql(sel: Selection, col: Column, clock: VirtualClock) -> tuple[list[str], Decoder, str]:
    """SQL expressions of one plain column (value first), the decoder of their values, and the kind
    of value they are (:func:`..coql_json.column_json` renders it in SQL)."""
    if col.path == [SE_MODULE] and col.field is not None:  # the polymorphic lookup's module, as stored
        return [f"{sel.alias}.{q(module_column(col.field) or '')}"], lambda v: v[0], "text"
    sql, f, kind = sel.path_expr(col.path)
    if kind == "id" or col.vtype == "id":
        return [sql], lambda v: None if v[0] is None else str(v[0]), "id"
    if f is None:  # a users-table text column (Owner.last_name ...)
        return [sql], lambda v: v[0], "text"
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

        return exprs, lookup, "lookup"
    return [sql], _scalar(f.value_type, clock), f.value_type


def _scalar(value_type: str, clock: VirtualClock) -> Decoder:
    return ScalarDecoder(0, scalar_converter(value_type, clock))  # the column's one value, first of its slice


def _order(expr: str, desc: bool) -> str:
    return f"{expr} DESC NULLS LAST" if desc else f"{expr} ASC NULLS FIRST"


class _Select:
    """The select list under construction: expressions plus one decoder per output key."""

    def __init__(self) -> None:
        self.exprs: list[str] = []
        #: (key, first expression, expressions, decoder, kind for :func:`column_json`: "" if none)
        self.outputs: list[tuple[str, int, int, Decoder, str]] = []

    def add(self, key: str, exprs: list[str], decode: Decoder, kind: str = "") -> None:
        self.outputs.append((key, len(self.exprs), len(exprs), decode, kind))
        self.exprs.extend(exprs)

    def json_sql(self, types: list[str], clock: VirtualClock) -> str | None:
        """One expression rendering a whole record as JSON text, ``id`` last as the decoder adds it;
        None when a column's rendering in SQL is not certain (the Python decoders then do it)."""
        keys = [key for key, *_ in self.outputs]
        if len(set(keys)) != len(keys):
            return None
        parts = []
        for key, i, n, _, kind in self.outputs:
            value = column_json(kind, self.exprs[i:i + n], types[i:i + n], clock) if kind else None
            if value is None:
                return None
            parts.append(f"{sql_text(key)}, {value}")
        if "id" not in keys:
            value = column_json("id", self.exprs[:1], types[:1], clock)
            if value is None:
                return None
            parts.append(f"'id', {value}")
        return f"json_object({', '.join(parts)})"

    def decoder(self) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """Rows -> records; a one-value column is converted without slicing the row (pages of 2,000)."""
        outs = [(key, i, None, dec.convert) if isinstance(dec, ScalarDecoder) else (key, i, n, dec)
                for key, i, n, dec, _ in self.outputs]

        def decode(row: Sequence[Any]) -> dict[str, Any]:
            return {key: conv(row[i]) if n is None else conv(row[i:i + n]) for key, i, n, conv in outs}

        return decode


@dataclass
class _Sql:
    """A compiled plan: ``{head}SELECT {select list} FROM {relation}{tail}`` with ``params``."""

    out: _Select
    relation: str
    head: str
    tail: str
    params: list[Any]
    #: a page of records' row order (ends in the id): None for aggregates
    order: str | None = None

    def text(self, select_list: str) -> str:
        return f"{self.head}SELECT {select_list} FROM {self.relation}{self.tail}"


def _compile(clock: VirtualClock, plan: CoqlPlan) -> _Sql:
    """A plan as SQL. Column 0 of a record row is the record id.

    A page of records picks its ids first (:func:`..query.page_first`): the filter and the order are
    compiled against a Selection of their own, whose joins are only those they need."""
    now = clock.now_naive()  # one instant for both halves: formulas such as Days_Open move with it
    sel = Selection(plan.module, now)
    out = _Select()
    if plan.aggregate:
        where, params = compile_filter(plan.where, sel, plan.module, clock) if plan.where is not None else ("", [])
        order: list[str] = []
        group_sql: list[str] = []
        group_key: dict[tuple[str | None, str], tuple[list[str], Decoder]] = {}
        for g in plan.group_by:
            exprs, dec, _ = column_sql(sel, g, clock)
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
        tail = clauses(where, ", ".join(group_sql), ", ".join(order))
        # the relation after every path_expr: the joins are known
        return _Sql(out, sel.from_clause(), "", tail + f" LIMIT {plan.limit + 1} OFFSET {plan.offset}", list(params))
    out.exprs.append(f"{sel.alias}.id")  # column 0: the record id
    for c in plan.columns:
        exprs, dec, kind = column_sql(sel, c, clock)
        out.add(c.key, exprs, dec, kind)
    page = Selection(plan.module, now)  # its joins: those the filter and the order need
    where, params = compile_filter(plan.where, page, plan.module, clock) if plan.where is not None else ("", [])

    def ordering(s: Selection) -> str:
        order = [_order(s.path_expr(col.path)[0], desc) for col, desc in plan.order_by]
        if not any(col.path == ["id"] for col, _ in plan.order_by):
            order.append(f"{s.alias}.id ASC")  # the tie-breaker: OFFSET pages are stable
        return ", ".join(order)

    row_order = ordering(sel)
    head, tail = page_first(page, where, ordering(page), plan.limit + 1, plan.offset, sel.alias, row_order)
    return _Sql(out, sel.from_clause(), head, tail, list(params), row_order)


def run_plan(store: Store, clock: VirtualClock, plan: CoqlPlan) -> tuple[list[dict[str, Any]], bool]:
    """Execute a plan; returns (rendered rows, more_records)."""
    sql = _compile(clock, plan)
    out = sql.out
    rows = store.fetchall(sql.text(", ".join(out.exprs)), sql.params)
    more = len(rows) > plan.limit
    records = []
    decode = out.decoder()
    for row in rows[:plan.limit]:
        rec = decode(row)
        if not plan.aggregate:
            rec["id"] = str(row[0])
        records.append(rec)
    return records, more


def run_plan_json(store: Store, clock: VirtualClock, plan: CoqlPlan) -> tuple[bytes, int, bool] | None:
    """:func:`run_plan` rendered by DuckDB (:mod:`..coql_json`): the page's records as JSON, comma-separated
    in the page's order (UTF-8, one value: no Python string per record), their count and whether more
    follow; None for a plan it does not render (aggregates, a column whose stored type it is not certain of)."""
    if plan.aggregate:
        return None
    sql = _compile(clock, plan)
    assert sql.order is not None
    # the types of the select list over the relation alone (no filter: no parameters to bind)
    types = STORED_TYPES.of(store, f"SELECT {', '.join(sql.out.exprs)} FROM {sql.relation}", store.fetchall)
    record = sql.out.json_sql(types, clock)
    if record is None:
        return None
    # the page's rows (one more than the LIMIT: whether more follow) numbered in its order, joined in it
    rows = sql.text(f"{record} AS _json, row_number() OVER (ORDER BY {sql.order}) AS _n")
    got = store.fetchone(f"SELECT count(*), encode(string_agg(_json, ',' ORDER BY _n) FILTER (WHERE _n <= "
                         f"{int(plan.limit)})) FROM ({rows}) AS _rows", sql.params)
    assert got is not None
    found = int(got[0])
    return bytes(got[1] or b""), min(found, plan.limit), found > plan.limit


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
    if not app.settings.coql_se_module and any(c.path == [SE_MODULE] for c in plan.columns):
        raise invalid_query("column given seems to be invalid", column_name=SE_MODULE)  # as a Zoho without it
    req.credits = credits_for(plan.limit)
    rendered = run_plan_json(app.store, app.clock, plan)
    if rendered is not None:
        records, count, more = rendered
        if not count:
            return Response.empty(204)
        req.records = count
        info = json.dumps({"count": count, "more_records": more}, separators=(",", ":")).encode()
        body = b"".join((b'{"data":[', records, b'],"info":', info, b"}"))
        return Response(200, body, {"Content-Type": "application/json;charset=UTF-8"})
    rows, more = run_plan(app.store, app.clock, plan)
    if not rows:
        return Response.empty(204)
    req.records = len(rows)
    return Response.json({"data": rows, "info": {"count": len(rows), "more_records": more}})
