"""``plan_query``: per Zoho table, which API reads it and what it is asked for.

The plan never decides a query's answer: DuckDB runs the statement (``Plan.sql``)
over what the readers return and re-applies every WHERE term. The plan only
makes the reads cheaper (columns, filters, LIMIT), so a pushdown may return a
superset of the rows, never a subset.

API choice (``APIType``): REST, COQL, Bulk or Search force one API. ``Auto``:
``SELECT COUNT(*)`` with no filter or an exact COQL filter is one COQL call;
anything else goes to the one policy the sync source also asks
(:mod:`.choice`), which prices the candidates through the read strategies
(:mod:`connector.readers.strategies`: their dialects say what each API can take
and whether exactly, their limits how much, their cost models what it costs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from connector.config.config import ConnectionConfig
from connector.errors import ConnectorError
from connector.model import Pushdown
from connector.readers.dialects.coql import count_statement
from connector.readers.strategies import COQL, STRATEGIES, strategy_for
from connector.schema.access import fallback_api, refusal_note
from connector.schema.org_tables import key_columns
from connector.schema.types import TableSchema

from .analyze import Resolver, TableRef, Unit, analyze, parse
from .choice import ReadRequest, choose_api
from .estimates import result_rows
from .predicates import Node, Pred
from .rules import (
    FilterPushdown,
    ModifiedSince,
    RuleContext,
    Target,
    make_context,
    push_filter,
    push_modified_since,
)

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
    #: the conjuncts rendered for every target within its language's limits, whichever API was chosen; the
    #: pushdown holds fewer conditions where the target's reader needs room for its own (keyset, bounds)
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
    fields = len(ts.fields_for(list(columns)))
    filtering = config.use_server_side_filtering and ref.filters_allowed
    units = ref.units if filtering else []
    ctx = make_context(ts, display_field)
    nodes = [u.node for u in units]
    filters, sent = _render(nodes, ctx) if units else ({}, {})
    rest = push_modified_since(nodes)
    has_where = bool(ref.conjuncts)

    # A COUNT is one statement with no keyset: it may use every condition COQL takes.
    countable = not has_where or (bool(filters) and filters["COQL"].exact)
    if ref.count_only and countable and config.api_type in ("Auto", "COQL") and (filtering or not has_where) \
            and "COQL" in ts.read_apis:
        where = filters["COQL"].value if filters else None
        pd = Pushdown(coql_where=where, exact=True)
        price = COQL.cost(1, 1, 1)
        return TableScan(ts.module, ("id",), "COQL", pd, "", True, price.calls, price.credits, relation, ref.alias,
                         None, "COUNT(*) answered by one COQL aggregate", filters, True,
                         count_statement(ts.module, where))

    coql_exact = not has_where or (bool(sent) and sent["COQL"].exact)
    order = _pushable_order(ref, ts)
    api, reason = _choose(ref, config, sent, units, order, fields, total, coql_exact)
    if has_where and not filtering:
        reason += ("; UseServerSideFiltering=false: DuckDB filters every row" if ref.filters_allowed
                   else "; the join or sampling makes pushing this table's WHERE unsafe")
    chosen = sent.get(api)
    exact_units: tuple[bool, ...]
    if not has_where:
        exact, exact_units = True, ()
    elif api == "REST":
        exact, exact_units = rest.exact, rest.exact_units
    elif chosen is not None:
        exact, exact_units = chosen.exact, chosen.exact_units
    else:
        exact, exact_units = False, ()

    limit: int | None = None
    order_by: tuple[tuple[str, bool], ...] = ()
    if ref.lone and ref.limit is not None and exact:
        if ref.order_by == ():
            limit = ref.limit
        elif api == "COQL" and order and ref.limit <= COQL.limits.rows_per_call:
            limit, order_by = ref.limit, order
    if api not in STRATEGIES:  # a table no module-wide API serves: DuckDB filters, key columns limit the calls
        pd = Pushdown(keys=key_values(nodes, key_columns(ts)))
        return TableScan(ts.module, columns, api, pd, _residual(ref, units, ()), not has_where, None, None,
                         relation, ref.alias, None, reason, filters)
    pd = Pushdown(criteria=_value(sent, "Search"), coql_where=_value(sent, "COQL"),
                  bulk_criteria=_value(sent, "Bulk"), modified_since=rest.since if api == "REST" else None,
                  limit=limit, order_by=order_by, exact=exact)
    residual = _residual(ref, units, exact_units)
    rows = _estimated_rows(api, sent, rest, units, ts, total)
    if limit is not None:
        rows = limit if rows is None else min(rows, limit)
    price = strategy_for(api).cost(rows, fields, limit)
    return TableScan(ts.module, columns, api, pd, residual, exact, price.calls, price.credits, relation, ref.alias,
                     rows, reason, filters)


def key_values(nodes: list[Node], columns: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``col = 'x'`` / ``col IN (...)`` conjuncts on the key columns: the values a read may stop at."""
    out: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        if isinstance(node, Pred) and node.column.name in columns and node.op in ("eq", "in"):
            values = node.value if node.op == "in" else (node.value,)
            if all(isinstance(v, str) for v in values):
                got = tuple(str(v) for v in values)
                prev = out.get(node.column.name)
                out[node.column.name] = got if prev is None else tuple(v for v in prev if v in got)
    return tuple(out.items())


def _render(nodes: list[Node], ctx: RuleContext) -> tuple[dict[str, FilterPushdown], dict[str, FilterPushdown]]:
    """The conjuncts per target: within the language's limits, and as sent (leaving the reader its room)."""
    filters = {t.value: push_filter(nodes, t, ctx) for t in Target}
    sent = {}
    for t in Target:
        budget = strategy_for(t.value).limits.pushdown_conditions
        got = filters[t.value]
        sent[t.value] = got if got.conditions <= budget else push_filter(nodes, t, ctx, budget)
    return filters, sent


def _value(filters: Mapping[str, FilterPushdown], target: str) -> Any:
    f = filters.get(target)
    return f.value if f is not None else None


def _choose(ref: TableRef, config: ConnectionConfig, filters: Mapping[str, FilterPushdown], units: list[Unit],
            order: tuple[tuple[str, bool], ...] | None, fields: int, total: Callable[[str], int | None],
            coql_exact: bool) -> tuple[str, str]:
    pushable = {t: f for t, f in filters.items() if f.value is not None}
    forced = config.api_type
    apis = ref.schema.read_apis
    if forced != "Auto" and forced not in apis:
        return fallback_api(apis, forced), f"APIType={forced} overridden: {refusal_note(ref.schema.module, apis, forced)}"
    if forced != "Auto":
        note = ""
        if forced == "Search" and "Search" not in pushable:
            note = " (no search criteria apply: the search reader falls back to its COQL path)"
        elif forced == "REST" and units:
            note = " (the list API cannot filter; DuckDB filters the rows)"
        return forced, f"APIType={forced}{note}"
    n = total(ref.schema.module)
    search, coql = filters.get("Search"), filters.get("COQL")
    searched = _pushed_nodes(units, search) if search is not None else []
    request = ReadRequest(
        module=ref.schema.module, fields=fields, total_rows=n, filtered=bool(ref.conjuncts),
        estimates={t: result_rows(_pushed_nodes(units, f), n, ref.schema) for t, f in pushable.items()},
        coql_exact=coql_exact,
        search_selective=any(isinstance(x, Pred) and x.op in ("eq", "in", "like", "ilike") for x in searched),
        search_takes_less=search is not None and coql is not None and any(
            c and not s for s, c in zip(search.pushed, coql.pushed, strict=True)),
        limit=ref.limit if ref.lone else None, unordered=ref.order_by == (),
        coql_sorts=bool(ref.order_by) and bool(order), apis=apis,
        records_only=not ref.schema.records_only_columns.isdisjoint(ref.column_list()))
    return choose_api(request, use_coql=config.use_coql)


def _pushed_nodes(units: list[Unit], f: FilterPushdown) -> list[Any]:
    return [u.node for u, ok in zip(units, f.pushed, strict=True) if ok]


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


def _residual(ref: TableRef, units: list[Unit], exact_units: Sequence[bool]) -> str:
    done: dict[int, bool] = {}
    for u, ok in zip(units, exact_units, strict=False):
        done[u.conjunct] = done.get(u.conjunct, True) and ok
    for u in units[len(exact_units):]:
        done[u.conjunct] = False
    left = [ref.conjunct_sql(i) for i in range(len(ref.conjuncts)) if not done.get(i, False)]
    return " AND ".join(f"({s})" if len(left) > 1 else s for s in left)


def _estimated_rows(api: str, filters: Mapping[str, FilterPushdown], rest: ModifiedSince, units: list[Unit],
                    ts: TableSchema, total: Callable[[str], int | None]) -> int | None:
    n = total(ts.module)
    if api in filters:
        return result_rows(_pushed_nodes(units, filters[api]), n, ts)
    if api == "REST" and rest.since is not None:
        return result_rows([u.node for u, ok in zip(units, rest.exact_units, strict=True) if ok], n, ts)
    return n


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

