"""What the planner knows about the data in Zoho, and what it pays to know more.

Zoho tells three things cheaply, each one COQL call of 1 credit (LIMIT <= 200):

* a module's record count: ``select COUNT(id) from M`` — converted Leads
  included, as every reader reads them (``/actions/count`` leaves them out and
  lags writes by minutes);
* the count of a WHERE: ``select COUNT(id) from M where <the pushed filter>``,
  exactly the rows the COQL reader would return;
* a picklist's or lookup's group counts: ``select F, COUNT(id) from M group by
  F order by COUNT(id) desc limit 200`` — the records per value for every
  value when fewer than 200 come back, else the 200 most frequent (the others
  hold at most as many as the last of those). One call serves every later
  filter on that field: ``=``, ``IN``, ``IS NULL``.

And one more, for criteria only Search takes (an ``ILIKE`` prefix: COQL's
``like`` minds case, so COQL can neither filter nor count it): the first page
of the search itself, ``id`` only (1 credit) — all the matches when Zoho says
there are no more records, else at least a page's worth. What Search would
read is then known, though its index may trail writes by a few minutes: like
every statistic, this only steers the choice.

A statistic costs credits, so the planner asks the cache first (free) and buys
only when its choice says a count may save more than it costs
(:attr:`.choice.Choice.worth_counting`): no count for a read that is cheap on
every API anyway, and one count serves many queries through the cache.

The cache belongs to one connection: entries live :data:`TTL_S` seconds, and
any write sent through this connection (``ZohoHttp.writes``) empties it — a
write to one module can change another's counts (a deleted account empties its
contacts' lookups). Writes by others show after the TTL. A statistic only
steers the choice of API; answers never depend on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from connector.api import coql as coql_api
from connector.errors import ConnectorError
from connector.http.client import ZohoHttp
from connector.readers.dialects.coql import CoqlQuery
from connector.readers.rest import converted_param

from .choice import STAT_CREDITS, RowRange

log = logging.getLogger("connector.planning")

T = TypeVar("T")

#: module sizes and counts move slowly; entries older than this are asked again
TTL_S = 300.0
#: group counts asked for in one call (LIMIT 200: 1 credit)
GROUPS = 200
#: records on the one search page a Search statistic reads (Zoho's maximum page: 1 credit)
SEARCH_PAGE = 200


@dataclass(frozen=True)
class Histogram:
    """Records per value of one field (a picklist's text, a lookup's id; None: empty)."""

    counts: Mapping[str | None, int]
    #: every value is listed (fewer than :data:`GROUPS` came back); else a value left out has at most ``floor``
    complete: bool
    floor: int = 0

    def rows(self, values: Iterable[Any]) -> tuple[int, int]:
        """(fewest, most) records whose value is one of ``values``."""
        low = high = 0
        folded = {str(k).casefold(): n for k, n in self.counts.items() if k is not None}
        for v in values:
            key = None if v is None else str(v)
            n = self.counts.get(key)
            if n is None and key is not None:
                n = folded.get(key.casefold())  # Zoho compares picklist text without case
            if n is not None:
                low, high = low + n, high + n
            elif not self.complete:
                high += self.floor
        return low, high


class Statistics(Protocol):
    """Counts the planner may use: cached ones are free; ``buy=True`` may spend :data:`STAT_CREDITS` on a call."""

    def total(self, module: str, *, buy: bool) -> int | None: ...

    def count(self, module: str, where: str, *, buy: bool) -> int | None: ...

    def histogram(self, module: str, field: str, *, buy: bool) -> Histogram | None: ...

    def search(self, module: str, criteria: str, *, buy: bool) -> RowRange | None:
        """Records the Search API's ``criteria`` match: exactly, or at least a page's worth."""
        ...

    def latency_s(self) -> float:
        """The connection's measured seconds per call (0.0: unknown), to price a read's time."""
        ...


class GivenSizes:
    """Statistics from a function that knows module sizes (tests, tools, the benchmark); nothing is bought."""

    def __init__(self, estimate_rows: Callable[[str], int | None] | None) -> None:
        self._rows = estimate_rows
        self._totals: dict[str, int | None] = {}

    def total(self, module: str, *, buy: bool) -> int | None:
        if module not in self._totals:
            try:
                self._totals[module] = self._rows(module) if self._rows is not None else None
            except ConnectorError:
                self._totals[module] = None  # a size is a hint; the read itself will report real trouble
        return self._totals[module]

    def count(self, module: str, where: str, *, buy: bool) -> int | None:
        return None

    def histogram(self, module: str, field: str, *, buy: bool) -> Histogram | None:
        return None

    def search(self, module: str, criteria: str, *, buy: bool) -> RowRange | None:
        return None

    def latency_s(self) -> float:
        return 0.0


class CachedOnly:
    """Another set's cached statistics, never buying; ``wanted`` says whether the planner asked to buy one.

    The engine plans with it first and checks the statement with DuckDB before it lets the planner spend
    credits: a statement DuckDB refuses costs nothing.
    """

    def __init__(self, stats: Statistics) -> None:
        self.stats = stats
        self.wanted = False

    def total(self, module: str, *, buy: bool) -> int | None:
        return self._note(buy, self.stats.total(module, buy=False))

    def count(self, module: str, where: str, *, buy: bool) -> int | None:
        return self._note(buy, self.stats.count(module, where, buy=False))

    def histogram(self, module: str, field: str, *, buy: bool) -> Histogram | None:
        return self._note(buy, self.stats.histogram(module, field, buy=False))

    def search(self, module: str, criteria: str, *, buy: bool) -> RowRange | None:
        return self._note(buy, self.stats.search(module, criteria, buy=False))

    def latency_s(self) -> float:
        return self.stats.latency_s()

    def _note(self, buy: bool, value: T) -> T:
        self.wanted = self.wanted or (buy and value is None)
        return value


class ZohoStatistics:
    """One connection's statistics, asked of Zoho by COQL and cached (see the module docstring)."""

    def __init__(self, http: ZohoHttp, *, ttl: float = TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._writes = http.writes
        #: statistics bought through this object (calls, credits), for EXPLAIN and the benchmark
        self.calls = 0
        self.credits = 0

    def latency_s(self) -> float:
        return self.http.latency.seconds

    def total(self, module: str, *, buy: bool) -> int | None:
        found, value = self._cached(("total", module))
        if found or not buy:
            return value if isinstance(value, int) else None
        n = self._count(CoqlQuery(module).count(), f"count {module}")
        self._keep(("total", module), n)
        return n

    def count(self, module: str, where: str, *, buy: bool) -> int | None:
        found, value = self._cached(("count", module, where))
        if found or not buy:
            return value if isinstance(value, int) else None
        n = self._count(CoqlQuery(module, where=(where,)).count(), f"count {module} where {where}")
        self._keep(("count", module, where), n)
        return n

    def histogram(self, module: str, field: str, *, buy: bool) -> Histogram | None:
        found, value = self._cached(("histogram", module, field))
        if found or not buy:
            return value if isinstance(value, Histogram) else None
        rows = self._run(CoqlQuery(module).group_count(field, GROUPS), f"group counts of {module}.{field}")
        hist = None
        if rows is not None:
            counts: dict[str | None, int] = {}
            for row in rows:
                raw = row.get(field)
                key = raw.get("id") if isinstance(raw, dict) else raw
                counts[None if key is None else str(key)] = int(row.get("COUNT(id)") or 0)
            floor = min(counts.values(), default=0)
            hist = Histogram(counts, len(rows) < GROUPS, 0 if len(rows) < GROUPS else floor)
        self._keep(("histogram", module, field), hist)
        return hist

    def search(self, module: str, criteria: str, *, buy: bool) -> RowRange | None:
        found, value = self._cached(("search", module, criteria))
        if found or not buy:
            return value if isinstance(value, RowRange) else None
        with self._lock:
            self.calls += 1
            self.credits += STAT_CREDITS
        params: dict[str, Any] = {"criteria": criteria, "fields": "id", "page": 1, "per_page": SEARCH_PAGE}
        if (converted := converted_param(module)) is not None:
            params["converted"] = converted  # what the search reader asks: the same records
        got: RowRange | None = None
        try:
            r = self.http.get(f"/{module}/search", params=params, kind="search", what=f"search {module} (statistic)")
        except ConnectorError as exc:
            log.info("no statistic (search %s where %s): %s; planning without it", module, criteria, exc)
        else:
            n = 0 if r.empty else len(r.body.get("data") or [])
            more = not r.empty and bool((r.body.get("info") or {}).get("more_records"))
            got = RowRange(n + 1, None, None) if more else RowRange.exactly(n)
        self._keep(("search", module, criteria), got)
        return got

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._writes = self.http.writes

    # -- the cache -----------------------------------------------------------------------------------------

    def _cached(self, key: tuple[str, ...]) -> tuple[bool, Any]:
        with self._lock:
            if self.http.writes != self._writes:  # something was written through this connection
                self._cache.clear()
                self._writes = self.http.writes
            hit = self._cache.get(key)
            if hit is None or self.clock() - hit[0] >= self.ttl:
                return False, None
            return True, hit[1]

    def _keep(self, key: tuple[str, ...], value: object) -> None:
        with self._lock:
            self._cache[key] = (self.clock(), value)  # a failure too: not asked again before the TTL

    def _count(self, statement: str, what: str) -> int | None:
        rows = self._run(statement, what)
        if rows is None:
            return None
        return int(rows[0].get("COUNT(id)") or 0) if rows else 0

    def _run(self, statement: str, what: str) -> list[dict[str, Any]] | None:
        with self._lock:
            self.calls += 1
            self.credits += STAT_CREDITS
        try:
            rows, _ = coql_api.run(self.http, statement)
        except ConnectorError as exc:
            log.info("no statistic (%s): %s; planning without it", what, exc)
            return None
        return list(rows)


__all__ = ["GROUPS", "TTL_S", "CachedOnly", "GivenSizes", "Histogram", "Statistics", "ZohoStatistics"]
