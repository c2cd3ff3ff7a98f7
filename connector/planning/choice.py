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

When Search's criteria take conditions COQL cannot, Search reads fewer rows than
COQL (:attr:`ReadRequest.search_rows`): the two counts are uncertain apart, and
the regret is taken over both.

There are no size thresholds here: the cost models cross where they cross (for
the list API against COQL against a Bulk Read job, at a few hundred and a few
tens of thousands of rows). A forced APIType is the caller's business.

Two facts about the module and the columns narrow this (:mod:`connector.schema.access`):
an API that does not serve the module is never a candidate (Notes: the records API
only), and a whole scan of columns only the records API returns (``Tag``, file
uploads, ``Participants``) goes through list pages — COQL and Bulk would need a
list call per 100 rows to fill them in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from connector.readers.strategies import BULK, COQL, NO_EXTRAS, REST, SEARCH, Cost, Extras
from connector.schema.access import ALL_APIS, fallback_api, refusal_note

from .timing import fastest, read_seconds

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
    #: rows Search's criteria select when they take conditions COQL cannot (an ILIKE prefix): never more
    #: than COQL's; None: the same rows as COQL's filter
    search_rows: RowRange | None = None
    #: Bulk's criteria take every condition COQL takes; False: a Bulk job exports the whole module
    bulk_same: bool = False
    #: rows the list API pages through (If-Modified-Since); None: the whole module
    rest_rows: int | None = None
    #: the list API's answer is the query's (no WHERE, or only Modified_Time): its LIMIT can be pushed;
    #: None: only without a WHERE
    rest_exact: bool | None = None
    #: calls the list API's read makes beside its pages (a sync's count of its watermark second, whose ids
    #: the list API cannot leave out where COQL's query does)
    rest_also: Cost = Cost(0, 0)
    #: LIMIT (+ OFFSET) when this is the statement's only source; None otherwise
    limit: int | None = None
    #: the statement has no ORDER BY
    unordered: bool = True
    #: the ORDER BY keys are ones COQL sorts exactly like DuckDB
    coql_sorts: bool = False
    #: name look-ups some APIs need (Bulk's users and layouts, polymorphic lookups)
    extras: Extras = NO_EXTRAS
    #: the APIs that serve the module (connector.schema.access)
    apis: frozenset[str] = ALL_APIS
    #: the read needs columns only the records API returns (COQL and Bulk fill them in by id)
    records_only: bool = False
    #: the connection's measured seconds per call: on equal credits the faster API wins (:mod:`.timing`)
    latency_s: float = 0.0


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
    if choice.api not in req.apis:
        return fallback_api(req.apis, choice.api), refusal_note(req.module, req.apis, choice.api)
    return choice.api, choice.why


def choose(req: ReadRequest, *, use_coql: bool = False) -> Choice:
    """The cheapest API for ``req`` (see the module docstring), with every candidate's price."""
    rows = req.rows or RowRange.exactly(req.total_rows)
    apis = [a for a in ORDER if a in req.apis and (a != "Search" or req.search)]
    if not apis:  # a table of its own endpoint (Attachments, per parent record): nothing to price
        api = fallback_api(req.apis, "REST")
        return Choice(api, refusal_note(req.module, req.apis, "REST"), (), 0.0, rows)
    if req.records_only and not req.filtered and "REST" in apis:
        # COQL and Bulk would list the records again, 100 ids a call, for the columns they do not return
        return Choice("REST", "every row with columns only the records API returns (Tag, file uploads, "
                              "Participants): list pages", _candidates(req, rows, apis), 0.0, rows)
    if apis == ["REST"]:
        return Choice("REST", f"{req.module} is served by the records API only", _candidates(req, rows, apis),
                      0.0, rows)
    if use_coql and req.filtered and req.rows is not None and "COQL" in apis:
        return Choice("COQL", "UseCOQL=true and the filter can be pushed to COQL", _candidates(req, rows, apis),
                      0.0, rows)
    own = req.search_rows if "Search" in apis else None
    pairs = [(p, q) for p in _points(rows, "Search" in apis and own is None) for q in _search_points(own, p)]
    # The list API lists what it lists whatever the filter selects: priced once.
    table = {a: [_credits(price(req, a, rows.high))] * len(pairs) if a == "REST" else
             [_credits(price(req, a, p, q)) for p, q in pairs] for a in apis}
    best = [min(table[a][i] for a in apis) for i in range(len(pairs))]
    regret = {a: max((_lose(table[a][i], best[i]) for i in range(len(pairs))), default=0.0) for a in apis}
    guess = rows.guess if rows.guess is not None else rows.high
    at_guess = {a: _credits(price(req, a, guess, search_guess(own, guess))) for a in apis}
    candidates = _candidates(req, rows, apis)
    # APIs that cannot lose more than a count would cost to rule out: the guess picks among them (a filter
    # usually selects few rows). None is that safe: the one that can lose least.
    safe = [a for a in apis if regret[a] <= WORTH * STAT_CREDITS]
    if safe:
        api = min(safe, key=lambda a: (at_guess[a], regret[a], ORDER.index(a)))
    else:
        api = min(apis, key=lambda a: (regret[a], at_guess[a], ORDER.index(a)))
    # Equal credits (at the guess and at worst): the faster, when it is faster by enough to matter.
    tied = [a for a in (safe or apis) if (at_guess[a], regret[a]) == (at_guess[api], regret[api])]
    preferred = api
    if len(tied) > 1 and not math.isinf(at_guess[api]):
        api = fastest(api, {a: seconds(req, a, guess) for a in tied})
    if math.isinf(regret[api]) and "Bulk" in apis:
        # Nothing bounds the read's size (no count, no LIMIT): assume it is large, where Bulk is cheapest per row.
        return Choice("Bulk", f"{_size(req)} and {rows.text()}: Bulk Read is the cheapest per row", candidates,
                      None, rows)
    why = _why(req, api, rows, regret[api], candidates)
    if api != preferred:
        why += (f"; as cheap as {preferred} and faster at {req.latency_s * 1000:,.0f} ms a call "
                f"(~{seconds(req, api, guess):,.1f} s against ~{seconds(req, preferred, guess):,.1f} s)")
    return Choice(api, why, candidates, regret[api], rows)


def seconds(req: ReadRequest, api: str, rows: int | None) -> float:
    """What ``api`` waits on Zoho for ``rows`` rows at the connection's latency (:func:`.timing.read_seconds`)."""
    cost = price(req, api, rows, search_guess(req.search_rows, rows))
    return read_seconds(api, cost, rows, latency_s=req.latency_s, slots=req.extras.slots)


def price(req: ReadRequest, api: str, rows: int | None, search_rows: int | None = None) -> Cost:
    """What ``api`` costs when COQL's filter selects ``rows`` rows (None: unknown).

    ``search_rows``: the rows Search's own criteria select, where they take more than COQL's filter
    (:attr:`ReadRequest.search_rows`); None: ``rows``.
    """
    total = req.total_rows
    if api == "REST":
        listed = req.rest_rows if req.rest_rows is not None else total
        exact = req.rest_exact if req.rest_exact is not None else not req.filtered
        limit = req.limit if exact and req.unordered else None
        return REST.cost(listed, req.fields, limit, req.extras) + req.rest_also
    coql_limit = req.limit if req.coql_exact and (req.unordered or req.coql_sorts) else None
    sorted_limit = not req.unordered and req.coql_sorts
    if api == "COQL":
        if (COQL.limits.fields_per_call or req.fields) < req.fields:
            return Cost(None, None)  # more fields than one COQL SELECT takes: no candidate
        return COQL.cost(rows, req.fields, coql_limit, req.extras, sorted_limit=sorted_limit)
    if api == "Search":
        if req.search_rows is None or search_rows is None:
            return SEARCH.cost(rows, req.fields, coql_limit, req.extras)  # past its cap: COQL reads these rows
        # Past its cap the reader answers from COQL, whose filter selects ``rows``.
        return SEARCH.cost(search_rows, req.fields, coql_limit, replace(req.extras, coql_rows=rows))
    exported = rows if req.bulk_same else total
    bulk_limit = req.limit if req.coql_exact and req.bulk_same and req.unordered else None
    return BULK.cost(exported, req.fields, bulk_limit, req.extras)


def _candidates(req: ReadRequest, rows: RowRange, apis: list[str]) -> tuple[Candidate, ...]:
    guess = rows.guess if rows.guess is not None else rows.high
    own = req.search_rows
    low_s = None if own is None else (own.low if rows.low is None else min(own.low, rows.low))
    return tuple(Candidate(a, price(req, a, guess, search_guess(own, guess)), price(req, a, rows.low, low_s),
                           price(req, a, rows.high, _search_high(own, rows.high)))
                 for a in apis)


def search_guess(own: RowRange | None, coql_rows: int | None) -> int | None:
    """Search's rows at its guess, never more than COQL's."""
    if own is None:
        return None
    g = own.guess if own.guess is not None else own.high
    if g is None:
        return coql_rows
    return g if coql_rows is None else min(g, coql_rows)


def _search_high(own: RowRange | None, coql_rows: int | None) -> int | None:
    if own is None:
        return None
    if own.high is None:
        return coql_rows
    return own.high if coql_rows is None else min(own.high, coql_rows)


def _search_points(own: RowRange | None, coql_rows: int | None) -> list[int | None]:
    """Search's row counts to price at one COQL row count: that count itself, or (own criteria) the turning
    points of Search's own range, which ends at COQL's rows."""
    if own is None:
        return [coql_rows]
    high = _search_high(own, coql_rows)
    low = own.low if high is None else min(own.low, high)
    return _points(RowRange(low, high), True)


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
    own = req.search_rows
    what = ("no filter COQL can apply" if own is not None else "no filter Zoho can apply") \
        if req.filtered and req.rows is None else "the filter" if req.filtered else "every record"
    if api == "Search" and own is not None and own.exact:
        return f"cheapest for the {own.text()} Search's criteria select ({rows.text()} by COQL's filter): {spent}"
    if rows.exact and (own is None or own.exact):
        return f"cheapest for {rows.text()} ({what}): {spent}"
    span = rows.text() if own is None else f"{rows.text()}; Search's criteria {own.text()}"
    if regret <= 0:
        return f"cheapest whatever {what} selects ({span}): {spent}"
    if regret <= WORTH * STAT_CREDITS:
        return (f"at most {regret:,.0f} credit{'' if regret == 1 else 's'} above the cheapest API whatever "
                f"{what} selects ({span}; not worth a count): {spent}")
    if own is not None:
        return (f"COQL reads {rows.text()}, Search's criteria select {own.text()}: at most {regret:,.0f} credits "
                f"above the cheapest API anywhere in that range: {spent}")
    return (f"{what} selects {span}, not counted: at most {regret:,.0f} credits above the cheapest API "
            f"anywhere in that range: {spent}")


def _shown(c: Cost) -> str:
    return "?" if c.credits is None else f"{c.credits:,}"
