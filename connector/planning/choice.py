"""Which API reads a module: the one policy the planner and the sync source both ask.

The caller describes the read (:class:`ReadRequest`): the module's record
count, how many rows its filter selects — known exactly, or only within a
range (:class:`RowRange`) — which APIs take the filter, the LIMIT, the columns.
Every API is priced by its read strategy's cost model
(:mod:`connector.readers.strategies`), which counts the calls its reader really
makes, and the cheapest wins:

* the rows known (counted, or no filter and the module counted): the API with
  the fewest credits for them;
* the rows known only within a range: of the APIs that cannot lose more than
  :data:`WORTH` statistics cost against the cheapest one anywhere in that range,
  the cheapest at the guess (a filter usually selects few rows); when no API is
  that safe, the one that can lose least (minimax regret), and
  :attr:`Choice.worth_counting` tells the planner to buy the count first
  (:mod:`.statistics`): a count costs one credit, a wrong choice on a large
  module fifty;
* ``UseCOQL=true`` and a filter COQL takes: COQL.

There are no size thresholds here: the cost models cross where they cross (for
the list API against COQL against a Bulk Read job, at a few hundred and a few
tens of thousands of rows). A forced APIType is the caller's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from connector.readers.strategies import BULK, COQL, NO_EXTRAS, REST, SEARCH, Cost, Extras

#: credits of one statistic (a COQL ``COUNT`` or a 200-group ``GROUP BY``: LIMIT <= 200, 1 credit)
STAT_CREDITS = 1
#: buy a statistic when choosing without it may lose more than this many times what it costs
WORTH = 2
#: preference on equal credits: the list API's calls are light (COQL counts against Zoho's sub-concurrency
#: limit of 10 heavy calls); COQL reads the database itself, Search an index that trails writes
ORDER = ("REST", "COQL", "Search", "Bulk")


@dataclass(frozen=True)
class RowRange:
    """Rows a filter selects: at least ``low``, at most ``high`` (None: unknown), best guess ``guess``."""

    low: int = 0
    high: int | None = None
    guess: int | None = None

    @property
    def exact(self) -> bool:
        return self.high is not None and self.low == self.high

    @classmethod
    def exactly(cls, n: int | None) -> RowRange:
        return RowRange() if n is None else RowRange(n, n, n)

    def text(self) -> str:
        if self.exact:
            return f"{self.low:,} rows"
        if self.high is None:
            return "an unknown number of rows"
        return f"{self.low:,}-{self.high:,} rows"


@dataclass(frozen=True)
class ReadRequest:
    """One module read as the choice sees it."""

    module: str
    #: Zoho fields the read needs (the list and search APIs ask for them in groups of 50)
    fields: int
    #: the module's record count; None when unknown
    total_rows: int | None
    #: a WHERE applies to this table
    filtered: bool = False
    #: rows COQL's pushed filter selects; None: every row (no filter COQL can take)
    rows: RowRange | None = None
    #: COQL takes the whole WHERE exactly (true without a WHERE): its LIMIT can be pushed
    coql_exact: bool = True
    #: Search takes every condition COQL takes (so it selects no more rows); False: Search is no candidate
    search: bool = False
    #: Bulk's criteria take every condition COQL takes; False: a Bulk job exports the whole module
    bulk_same: bool = False
    #: rows the list API pages through (If-Modified-Since); None: the whole module
    rest_rows: int | None = None
    #: the list API's answer is the query's (no WHERE, or only Modified_Time): its LIMIT can be pushed;
    #: None: only without a WHERE
    rest_exact: bool | None = None
    #: LIMIT (+ OFFSET) when this is the statement's only source; None otherwise
    limit: int | None = None
    #: the statement has no ORDER BY
    unordered: bool = True
    #: the ORDER BY keys are ones COQL sorts exactly like DuckDB
    coql_sorts: bool = False
    #: name look-ups some APIs need (Bulk's users and layouts, polymorphic lookups)
    extras: Extras = NO_EXTRAS


@dataclass(frozen=True)
class Candidate:
    """One API's price for this read, at the expected rows and at the ends of their range."""

    api: str
    cost: Cost
    low: Cost
    high: Cost


@dataclass(frozen=True)
class Choice:
    api: str
    why: str
    candidates: tuple[Candidate, ...] = ()
    #: the most credits this choice can lose against the cheapest API while the rows are not known exactly
    #: (0 when they are); None: unknown (the module's size is not known)
    regret: float | None = 0.0
    rows: RowRange = field(default_factory=RowRange)

    @property
    def worth_counting(self) -> bool:
        """Whether a statistic (one credit) may save more than :data:`WORTH` times its price."""
        return self.regret is None or self.regret > WORTH * STAT_CREDITS


def choose_api(req: ReadRequest, *, use_coql: bool = False) -> tuple[str, str]:
    """(API, why) for an Auto read."""
    choice = choose(req, use_coql=use_coql)
    return choice.api, choice.why


def choose(req: ReadRequest, *, use_coql: bool = False) -> Choice:
    """The cheapest API for ``req`` (see the module docstring), with every candidate's price."""
    rows = req.rows or RowRange.exactly(req.total_rows)
    apis = [a for a in ORDER if a != "Search" or req.search]
    if use_coql and req.filtered and req.rows is not None:
        return Choice("COQL", "UseCOQL=true and the filter can be pushed to COQL", _candidates(req, rows, apis),
                      0.0, rows)
    points = _points(rows, "Search" in apis)
    # The list API lists what it lists whatever the filter selects: priced once.
    table = {a: [_credits(price(req, a, rows.high))] * len(points) if a == "REST" else
             [_credits(price(req, a, r)) for r in points] for a in apis}
    best = [min(table[a][i] for a in apis) for i in range(len(points))]
    regret = {a: max((_lose(table[a][i], best[i]) for i in range(len(points))), default=0.0) for a in apis}
    guess = rows.guess if rows.guess is not None else rows.high
    at_guess = {a: _credits(price(req, a, guess)) for a in apis}
    candidates = _candidates(req, rows, apis)
    # APIs that cannot lose more than a count would cost to rule out: the guess picks among them (a filter
    # usually selects few rows). None is that safe: the one that can lose least.
    safe = [a for a in apis if regret[a] <= WORTH * STAT_CREDITS]
    if safe:
        api = min(safe, key=lambda a: (at_guess[a], regret[a], ORDER.index(a)))
    else:
        api = min(apis, key=lambda a: (regret[a], at_guess[a], ORDER.index(a)))
    if math.isinf(regret[api]):
        # Nothing bounds the read's size (no count, no LIMIT): assume it is large, where Bulk is cheapest per row.
        return Choice("Bulk", f"{_size(req)} and {rows.text()}: Bulk Read is the cheapest per row", candidates,
                      None, rows)
    return Choice(api, _why(req, api, rows, regret[api], candidates), candidates, regret[api], rows)


def price(req: ReadRequest, api: str, rows: int | None) -> Cost:
    """What ``api`` costs when COQL's filter selects ``rows`` rows (None: unknown)."""
    total = req.total_rows
    if api == "REST":
        listed = req.rest_rows if req.rest_rows is not None else total
        exact = req.rest_exact if req.rest_exact is not None else not req.filtered
        limit = req.limit if exact and req.unordered else None
        return REST.cost(listed, req.fields, limit, req.extras)
    coql_limit = req.limit if req.coql_exact and (req.unordered or req.coql_sorts) else None
    sorted_limit = not req.unordered and req.coql_sorts
    if api == "COQL":
        if (COQL.limits.fields_per_call or req.fields) < req.fields:
            return Cost(None, None)  # more fields than one COQL SELECT takes: no candidate
        return COQL.cost(rows, req.fields, coql_limit, req.extras, sorted_limit=sorted_limit)
    if api == "Search":
        return SEARCH.cost(rows, req.fields, coql_limit, req.extras)  # past its cap: COQL reads these rows
    exported = rows if req.bulk_same else total
    bulk_limit = req.limit if req.coql_exact and req.bulk_same and req.unordered else None
    return BULK.cost(exported, req.fields, bulk_limit, req.extras)


def _candidates(req: ReadRequest, rows: RowRange, apis: list[str]) -> tuple[Candidate, ...]:
    guess = rows.guess if rows.guess is not None else rows.high
    return tuple(Candidate(a, price(req, a, guess), price(req, a, rows.low), price(req, a, rows.high))
                 for a in apis)


def _points(rows: RowRange, search: bool) -> list[int | None]:
    """Row counts where the APIs' step-shaped costs can change order.

    COQL's price grows with the rows, the list API's does not depend on them and a Bulk job's only every
    200,000: the most one can lose against another is at the ends of the range or at a Bulk page edge. Search
    against COQL also turns at Search's 200-row pages, up to its 2,000 cap.
    """
    if rows.exact:
        return [rows.low]
    high = rows.high
    edges = {rows.low}
    top = high if high is not None else rows.low
    edges.update(x for j in range(1, top // BULK.limits.rows_per_call + 1)
                 for x in (j * BULK.limits.rows_per_call, j * BULK.limits.rows_per_call + 1))
    if search:
        for k in range(1, 12):
            edges.update((200 * k - 1, 200 * k, 200 * k + 1))
    inside = sorted(e for e in edges if e >= rows.low and (high is None or e <= high))
    return [*inside, high]  # high None: the unknown end


def _credits(c: Cost) -> float:
    return math.inf if c.credits is None else float(c.credits)


def _lose(cost: float, best: float) -> float:
    """Credits lost against the cheapest API at one row count; unknown (infinite) when either price is."""
    return math.inf if math.isinf(cost) else cost - best


def _size(req: ReadRequest) -> str:
    n = req.total_rows
    return f"{n:,} records" if n is not None else "a module of unknown size"


def _why(req: ReadRequest, api: str, rows: RowRange, regret: float, candidates: tuple[Candidate, ...]) -> str:
    mine = next(c for c in candidates if c.api == api).cost
    spent = f"~{_shown(mine)} credit{'' if mine.credits == 1 else 's'}"
    what = "no filter Zoho can apply" if req.filtered and req.rows is None else \
        "the filter" if req.filtered else "every record"
    if rows.exact:
        return f"cheapest for {rows.text()} ({what}): {spent}"
    if regret <= 0:
        return f"cheapest whatever {what} selects ({rows.text()}): {spent}"
    if regret <= WORTH * STAT_CREDITS:
        return (f"at most {regret:,.0f} credit{'' if regret == 1 else 's'} above the cheapest API whatever "
                f"{what} selects ({rows.text()}; not worth a count): {spent}")
    return (f"{what} selects {rows.text()}, not counted: at most {regret:,.0f} credits above the cheapest API "
            f"anywhere in that range: {spent}")


def _shown(c: Cost) -> str:
    return "?" if c.credits is None else f"{c.credits:,}"
