"""``APIType=Auto`` for one table: the read described for the choice, and statistics bought when they pay.

:func:`decide` describes the table's read as a :class:`~.choice.ReadRequest`
from what the pushdown rules rendered per API and from the statistics the
cache holds, asks the choice (:mod:`.choice`), and buys a statistic only while
the choice says one may save more than it costs — first the module's record
count, then what the filter COQL would be sent selects: a field's group
counts when the filter is one ``=``/``IN``/``IS [NOT] NULL`` on a picklist or
lookup (they serve the next filter on that field too), else the count of the
WHERE itself; and where Search's criteria take conditions COQL cannot (so
COQL cannot count them), the first page of the search. At most three
statistics per table; most reads need none or one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connector.config.config import ConnectionConfig
from connector.readers.strategies import Extras
from connector.schema.types import TableSchema

from .analyze import TableRef, Unit
from .choice import Choice, ReadRequest, RowRange, choose
from .estimates import row_range
from .predicates import Node, Pred
from .rules import FilterPushdown, ModifiedSince
from .statistics import Histogram, Statistics

#: field types whose group counts Zoho gives (COQL GROUP BY / COUNT take picklists and lookups)
GROUPABLE = frozenset({"picklist", "lookup", "ownerlookup", "userlookup"})
_HISTOGRAM_OPS = frozenset({"eq", "in", "is_null", "not_null"})
MAX_STATISTICS = 3


@dataclass(frozen=True)
class Decision:
    choice: Choice
    request: ReadRequest
    #: the statistics bought for this table, in words (EXPLAIN shows them)
    bought: tuple[str, ...] = ()


def decide(ref: TableRef, config: ConnectionConfig, sent: Mapping[str, FilterPushdown], units: list[Unit],
           rest: ModifiedSince, fields: int, extras: Extras, coql_exact: bool, coql_sorts: bool,
           stats: Statistics) -> Decision:
    """The API for an Auto read of ``ref``, buying statistics while the choice says they pay."""
    ts = ref.schema
    coql = sent.get("COQL")
    pushed = _pushed(units, coql) if coql is not None and coql.value is not None else []
    where = coql.value if pushed and coql is not None else None
    bought: list[str] = []
    search = sent.get("Search")
    # Search's criteria, when they take conditions COQL cannot (so only a search page can count them)
    criteria = str(search.value) if search is not None and search.value is not None and \
        not _covers(coql, search) else None
    request = _request(ref, sent, units, rest, fields, extras, coql_exact, coql_sorts, stats, pushed, where)
    choice = choose(request, use_coql=config.use_coql)
    for _ in range(MAX_STATISTICS):
        if not choice.worth_counting:
            break
        what = _buy(ts, stats, request, pushed, where, criteria)
        if what is None:
            break
        bought.append(what)
        request = _request(ref, sent, units, rest, fields, extras, coql_exact, coql_sorts, stats, pushed, where)
        choice = choose(request, use_coql=config.use_coql)
    return Decision(choice, request, tuple(bought))


def _buy(ts: TableSchema, stats: Statistics, request: ReadRequest, pushed: list[Node], where: str | None,
         criteria: str | None) -> str | None:
    """Buy the statistic that narrows the choice most; what it was, or None when there is nothing to buy."""
    module = ts.module
    if "COQL" not in ts.read_apis:
        return None  # every statistic is a COQL call, and COQL does not take this module (Notes)
    if request.total_rows is None:
        return f"record count of {module}" if stats.total(module, buy=True) is not None else None
    rows = request.rows
    if rows is None or rows.exact or where is None:
        own = request.search_rows
        if criteria is None or own is None or own.exact or stats.search(module, criteria, buy=False) is not None:
            return None
        return f"first search page of {module} where {criteria}" \
            if stats.search(module, criteria, buy=True) is not None else None
    field = _histogram_field(ts, pushed)
    if field is not None:
        got = stats.histogram(module, field, buy=True)
        return f"group counts of {module}.{field}" if got is not None else None
    return f"count of {module} where {where}" if stats.count(module, where, buy=True) is not None else None


def _histogram_field(ts: TableSchema, pushed: list[Node]) -> str | None:
    """The field of a lone ``=``/``IN``/null test on a picklist or lookup, whose group counts answer it."""
    if len(pushed) != 1 or not isinstance(pushed[0], Pred) or pushed[0].op not in _HISTOGRAM_OPS:
        return None
    p = pushed[0]
    f = ts.fields.get(p.column.field)
    if f is None or f.data_type not in GROUPABLE or p.column.part not in ("value", "id") or f.polymorphic:
        return None
    return f.api_name


def _request(ref: TableRef, sent: Mapping[str, FilterPushdown], units: list[Unit], rest: ModifiedSince,
             fields: int, extras: Extras, coql_exact: bool, coql_sorts: bool, stats: Statistics,
             pushed: list[Node], where: str | None) -> ReadRequest:
    ts = ref.schema
    total = stats.total(ts.module, buy=False)
    rows: RowRange | None = None
    if pushed:
        counted = stats.count(ts.module, where, buy=False) if where is not None else None
        rows = RowRange.exactly(counted) if counted is not None else \
            row_range(pushed, total, ts, lambda p: _known(ts, stats, p, total))
    coql = sent.get("COQL")
    search = sent.get("Search")
    covers = _covers(search, coql)
    return ReadRequest(
        module=ts.module, fields=fields, total_rows=total, filtered=bool(ref.conjuncts), rows=rows,
        coql_exact=coql_exact, search=covers, search_rows=_search_rows(ts, stats, units, search, coql, total)
        if covers else None, bulk_same=_covers(sent.get("Bulk"), coql),
        rest_rows=None, rest_exact=not ref.conjuncts or rest.exact,
        limit=ref.limit if ref.lone else None, unordered=ref.order_by == (), coql_sorts=coql_sorts, extras=extras,
        apis=ts.read_apis, records_only=not ts.records_only_columns.isdisjoint(ref.column_list()),
        latency_s=stats.latency_s())


def _search_rows(ts: TableSchema, stats: Statistics, units: list[Unit], search: FilterPushdown | None,
                 coql: FilterPushdown | None, total: int | None) -> RowRange | None:
    """Rows Search's criteria select when they take conditions COQL cannot; None when they take no more."""
    if search is None or search.value is None or _covers(coql, search):
        return None
    nodes = _pushed(units, search)
    est = row_range(nodes, total, ts, lambda p: _known(ts, stats, p, total))
    probe = stats.search(ts.module, str(search.value), buy=False)
    if probe is None:
        return est
    if probe.exact:
        return probe
    high = est.high
    guess = est.guess if est.guess is None else max(probe.low, est.guess)
    return RowRange(probe.low, high if high is None else max(high, probe.low), guess)


def _known(ts: TableSchema, stats: Statistics, p: Pred, total: int | None) -> tuple[int, int] | None:
    """What a cached histogram says of one predicate (free: never bought here)."""
    f = ts.fields.get(p.column.field)
    if f is None or f.data_type not in GROUPABLE or p.op not in _HISTOGRAM_OPS or p.column.part not in ("value",
                                                                                                      "id"):
        return None
    hist = stats.histogram(ts.module, f.api_name, buy=False)
    if hist is None:
        return None
    return _histogram_rows(hist, p, total)


def _histogram_rows(hist: Histogram, p: Pred, total: int | None) -> tuple[int, int] | None:
    if p.op == "eq":
        return hist.rows([p.value])
    if p.op == "in":
        return hist.rows(p.value)
    empty = hist.rows([None])
    if p.op == "is_null":
        return empty
    if total is None:
        return None
    return max(0, total - empty[1]), max(0, total - empty[0])  # not_null


def _pushed(units: list[Unit], f: FilterPushdown) -> list[Node]:
    return [u.node for u, ok in zip(units, f.pushed, strict=True) if ok]


def _covers(other: FilterPushdown | None, coql: FilterPushdown | None) -> bool:
    """``other`` takes every condition COQL takes (so it selects no more rows than COQL)."""
    if other is None or other.value is None:
        return False
    if coql is None or coql.value is None:
        return True
    return all(o or not c for o, c in zip(other.pushed, coql.pushed, strict=True))
