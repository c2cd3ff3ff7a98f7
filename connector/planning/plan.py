"""``plan_query``: per Zoho table, which API reads it and what it is asked for.

The plan never decides a query's answer: DuckDB runs the statement (``Plan.sql``)
over what the readers return and re-applies every WHERE term. The plan only
makes the reads cheaper (columns, filters, LIMIT), so a pushdown may return a
superset of the rows, never a subset.

API choice (``APIType``): REST, COQL, Bulk or Search force one API. ``Auto``:

1. ``SELECT COUNT(*)`` with no filter or an exact COQL filter: one COQL call;
2. a LIMIT of at most 2,000 rows the API can honour exactly: REST (no filter,
   no ORDER BY) or COQL (exact filter and/or an ORDER BY it can sort by);
3. ``UseCOQL=true`` and a filter COQL can take: COQL;
4. no pushable filter: REST for small modules (<= 5,000 rows), else Bulk;
5. selective equals/starts_with/IN that Search can take in full, estimated at
   <= 2,000 rows and no dearer than COQL: Search; estimated <= 5,000 rows: COQL;
6. otherwise Bulk (with its criteria), including when the size is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from connector.config.config import ConnectionConfig
from connector.errors import ConnectorError
from connector.model import Pushdown
from connector.schema.types import TableSchema

from . import cost
from .analyze import Resolver, TableRef, Unit, analyze, parse
from .predicates import Pred
from .rules import FilterPushdown, Target, make_context, push_filter

SMALL_MODULE = 5_000  # rows: a REST scan is cheaper than a Bulk job below this
SELECTIVE = 5_000  # estimated result rows below which COQL beats Bulk
SEARCH_MAX = cost.SEARCH_CAP
SORTABLE_SYSTEM = frozenset({"Created_Time", "Modified_Time"})


@dataclass(frozen=True)
class TableScan:
    module: str
    columns: tuple[str, ...]
    api: str  # "REST" | "COQL" | "Bulk" | "Search"
    pushdown: Pushdown
    residual: str  # WHERE terms of this table not pushed exactly (DuckDB still applies the whole WHERE)
    exact: bool
    estimated_calls: int | None
    estimated_credits: int | None
    relation: str = ""  # the name the engine registers this scan's rows under in DuckDB (default: module)
    alias: str = ""  # the table's alias in the statement (default: module)
    estimated_rows: int | None = None
    reason: str = ""
    #: the conjuncts rendered for every target, whichever API was chosen (EXPLAIN, fallbacks)
    filters: Mapping[str, FilterPushdown] = field(default_factory=dict)
    count_via_coql: bool = False
    coql_count: str | None = None  # the COQL statement that answers COUNT(*) when count_via_coql

    def __post_init__(self) -> None:
        for name in ("relation", "alias"):
            if not getattr(self, name):
                object.__setattr__(self, name, self.module)


@dataclass(frozen=True)
class Plan:
    sql: str  # the statement for DuckDB, Zoho tables renamed to each scan's relation
    params: Sequence[Any] | Mapping[str, Any] | None
    scans: tuple[TableScan, ...]
    explain: bool = False  # the statement was EXPLAIN <query>
    source_sql: str = ""

    @property
    def count_via_coql(self) -> bool:
        return len(self.scans) == 1 and self.scans[0].count_via_coql

    def scan(self, relation: str) -> TableScan:
        return next(s for s in self.scans if s.relation == relation)


def plan_query(sql: str, params: Sequence[Any] | Mapping[str, Any] | None, resolve: Resolver,
               config: ConnectionConfig | None = None, *, estimate_rows: Callable[[str], int | None] | None = None,
               schemas: Sequence[str] = ("zoho",)) -> Plan:
    """Plan ``sql`` (DuckDB dialect; ``?``/``$n``/``$name`` parameters bound from ``params``).

    ``resolve(name)`` returns the TableSchema of a Zoho module, or None for any
    other name (left to DuckDB); tables qualified with a schema outside
    ``schemas`` are never Zoho. ``estimate_rows(module)`` gives a module's record
    count (None: unknown, assumed large). The engine registers each scan's rows as
    ``scan.relation``, runs ``plan.sql`` with ``plan.params``, and must run DuckDB
    with ``TimeZone='UTC'`` (naive timestamp literals are planned as UTC).
    """
    config = config or ConnectionConfig()
    analysis = analyze(sql, params, resolve, schemas=schemas)
    totals: dict[str, int | None] = {}

    def total(module: str) -> int | None:
        if module not in totals:
            try:
                totals[module] = estimate_rows(module) if estimate_rows is not None else None
            except ConnectorError:
                totals[module] = None  # an estimate is a hint; the read itself will report real trouble
        return totals[module]

    displays: dict[str, str | None] = {}

    def display_field(module: str) -> str | None:
        if module not in displays:
            try:
                ts = resolve(module)
            except ConnectorError:
                ts = None
            displays[module] = ts.display_field if ts is not None else None
        return displays[module]

    relations = _relation_names(analysis.refs)
    scans = tuple(_plan_scan(ref, relations[ref.index], config, total, display_field) for ref in analysis.refs)
    return Plan(_rewrite(analysis.sql, analysis.refs, relations, schemas), params, scans, analysis.explain, sql)


# ---- one table --------------------------------------------------------------------------------


def _plan_scan(ref: TableRef, relation: str, config: ConnectionConfig, total: Callable[[str], int | None],
               display_field: Callable[[str], str | None]) -> TableScan:
    ts = ref.schema
    columns = ref.column_list()
    filtering = config.use_server_side_filtering and ref.filters_allowed
    units = ref.units if filtering else []
    ctx = make_context(ts, display_field)
    nodes = [u.node for u in units]
    filters = {t.value: push_filter(nodes, t, ctx) for t in Target} if units else {}
    rest = _rest_filter(units)
    has_where = bool(ref.conjuncts)

    coql_exact = not has_where or (bool(filters) and filters["COQL"].exact)
    if ref.count_only and coql_exact and config.api_type in ("Auto", "COQL") and (filtering or not has_where):
        where = filters["COQL"].value if filters else None
        pd = Pushdown(coql_where=where, exact=True)
        query = f"select COUNT(id) from {ts.module} where {where or 'id is not null'}"
        return TableScan(ts.module, ("id",), "COQL", pd, "", True, 1, 1, relation, ref.alias, None,
                         "COUNT(*) answered by one COQL aggregate", filters, True, query)

    order = _pushable_order(ref, ts)
    api, reason = _choose(ref, config, filters, units, order, ts, total, coql_exact)
    if has_where and not filtering:
        reason += ("; UseServerSideFiltering=false: DuckDB filters every row" if ref.filters_allowed
                   else "; the join or sampling makes pushing this table's WHERE unsafe")
    chosen = filters.get(api)
    exact_units: tuple[bool, ...]
    if not has_where:
        exact, exact_units = True, ()
    elif api == "REST":
        exact, exact_units = rest[2], rest[1]
    elif chosen is not None:
        exact, exact_units = chosen.exact, chosen.exact_units
    else:
        exact, exact_units = False, ()

    limit: int | None = None
    order_by: tuple[tuple[str, bool], ...] = ()
    if ref.lone and ref.limit is not None and exact:
        if ref.order_by == ():
            limit = ref.limit
        elif api == "COQL" and order and ref.limit <= cost.COQL_PAGE:
            limit, order_by = ref.limit, order
    pd = Pushdown(criteria=_value(filters, "Search"), coql_where=_value(filters, "COQL"),
                  bulk_criteria=_value(filters, "Bulk"), modified_since=rest[0] if api == "REST" else None,
                  limit=limit, order_by=order_by, exact=exact)
    residual = _residual(ref, units, exact_units)
    rows = _estimated_rows(api, filters, rest, units, ts, total)
    if limit is not None:
        rows = limit if rows is None else min(rows, limit)
    price = _cost(api, rows, ts, columns, limit)
    return TableScan(ts.module, columns, api, pd, residual, exact, price.calls, price.credits, relation, ref.alias,
                     rows, reason, filters)


def _value(filters: Mapping[str, FilterPushdown], target: str) -> Any:
    f = filters.get(target)
    return f.value if f is not None else None


def _choose(ref: TableRef, config: ConnectionConfig, filters: Mapping[str, FilterPushdown], units: list[Unit],
            order: tuple[tuple[str, bool], ...] | None, ts: TableSchema, total: Callable[[str], int | None],
            coql_exact: bool) -> tuple[str, str]:
    pushable = {t for t, f in filters.items() if f.value is not None}
    forced = config.api_type
    if forced != "Auto":
        note = ""
        if forced == "Search" and "Search" not in pushable:
            note = " (no search criteria apply: the search reader falls back to its COQL path)"
        elif forced == "REST" and units:
            note = " (the list API cannot filter; DuckDB filters the rows)"
        return forced, f"APIType={forced}{note}"
    has_where = bool(ref.conjuncts)
    if ref.lone and ref.limit is not None and ref.limit <= cost.COQL_PAGE:
        if ref.order_by and order and coql_exact:
            return "COQL", f"ORDER BY ... LIMIT {ref.limit}: one sorted COQL call"
        if ref.order_by == () and not has_where:
            return "REST", f"LIMIT {ref.limit}: the first page(s) of the list API"
        if ref.order_by == () and coql_exact:
            return "COQL", f"LIMIT {ref.limit} with an exact COQL filter"
    if config.use_coql and "COQL" in pushable:
        return "COQL", "UseCOQL=true and the filter can be pushed to COQL"
    n = total(ts.module)
    size = f"{n:,} rows" if n is not None else "unknown size"
    if not pushable:
        if n is not None and n <= SMALL_MODULE:
            return "REST", f"small module ({size}) and no filter Zoho can apply"
        return "Bulk", f"{'large module' if n is not None else 'module of unknown size'} ({size}) and no " \
                       "filter Zoho can apply"
    est = {t: cost.result_rows(_pushed_nodes(units, filters[t]), n, ts) for t in pushable}
    if "Search" in pushable and _search_fits(filters, units, est["Search"], est.get("COQL")):
        return "Search", f"selective equals/starts_with/IN (~{est['Search']:,} of {size}, <= {SEARCH_MAX:,})"
    coql_rows = est.get("COQL")
    if coql_rows is not None and coql_rows <= SELECTIVE:
        why = ""
        if "Search" in pushable and (est["Search"] or SEARCH_MAX + 1) <= SEARCH_MAX:
            why = "; cheaper than Search's 200-row pages"
        return "COQL", f"selective filter (~{coql_rows:,} of {size}){why}"
    bulk_rows = est.get("Bulk")
    shown = f"~{bulk_rows:,} of {size}" if bulk_rows is not None else size
    return "Bulk", f"large scan ({shown}); Bulk Read is the cheapest per row"


def _pushed_nodes(units: list[Unit], f: FilterPushdown) -> list[Any]:
    return [u.node for u, ok in zip(units, f.pushed, strict=True) if ok]


def _search_fits(filters: Mapping[str, FilterPushdown], units: list[Unit], rows: int | None,
                 coql_rows: int | None) -> bool:
    search, coql = filters["Search"], filters.get("COQL")
    if rows is None or rows > SEARCH_MAX:
        return False
    if coql is not None and any(c and not s for s, c in zip(search.pushed, coql.pushed, strict=True)):
        return False  # COQL can take more of the WHERE: it returns fewer rows
    pushed = _pushed_nodes(units, search)
    selective = any(isinstance(n, Pred) and n.op in ("eq", "in", "like", "ilike") for n in pushed)
    search_credits = cost.search_cost(rows).credits or 0
    coql_credits = cost.coql_cost(coql_rows if coql_rows is not None else rows).credits or 0
    # Ties go to Search (an index lookup); a big result is cheaper through COQL's 2,000-row pages.
    return selective and search_credits <= coql_credits + 1


def _pushable_order(ref: TableRef, ts: TableSchema) -> tuple[tuple[str, bool], ...] | None:
    """ORDER BY keys COQL sorts exactly like DuckDB: never-null numbers, dates and datetimes."""
    if not ref.order_by:
        return None
    keys = []
    for col, asc in ref.order_by:
        f = ts.fields.get(col.field)
        if f is None or col.part != "value" or col.value_type not in ("datetime", "date", "integer", "bigint",
                                                                          "double", "currency", "percent"):
            return None  # text sorts differ in case; ids sort as numbers in Zoho but as strings here
        if col.field not in SORTABLE_SYSTEM and not f.mandatory:
            return None  # where NULLs sort is not documented for COQL: only never-null keys
        keys.append((col.field, asc))
    return tuple(keys)


def _rest_filter(units: list[Unit]) -> tuple[datetime | None, tuple[bool, ...], bool]:
    """The list API filters only by If-Modified-Since: lower bounds on Modified_Time."""
    since: datetime | None = None
    exact_units = []
    for u in units:
        n = u.node
        bound, ok = None, False
        if isinstance(n, Pred) and n.column.field == "Modified_Time" and n.column.value_type == "datetime":
            if n.op == "ge":
                bound, ok = n.value, True
            elif n.op == "gt":
                bound, ok = n.value + timedelta(seconds=1), True  # whole seconds: > t is >= t+1s
            elif n.op in ("eq", "between"):
                bound = n.value if n.op == "eq" else n.value[0]
        if bound is not None:
            since = bound if since is None else max(since, bound)
        exact_units.append(ok)
    return since, tuple(exact_units), bool(units) and all(exact_units)


def _residual(ref: TableRef, units: list[Unit], exact_units: Sequence[bool]) -> str:
    done: dict[int, bool] = {}
    for u, ok in zip(units, exact_units, strict=False):
        done[u.conjunct] = done.get(u.conjunct, True) and ok
    for u in units[len(exact_units):]:
        done[u.conjunct] = False
    left = [ref.conjunct_sql(i) for i in range(len(ref.conjuncts)) if not done.get(i, False)]
    return " AND ".join(f"({s})" if len(left) > 1 else s for s in left)


def _estimated_rows(api: str, filters: Mapping[str, FilterPushdown], rest: tuple[Any, ...], units: list[Unit],
                    ts: TableSchema, total: Callable[[str], int | None]) -> int | None:
    n = total(ts.module)
    if api in filters:
        return cost.result_rows(_pushed_nodes(units, filters[api]), n, ts)
    if api == "REST" and rest[0] is not None:
        return cost.result_rows([u.node for u, ok in zip(units, rest[1], strict=True) if ok], n, ts)
    return n


def _cost(api: str, rows: int | None, ts: TableSchema, columns: tuple[str, ...], limit: int | None) -> cost.Cost:
    if api == "REST":
        return cost.rest_cost(rows, len(ts.fields_for(list(columns))))
    if api == "Search":
        return cost.search_cost(rows)
    if api == "COQL":
        return cost.coql_cost(rows, limit)
    return cost.bulk_cost(rows)


# ---- the DuckDB statement ---------------------------------------------------------------------------


def _relation_names(refs: list[TableRef]) -> dict[int, str]:
    seen: dict[str, int] = {}
    out = {}
    for ref in refs:
        k = seen.get(ref.module, 0) + 1
        seen[ref.module] = k
        out[ref.index] = ref.module if k == 1 else f"{ref.module}__{k}"
    return out


def _rewrite(sql: str, refs: list[TableRef], relations: dict[int, str], schemas: Sequence[str]) -> str:
    """The statement with each Zoho table pointing at its scan's relation (unchanged when it already does)."""
    if all(r.node.args.get("db") is None and r.node.name.lower() == relations[r.index].lower() for r in refs):
        return sql
    tree = parse(sql)
    tables = list(tree.find_all(exp.Table, bfs=False))
    lowered = {s.lower() for s in schemas}
    for ref in refs:
        node = tables[ref.index]
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        node.replace(exp.Table(this=exp.to_identifier(relations[ref.index], quoted=True), alias=alias))
    for col in tree.find_all(exp.Column):
        db = col.args.get("db")
        if db is not None and db.name.lower() in lowered:
            col.set("db", None)  # zoho.Leads.Email -> Leads.Email (the alias kept above)
    return tree.sql(dialect="duckdb")

