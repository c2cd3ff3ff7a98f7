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
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp

from connector.config.config import ConnectionConfig
from connector.errors import ConnectorError
from connector.model import Pushdown
from connector.readers.dialects.coql import count_statement
from connector.readers.strategies import COQL, STRATEGIES, Cost, strategy_for
from connector.schema.access import fallback_api, refusal_note
from connector.schema.org_tables import key_columns
from connector.schema.types import TableSchema

from .analyze import Resolver, TableRef, Unit, analyze
from .auto import Decision, decide
from .choice import Candidate, price, search_guess
from .estimates import result_rows
from .extras import extras_for
from .predicates import Node, Opaque, Pred
from .rules import (
    FilterPushdown,
    ModifiedSince,
    RuleContext,
    Target,
    make_context,
    push_filter,
    push_modified_since,
)
from .statement import Statement, read_statement
from .statistics import GivenSizes, Statistics

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
    #: the WHERE selects no row: nothing is read (the engine registers an empty relation)
    empty: bool = False
    #: APIType=Auto: every API's price for this read, the chosen one among them
    candidates: tuple[Candidate, ...] = ()
    #: statistics bought to choose (each one COQL call, 1 credit), in words
    statistics: tuple[str, ...] = ()
    #: positions (in the table's top-level AND) of the WHERE terms in ``residual``: what Zoho's answer may
    #: not have applied exactly (a Spark source hands exactly these back to Spark)
    residual_terms: tuple[int, ...] = ()

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


def plan_query(sql: Statement | str, params: Sequence[Any] | Mapping[str, Any] | None, resolve: Resolver,
               config: ConnectionConfig | None = None, *, estimate_rows: Callable[[str], int | None] | None = None,
               statistics: Statistics | None = None, schemas: Sequence[str] = ("zoho",)) -> Plan:
    """Plan a statement (:func:`.statement.read_statement`; text is read here, with ``params``).

    ``resolve(name)`` returns the TableSchema of a Zoho module, or None for any
    other name (left to DuckDB); tables qualified with a schema outside
    ``schemas`` are never Zoho. ``statistics`` are the connection's
    (:mod:`.statistics`: cached counts, and Zoho asked for more when a count
    pays for itself); without them ``estimate_rows(module)`` gives a module's
    record count (None: unknown) and nothing is bought. The engine registers each
    scan's rows as ``scan.relation``, runs ``plan.sql`` with ``plan.params``, and
    must run DuckDB with ``TimeZone='UTC'`` (naive timestamp literals are planned
    as UTC).
    """
    config = config or ConnectionConfig()
    statement = sql if isinstance(sql, Statement) else read_statement(sql, params, strict=False, as_given=True)
    analysis = analyze(statement, resolve=resolve, schemas=schemas)
    stats = statistics if statistics is not None else GivenSizes(estimate_rows)
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
    scans = tuple(_plan_scan(ref, relations[ref.index], config, stats, display_field) for ref in analysis.refs)
    return Plan(_rewrite(statement, analysis.refs, relations, schemas), statement.params, scans, analysis.explain,
                statement.text)


# ---- one table --------------------------------------------------------------------------------


def _plan_scan(ref: TableRef, relation: str, config: ConnectionConfig, stats: Statistics,
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
    never = next((n for n in nodes if isinstance(n, Opaque) and n.never), None)
    if never is not None and config.api_type == "Auto":
        # A conjunct no row satisfies (`id = 'abc'`): the WHERE selects nothing, so nothing is read.
        return TableScan(ts.module, columns, "COQL", Pushdown(exact=True), _residual(ref, units, ()), True, 0, 0,
                         relation, ref.alias, 0, f"nothing to read: {never.sql} holds for no row ({never.reason})",
                         filters, empty=True)

    coql_exact = not has_where or (bool(sent) and sent["COQL"].exact)
    order = _pushable_order(ref, ts)
    extras = extras_for(ts, columns, config)
    decision: Decision | None = None
    if config.api_type == "Auto" and not ts.read_apis.isdisjoint(STRATEGIES):
        decision = decide(ref, config, sent, units, rest, fields, extras, coql_exact, bool(ref.order_by) and
                          bool(order), stats)
        api, reason = decision.choice.api, decision.choice.why
    elif config.api_type == "Auto":  # a table of its own endpoint (metadata, per parent record)
        api, reason = fallback_api(ts.read_apis, "REST"), refusal_note(ts.module, ts.read_apis, "REST")
    else:
        api, reason = _forced(config, ts, sent, units)
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
    if api in ("COQL", "REST") and limit is None and not order_by and pd.modified_since is None:
        # A count already held (bought for the choice, or cached) lets a long keyset read split at no credit.
        where = pd.coql_where if api == "COQL" else None
        known = stats.count(ts.module, where, buy=False) if where else stats.total(ts.module, buy=False)
        pd = replace(pd, expected_rows=known)
    residual = _residual(ref, units, exact_units)
    if decision is not None:
        rows, price = _expected(decision, api)
        candidates, bought = decision.choice.candidates, decision.bought
    else:
        rows = _estimated_rows(api, sent, rest, units, ts, stats.total(ts.module, buy=False))
        rows = rows if limit is None or rows is None else min(rows, limit)
        price = strategy_for(api).cost(rows, fields, limit, extras)
        candidates, bought = (), ()
    if limit is not None:
        rows = limit if rows is None else min(rows, limit)
    return TableScan(ts.module, columns, api, pd, residual, exact, price.calls, price.credits, relation, ref.alias,
                     rows, reason, filters, candidates=candidates, statistics=bought,
                     residual_terms=_residual_terms(ref, units, exact_units))


def _expected(decision: Decision, api: str) -> tuple[int | None, Cost]:
    """The rows the chosen API reads and its price, as the choice priced them."""
    req, rows = decision.request, decision.choice.rows
    guess = rows.guess if rows.guess is not None else rows.high
    if api == "Search" and req.search_rows is not None:
        read = search_guess(req.search_rows, guess)  # Search's own criteria select fewer rows
        return read, price(req, api, guess, read)
    cost = price(req, api, guess)
    if api == "REST":
        return (req.rest_rows if req.rest_rows is not None else req.total_rows), cost
    if api == "Bulk" and not req.bulk_same:
        return req.total_rows, cost
    return guess, cost


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


def _forced(config: ConnectionConfig, ts: TableSchema, filters: Mapping[str, FilterPushdown],
            units: list[Unit]) -> tuple[str, str]:
    forced = config.api_type
    apis = ts.read_apis
    if forced not in apis:
        return fallback_api(apis, forced), f"APIType={forced} overridden: {refusal_note(ts.module, apis, forced)}"
    pushable = {t for t, f in filters.items() if f.value is not None}
    note = ""
    if forced == "Search" and "Search" not in pushable:
        note = " (no search criteria apply: the search reader falls back to its COQL path)"
    elif forced == "REST" and units:
        note = " (the list API cannot filter; DuckDB filters the rows)"
    return forced, f"APIType={forced}{note}"


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


def _residual_terms(ref: TableRef, units: list[Unit], exact_units: Sequence[bool]) -> tuple[int, ...]:
    done: dict[int, bool] = {}
    for u, ok in zip(units, exact_units, strict=False):
        done[u.conjunct] = done.get(u.conjunct, True) and ok
    for u in units[len(exact_units):]:
        done[u.conjunct] = False
    return tuple(i for i in range(len(ref.conjuncts)) if not done.get(i, False))


def _residual(ref: TableRef, units: list[Unit], exact_units: Sequence[bool]) -> str:
    left = [ref.conjunct_sql(i) for i in _residual_terms(ref, units, exact_units)]
    return " AND ".join(f"({s})" if len(left) > 1 else s for s in left)


def _estimated_rows(api: str, filters: Mapping[str, FilterPushdown], rest: ModifiedSince, units: list[Unit],
                    ts: TableSchema, n: int | None) -> int | None:
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


def _rewrite(statement: Statement, refs: list[TableRef], relations: dict[int, str], schemas: Sequence[str]) -> str:
    """The statement with each Zoho table pointing at its scan's relation (unchanged when it already does)."""
    if statement.tree is None or all(r.node.args.get("db") is None
                                     and r.node.name.lower() == relations[r.index].lower() for r in refs):
        return statement.sql
    tree = statement.tree.copy()  # a copy: the statement's tree is read by others
    if not statement.numbered and statement.qmarks:
        for ph in tree.find_all(exp.Placeholder):  # the text kept its ``?``: so does the rewrite
            if str(ph.this).isdigit() and int(str(ph.this)) <= statement.qmarks:
                ph.replace(exp.Placeholder())
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

