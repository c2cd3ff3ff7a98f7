"""The read-strategy contract: one object per Zoho read API that knows everything about itself.

Like a shillelagh adapter, a strategy declares what it can do and what it
costs, so the planner and the sync source choose between APIs by asking, not by
branching on names:

* ``dialect`` — how it writes filters (:mod:`connector.readers.dialects`), and
  whether a rendering is exact; REST's list API has none beyond ids,
  ``If-Modified-Since`` and the sort (:mod:`.dialects.rest`);
* ``limits`` — Zoho's numbers for it (fields per call, rows per call, rows one
  read can reach, conditions per request and how many its reader adds itself);
* ``cost(rows, fields, limit, extras)`` — the calls and credits its reader
  really makes for a row count (its paginator's page sizes, the calls that join
  field groups, the look-ups some APIs need for names: :class:`Extras`), priced
  from Zoho's credit table (``connector.http.credits``, limits-and-errors.md
  section 2); ``tests/readers/test_cost_models.py`` holds each model to what
  the emulator meters;
* ``partitions(ctx, module, pushdown, n)`` — picklable :class:`Partition`
  descriptions of independent slices of one read, and ``read_partition`` to
  run one (in any process) — see :mod:`.partitions` for what "exactly once"
  means while records change;
* ``reader(ctx)`` — the reader whose fetch → convert → yield loop does the work.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from connector.http.credits import coql_credits, estimate_credits
from connector.model import Pushdown

if TYPE_CHECKING:
    from connector.readers.base import Reader, ReaderContext
    from connector.readers.dialects import Dialect


@dataclass(frozen=True)
class Cost:
    """Estimated calls and credits of a read; None when the row count is unknown."""

    calls: int | None
    credits: int | None

    def __add__(self, other: Cost) -> Cost:
        if None in (self.calls, self.credits, other.calls, other.credits):
            return UNKNOWN
        return Cost((self.calls or 0) + (other.calls or 0), (self.credits or 0) + (other.credits or 0))

    def times(self, n: int) -> Cost:
        return UNKNOWN if self.calls is None or self.credits is None else Cost(self.calls * n, self.credits * n)


UNKNOWN = Cost(None, None)

# Credits per call, read off the one credit table the HTTP layer meters with.
LIST_PAGE_CREDITS = estimate_credits("GET", "/Leads")
SEARCH_PAGE_CREDITS = estimate_credits("GET", "/Leads/search")
BULK_JOB_CREDITS = estimate_credits("POST", "/crm/bulk/v8/read")
BULK_POLL_CREDITS = estimate_credits("GET", "/crm/bulk/v8/read/1")
BULK_DOWNLOAD_CREDITS = estimate_credits("GET", "/crm/bulk/v8/read/1/result")


def coql_call_credits(limit: int) -> int:
    """1 / 2 / 3 credits for a COQL LIMIT up to 200 / 1,000 / 2,000."""
    return coql_credits(f"limit {limit}")


#: the COQL keyset reader's first call asks for 200 rows (1 credit), later ones for 2,000 (3 credits)
KEYSET_FIRST, KEYSET_PAGE = 200, 2_000
#: the ids one ``?ids=`` call of the list API (or one COQL ``in``) takes
IDS_PER_CALL = 100


@dataclass(frozen=True)
class Extras:
    """What a read asks for beside its rows where that changes what an API costs."""

    #: owner/user lookup names: a Bulk Read CSV holds ids only, mapped through the users list (one call)
    users: bool = False
    #: layout names: Bulk maps ids through the module's layouts (one call)
    layouts: bool = False
    #: polymorphic lookups whose module is asked for and COQL does not say (all but the one ``$se_module``
    #: names: :attr:`~connector.schema.types.TableSchema.se_module_field`): the ids are looked up
    module_lookups: int = 0
    #: polymorphic lookups whose name or module is asked for: a Bulk CSV has only the id
    name_lookups: int = 0
    #: Search also reads, by COQL, the records modified within SearchIndexLag (0: off)
    index_lag: bool = True
    #: rows the COQL WHERE selects (Search past its 2,000 cap answers from COQL instead); None: as Search's
    coql_rows: int | None = None
    #: the list API's page size (PageSize; Zoho's maximum, 200, unless set lower)
    page_size: int = 200
    #: columns only the records API returns (Tag, file uploads, Participants): COQL and Bulk fill them in
    #: through the list API by ``?ids=``, 100 a call, per batch they read (connector.readers.records_only)
    fill_ins: bool = False
    #: COQL calls the connection has in flight at once (min(MaxConcurrency, 10): COQL is heavy). A keyset read
    #: whose size is known splits into slices read at once for the same pages and credits
    #: (:mod:`connector.readers.coql_slices`), so this changes its time, not its cost
    slots: int = 1


NO_EXTRAS = Extras()


def keyset_cost(rows: int, limit: int | None = None, already: int = 0) -> Cost:
    """What :class:`~connector.readers.paging.CoqlKeysetPaginator` spends on ``rows`` rows.

    Its first call asks for 200 rows (1 credit), later ones for 2,000 (3 credits), each capped by what an exact
    LIMIT leaves; a read ends at a short page, so a result of exactly 200 + k x 2,000 rows costs one more call
    that finds nothing (the reader does not trust ``more_records`` alone). A read split into slices read at
    once (:mod:`connector.readers.coql_slices`) makes the same pages and no other call: the same cost.
    """
    room = None if limit is None else max(0, limit - already)
    calls = credits = 0
    left = rows
    ask = KEYSET_FIRST if room is None else min(KEYSET_FIRST, room)
    while ask > 0:
        if ask == KEYSET_PAGE and left >= KEYSET_PAGE and (room is None or room >= 2 * KEYSET_PAGE):
            # whole pages in one step (a million rows must not take 500 turns of this loop)
            full = left // KEYSET_PAGE if room is None else min(left // KEYSET_PAGE, room // KEYSET_PAGE - 1)
            full = max(1, full)
            calls += full
            credits += full * coql_call_credits(KEYSET_PAGE)
            left -= full * KEYSET_PAGE
            room = None if room is None else room - full * KEYSET_PAGE
        else:
            got = min(ask, left)
            calls += 1
            credits += coql_call_credits(ask)
            left -= got
            room = None if room is None else room - got
            if got < ask:
                break
        ask = KEYSET_PAGE if room is None else min(KEYSET_PAGE, room)
    return Cost(calls, credits)


def fill_in_cost(batches: list[int], extras: Extras) -> Cost:
    """The list calls that fill in records-only columns: one per 100 ids of each batch read."""
    if not extras.fill_ins:
        return Cost(0, 0)
    calls = sum(math.ceil(b / IDS_PER_CALL) for b in batches if b > 0)
    return Cost(calls, calls * LIST_PAGE_CREDITS)


def keyset_batches(rows: int) -> list[int]:
    """The batches the COQL keyset reader yields for ``rows`` rows (200 first, then 2,000), as counts."""
    first = min(rows, KEYSET_FIRST)
    rest = rows - first
    return [first, *([KEYSET_PAGE] * (rest // KEYSET_PAGE)), rest % KEYSET_PAGE]


def lookup_cost(rows: int, extras: Extras, *, module_only: bool) -> Cost:
    """The look-ups of polymorphic lookups (:class:`~connector.readers.names.LookupNames`): an estimate.

    One metadata call for the targets, then the distinct ids ``in (...)``, 100 a COQL call, in each target
    until found. Modelled as half the rows holding an id, each found in the first target asked (measured on
    the emulator within a quarter: tests/readers/test_cost_models.py).
    """
    n = extras.module_lookups if module_only else extras.name_lookups
    if not n or rows <= 0:
        return Cost(0, 0)
    calls = 1 + n * math.ceil(rows / (2 * IDS_PER_CALL))
    return Cost(calls, calls)


@dataclass(frozen=True)
class Limits:
    """Zoho's documented limits for one read API (None: no such limit)."""

    #: field api_names one call may ask for (REST ``fields`` 50; COQL SELECT 500; Bulk ``fields`` 200)
    fields_per_call: int | None
    #: rows one call (one job, for Bulk) returns at most
    rows_per_call: int
    #: rows one read can reach through this API alone (REST page tokens 100,000; Search 2,000)
    reachable_rows: int | None
    #: filter conditions one request may hold (0: the API cannot filter by value)
    conditions: int
    #: of those, how many the reader adds itself (keyset, a partition's bounds, modified_since)
    reserved_conditions: int = 0
    #: values in one ``in``
    in_values: int | None = None

    @property
    def pushdown_conditions(self) -> int:
        """Conditions the planner may push, leaving room for the reader's own."""
        return max(0, self.conditions - self.reserved_conditions)


@dataclass(frozen=True)
class IdRange:
    """Records with ``after < id <= upto`` (None: unbounded). Ids never change."""

    after: str | None = None
    upto: str | None = None

    @property
    def unbounded(self) -> bool:
        return self.after is None and self.upto is None

    def holds(self, record_id: str) -> bool:
        n = int(record_id)
        return (self.after is None or n > int(self.after)) and (self.upto is None or n <= int(self.upto))


@dataclass(frozen=True)
class TimeRange:
    """Records with ``start <= field < end`` (None: unbounded); ``field`` never changes (Created_Time)."""

    field: str
    start: datetime | None = None
    end: datetime | None = None

    @property
    def unbounded(self) -> bool:
        return self.start is None and self.end is None

    def holds(self, at: datetime | None) -> bool:
        if at is None:
            return self.start is None and self.end is None
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


@dataclass(frozen=True)
class Partition:
    """One independent slice of a read: picklable, runnable in another process with ``read_partition``.

    It holds no connection and no secret: the process that runs it brings its own session.
    """

    api: str
    module: str
    pushdown: Pushdown
    index: int
    of: int
    bounds: IdRange | TimeRange

    @property
    def whole(self) -> bool:
        """The read itself, not a slice of it (a read of one partition)."""
        return self.bounds.unbounded


class ReadStrategy(Protocol):
    #: the APIType value that selects it
    name: str
    #: its filter language (None: the list API, which filters by nothing but ids and If-Modified-Since)
    dialect: Dialect | None
    limits: Limits

    def reader(self, ctx: ReaderContext) -> Reader: ...

    def cost(self, rows: int | None, fields: int, limit: int | None = None, extras: Extras = NO_EXTRAS) -> Cost:
        """Calls and credits to read ``rows`` rows of ``fields`` fields (``limit``: an exact LIMIT pushed).

        ``rows`` are the rows this API's own filter selects (REST: the records it lists).
        """
        ...

    def partitions(self, ctx: ReaderContext, module: str, pushdown: Pushdown | None, n: int) -> list[Partition]:
        """At most ``n`` slices that together return the read's rows exactly once (see :mod:`.partitions`)."""
        ...

    def partition_cost(self, rows: int | None, fields: int, n: int) -> Cost:
        """Calls and credits of reading through ``n`` partitions, their bounds included."""
        ...

    def read_partition(self, ctx: ReaderContext, partition: Partition,
                       columns: list[str] | None = None) -> Iterator[pa.RecordBatch]: ...
