"""Zoho CRM as a migration/sync source."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.api import metadata
from connector.api import records as api
from connector.errors import ConnectorError
from connector.http.credits import CreditMeter
from connector.model import Pushdown
from connector.planning.choice import ReadRequest, RowRange, choose_api
from connector.planning.extras import extras_for
from connector.readers import reader_for
from connector.readers.base import Reader, resolve_columns
from connector.readers.dialects import COQL, SEARCH
from connector.readers.dialects import rest as list_api
from connector.readers.dialects.coql import CoqlQuery, count_statement
from connector.readers.rest import converted_param, field_groups, list_request
from connector.readers.strategies import Cost
from connector.readers.strategies.base import coql_call_credits
from connector.schema.access import METADATA, PER_PARENT, fallback_api, refusal_note
from connector.schema.convert import records_to_batch
from connector.schema.org_tables import PER_PARENT_KEYS, TABLES, org_table
from connector.session import ZohoSession

from .boundary import not_taken, read_past_boundary
from .contract import LookupRef, Source
from .prefetch import ask_at_once
from .record_files import Fetch, FilePlan
from .state import BoundaryCheck

log = logging.getLogger("connector.sync")

#: linking and subform modules are read as tables of their own (see ARCHITECTURE.md)
DEFAULT_MODULE_TYPES = ("default", "custom", "subform", "linking")
#: formula and rollup values change without Modified_Time moving (a formula over today's date,
#: a rollup over child records), so an incremental read never sees them change; nor lookup names
COMPUTED_TYPES = ("formula", "rollup_summary")
#: COQL takes at most 100 values in an IN list (search-and-coql.md B.7)
COQL_IN_MAX = COQL.max_in_values
COQL_IN_CLAUSES = 10  # of the 25 conditions a WHERE may have; the reader adds its own few


def boundary_clause(watermark: datetime, ids: list[str]) -> str:
    """COQL for "not one of the rows already taken at the watermark second" (see CoqlWhere.not_taken_at)."""
    return COQL.not_taken_at(watermark, ids)


#: full loads read ahead of the one being written, at most (half the connection's MaxConcurrency)
MAX_READ_AHEAD = 8
#: a linking or subform module of at most this many rows whose ids a run lists is read whole instead (five
#: COQL pages at most: :meth:`ZohoSource.whole_read`)
WHOLE_READ_ROWS = 10_000


class ZohoSource(Source):
    scheme = "zoho"

    def __init__(self, session: ZohoSession, *, api_type: str | None = None) -> None:
        self.session = session
        self.api_type = api_type or session.config.api_type
        self.progress: object | None = None
        #: (module, since) -> (ids, complete): a parent's deletions serve its linking and subform
        #: modules' cascade checks in the same run instead of being asked for again
        self._deleted: dict[tuple[str, datetime | None], tuple[list[str], bool]] = {}
        self._deleting: dict[tuple[str, datetime | None], threading.Lock] = {}
        #: (module, criteria) -> a record count asked ahead of the read it sizes (:meth:`expect`)
        self._counting: dict[tuple[str, str | None], Future[int | None]] = {}
        #: the counts a read has taken (asked ahead or by itself): an ask ahead that comes later, slowed on
        #: its way, would ask again what no read will take
        self._counted: set[tuple[str, str | None]] = set()
        #: module -> the count of its records modified since its watermark, as its delta read was sized
        self._edits: dict[str, int | None] = {}
        #: module -> the rows the target held after the last run, as a delta read was announced (:meth:`expect`)
        self._held_rows: dict[str, int] = {}
        self._counter: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pool_lock = threading.Lock()
        #: module -> (modified_since of its delta read this run, latest Modified_Time the read saw):
        #: whether a subform's parent was edited since the last run, known without asking again
        self._latest: dict[str, tuple[datetime, datetime | None]] = {}
        #: per-parent modules (Attachments): what :meth:`ids` listed this run (id, parent, Modified_Time),
        #: so the delta read after it asks again only the parents whose attachments changed
        self._listed: dict[str, pa.Table] = {}
        #: parent module -> api names of its related lists, once asked (which org tables a run reads)
        self._related_lists: dict[str, set[str]] = {}
        self._related_gates: dict[str, threading.Lock] = {}
        #: the source's users, once asked (:meth:`prepare` asks for them with the modules' metadata)
        self._users: list[dict[str, Any]] | None = None
        #: module -> its delta's first list page asked in place of its count (:meth:`expect`): what it asked
        #: (fields, request) and the page; taken by the module's read (:meth:`_reader`)
        self._pages_ahead: dict[str, tuple[tuple[str, ...], dict[str, Any], Future[api.Page]]] = {}
        #: module -> its delta's second list page, asked by the first's token beside the count (:meth:`_reader`)
        self._next_pages: dict[str, Future[api.Page]] = {}

    @classmethod
    def from_url(cls, location: str, **options: Any) -> ZohoSource:
        """``location``: a connection string; ``api_type`` overrides its APIType for this source."""
        session = ZohoSession(location)
        try:
            return cls(session, api_type=options.get("api_type"))
        except BaseException:
            session.close()
            raise

    def __repr__(self) -> str:
        return f"ZohoSource({self.session.config.api_domain})"

    def identity(self) -> str:
        org = self.session.org()
        return f"zoho:{self.session.config.api_domain}#{org.get('id')}"

    def key(self) -> str:
        return hashlib.sha256(self.identity().encode()).hexdigest()[:16]

    def modules(self) -> list[str]:
        """Every record module, Attachments, and the org tables that hold record data (campaign members,
        contact roles) when the org has their related lists (an edition without contact roles has none)."""
        return [m for m, info in self.session.catalog.modules().items()
                if info.generated_type in DEFAULT_MODULE_TYPES or self._links_here(m)]

    def modules_for_run(self, whole: bool = False) -> list[str]:
        """:meth:`modules`, their parents' related lists asked (where calls may run together) beside what the
        run asks next (:meth:`prepare`: the record modules' fields and the users): one round trip for both;
        ``whole``, the record counts that size full loads too, as many as fit (:meth:`_expect_whole`)."""
        listed = self.session.catalog.modules()
        record = [m for m, info in listed.items() if info.generated_type in DEFAULT_MODULE_TYPES]
        parents = self._org_table_parents()
        if parents and self.read_ahead():
            calls: list[Callable[[], object]] = [*(partial(self._related_lists_of, p) for p in parents),
                                                 *self._preparing(record)]
            if whole:
                self._expect_whole(record, len(calls))
            ask_at_once(calls, self.concurrency())
        return self.modules()

    def _expect_whole(self, names: list[str], asking: int) -> None:
        """Full loads' record counts (:meth:`expect`) asked beside ``asking`` metadata calls, as many as the
        connection's slots hold with them: one round trip for all. The others (the modules last in the list,
        read later) go once that metadata is in (:meth:`prepare`, with nothing left to ask) or when their
        reads start; sent first, they would push metadata every read waits for into a second round trip."""
        for module in names[:max(self.concurrency() - asking, 0)]:
            self.expect(module, None)

    def _org_table_parents(self) -> list[str]:
        """The modules whose related lists say which org tables this org has (after the module list)."""
        listed = self.session.catalog.modules()
        return sorted({p for m, info in listed.items()
                       if info.generated_type not in DEFAULT_MODULE_TYPES and (p := _related_parent(m))})

    def _ask_related_lists(self) -> None:
        """:meth:`_org_table_parents`' related lists, asked at once as soon as the module list is in (beside
        the fields :meth:`preload` asks): a run's module set waits for them, and for nothing else after it."""
        parents = self._org_table_parents()
        if len(parents) == 1:  # on a thread of :meth:`preload`'s already: asked here, not in turn later
            self._related_lists_of(parents[0])
        else:
            ask_at_once([partial(self._related_lists_of, p) for p in parents], self.concurrency())

    def _links_here(self, name: str) -> bool:
        spec = org_table(name)
        if spec is None or not spec.migrated:
            return False
        parent = _related_parent(name)
        return parent is None or set(spec.related) <= self._related_lists_of(parent)

    def _related_lists_of(self, parent: str) -> set[str]:
        """Api names of ``parent``'s related lists (asked once a run: a second caller while the first is on
        the wire waits for its answer)."""
        with self._lock:
            gate = self._related_gates.setdefault(parent, threading.Lock())
        with gate:
            lists = self._related_lists.get(parent)
            if lists is None:
                r = self.session.http.get("/settings/related_lists", params={"module": parent}, kind="metadata")
                lists = {str(x.get("api_name"))
                         for x in (r.body.get("related_lists") or [] if isinstance(r.body, dict) else [])}
                self._related_lists[parent] = lists
            return lists

    def schema(self, module: str) -> pa.Schema:
        return self.session.catalog.table(module).arrow_schema

    def resolve_module(self, name: str) -> str:
        return self.session.catalog.resolve(name)  # "leads" -> Leads, with did-you-mean

    def lookup_targets(self, module: str) -> list[LookupRef]:
        """(``<F>_Id``, ``<F>_Name``, ``<F>_Module`` or None, modules it may point at) per record lookup."""
        from .lookups import RECORD, lookup_columns, raw_targets

        ts = self.session.catalog.table(module)
        if not any(f.polymorphic or f.data_type == "multi_module_lookup" for f in ts.fields.values()):
            targets: dict[str, tuple[str, ...]] = {}
        else:  # the catalog keeps one target per lookup; polymorphic ones need the raw metadata
            targets = raw_targets(self.session.catalog.fields(ts.module))
        cols = lookup_columns(ts, targets, writable_only=False)
        return [LookupRef(lc.column, lc.name_column, lc.module_column, lc.targets) for lc in cols if lc.kind == RECORD]

    def formula_columns(self, module: str) -> list[str]:
        """Columns whose value changes without the record's Modified_Time moving.

        Formulas and rollups, the ``<Lookup>_Name`` of every lookup (renaming or deleting an
        account changes what its contacts' ``Account_Name_Name`` says, not their Modified_Time),
        and ``Tag`` (tags are added and removed without the record's Modified_Time moving).
        """
        ts = self.session.catalog.table(module)
        # Tags too: adding or removing one leaves Modified_Time where it was.
        return [c.name for c in ts.columns if c.field in ts.fields
                and (ts.fields[c.field].data_type in COMPUTED_TYPES or c.part == "name" or ts.fields[c.field].is_tag)]

    def now(self) -> datetime:
        """Zoho's clock (from the Date header), second precision: the run's signpost."""
        return metadata.server_now(self.session.http)

    def credit_meter(self) -> CreditMeter:
        return self.session.http.meter

    def users(self) -> list[dict[str, Any]]:
        """Every user (id, name, email, status): a Zoho target maps record owners by email with them."""
        if self._users is None:
            try:
                found = metadata.list_users(self.session.http)
            except ConnectorError as exc:  # no users scope: owners are then mapped by name
                log.warning("cannot list the source's users (%s); owners will be matched by name", exc)
                found = []
            self._users = [{"id": str(u.get("id")), "name": u.get("full_name"), "email": u.get("email"),
                            "status": u.get("status")} for u in found]
        return list(self._users)

    def preload(self, modules: list[str], every: bool = False) -> None:
        """The module list, the named modules' fields (a name spelled like an api_name is taken for one:
        :meth:`~connector.schema.catalog.Catalog.preload`) and the users, at once, and (``every``) the
        related lists that say which org tables the org has as soon as the list is in: :meth:`modules_for_run`
        and :meth:`prepare` then find them asked. Not with a credit budget (spent in module order) nor one
        slot."""
        if self.read_ahead():
            calls: list[Callable[[], object]] = [
                partial(self.session.catalog.preload, [m for m in modules if org_table(m) is None]), self.users]
            if every:
                # parents the target holds are asked beside the list; any other once the list names it
                calls += [*(partial(self._related_lists_of, p) for p in _ORG_TABLE_PARENTS if p in modules),
                          self._ask_related_lists]
            ask_at_once(calls, self.concurrency())

    def opening_share(self, modules: list[str]) -> int:
        """How many modules' first delta calls (a count and a deletion log each) fit in the connection's slots
        beside what :meth:`preload` asks for ``modules`` and the run's clock: the others wait their turn, so
        the metadata every read waits for is never queued behind them."""
        metadata = 4 + sum(not self.session.catalog.has_fields(m) for m in modules if org_table(m) is None)
        return max(0, self.concurrency() - metadata) // 2

    def prepare(self, names: list[str], whole: bool = False) -> None:
        """The modules' field metadata and the users, asked at once (a run needs them all before its first
        row); ``whole``, the record counts that size full loads too, as many as fit (:meth:`_expect_whole`).
        Not with a credit budget: that is spent in module order."""
        if self.read_ahead():
            calls = self._preparing(names)
            if whole:
                record = [m for m in names if org_table(m) is None]
                asking = sum(not self.session.catalog.has_fields(m) for m in record) + (self._users is None)
                self._expect_whole(record, asking)
            ask_at_once(calls, self.concurrency())

    def _preparing(self, names: list[str]) -> list[Callable[[], object]]:
        """What :meth:`prepare` asks: the users and the record modules' fields (answers kept by their caches)."""
        return [self.users, *(partial(self.session.catalog.fields, m) for m in names if org_table(m) is None)]

    def _request(self, module: str, since: datetime | None, count_second: bool = False) -> ReadRequest:
        """The read as the planner's choice policy sees it, sized by Zoho's record count (1 credit).

        A full load is every row; a delta is ``Modified_Time >= since``, estimated by the count of
        records modified after the watermark second (the rows at it were mostly taken last run).
        The count comes from statistics Zoho updates within minutes: an estimate, as the planner's.
        ``count_second``: rows were taken at the watermark second and it is not settled, so a read that
        cannot leave their ids out (all but COQL) checks the second by a count (:mod:`.boundary`).
        """
        ts = self.session.catalog.table(module)
        columns = [c.name for c in ts.columns]
        fields, extras = len(ts.fields_for(columns)), extras_for(ts, columns, self.session.config)
        apis, extra = ts.read_apis, bool(ts.records_only_columns)
        latency = self.session.http.latency.seconds  # on equal credits the faster API (planning.timing)
        if since is None:
            return ReadRequest(ts.module, fields, self._record_count(ts.module), extras=extras, apis=apis,
                               records_only=extra, latency_s=latency)
        delta = self._record_count(ts.module, self._delta_criteria(since))
        with self._lock:
            self._edits[ts.module] = delta
        # COQL and Bulk read the delta by Modified_Time (the boundary second's ids left out by COQL): the
        # same rows. Where the module has columns only the records API returns, COQL asks the records API
        # for them too, 100 ids a call after each page; the list API's If-Modified-Since pages hold them
        # already (and its read checks the watermark second by a count): priced beside the others. Elsewhere
        # the list API is no candidate (the module's size is not given, so it is not priced).
        return ReadRequest(ts.module, fields, None, filtered=True, rows=RowRange.exactly(delta), bulk_same=True,
                           extras=extras, apis=apis, records_only=extra, latency_s=latency,
                           rest_rows=delta if extra else None,
                           rest_also=Cost(1, coql_call_credits(1)) if extra and count_second else Cost(0, 0))

    def expect(self, module: str, modified_since: datetime | None, apis: frozenset[str] | None = None,
               rows: int | None = None, first_page: tuple[tuple[str, ...], datetime] | None = None) -> None:
        """The count that sizes this read (:meth:`_request`) is asked now — a delta's beside the module's
        deletion log, a full load's (``modified_since`` None) beside the module's fields — instead of after
        them: the same call, a round trip earlier. Only when the API is chosen by cost (else there is no
        count) and calls may run together. ``apis``: the module's read APIs as its state kept them (``module``
        its api_name as kept): asked beside the module list, not after it. ``rows`` (the target's): a small
        linking or subform module's delta is read without a count (:meth:`_small_linked`). ``first_page`` (a
        module whose delta the list API reads, :meth:`list_fields`): that page is asked now in place of the
        count (:meth:`_ask_first_page`)."""
        if modified_since is not None and rows:
            with self._lock:
                self._held_rows[module] = rows
            if self._small_linked(module, rows, listed_only=True):
                return
        if self.api_type != "Auto" or not self.read_ahead():
            return
        criteria = None if modified_since is None else self._delta_criteria(modified_since)
        # the module list only (no wait for its fields), or not even that when the state knows the module
        name = module if apis is not None else self.session.catalog.resolve(module)
        key = (name, criteria)
        with self._lock:
            if key in self._counting or key in self._counted or (criteria and name in self._pages_ahead):
                return
            if first_page is not None and criteria and apis is not None and "REST" in apis:
                self._ask_first_page(name, *first_page)
                return
            self._counting[key] = self._counting_pool().submit(copy_context().run,
                                                               partial(self._count_now, name, criteria, apis))

    def _ask_first_page(self, module: str, fields: tuple[str, ...], since: datetime) -> None:
        """The first list page of ``module``'s delta (rows modified at or after ``since``), asked as the list
        API reader would ask it with ``fields``, in place of the count that would size the read (under
        ``_lock``). Both cost a credit; a delta that fits on the page is then read whole, a round trip sooner
        and for a credit less, and the count is asked only when more rows follow, with the second page beside it
        (:meth:`_ask_next_page`; syncs run often, so their deltas are mostly small). Asked with the fields the
        module had at the last run, before this run knows them: the reader takes the page only if it asks
        the same (:meth:`_given_pages`)."""
        request = list_request(module, self.session.config.page_size, since)
        page = self._counting_pool().submit(copy_context().run, partial(api.list_page, self.session.http, module,
                                                                        list(fields), **request))
        self._pages_ahead[module] = (fields, request, page)

    def _first_page(self, module: str, since: datetime, page_since: datetime) -> api.Page | None:
        """The first list page of a delta read by Zoho's choice (``since``: its watermark), where one is asked
        in place of its count: asked ahead (:meth:`expect`), or now for a module whose fields say so
        (:meth:`list_fields`; from ``page_since``) unless its count was asked ahead (a state from before the
        fields were kept): a run reading in turn asks what a run reading ahead does."""
        criteria = self._delta_criteria(since)
        with self._lock:
            asked = module in self._pages_ahead
            counted = (module, criteria) in self._counting or (module, criteria) in self._counted
        if not asked and not counted:
            fields = self.list_fields(module)
            if fields is None:
                return None
            with self._lock:
                if module not in self._pages_ahead:
                    self._ask_first_page(module, fields, page_since)
        return self._page_ahead(module)

    def _asked_page(self, module: str) -> tuple[tuple[str, ...], api.Page] | None:
        """The first delta page asked ahead for ``module`` (:meth:`_ask_first_page`) and the fields it was asked
        with, once it is in; None: none was asked. Raises what asking it raised."""
        with self._lock:
            got = self._pages_ahead.get(module)
        return None if got is None else (got[0], got[2].result())

    def _page_ahead(self, module: str) -> api.Page | None:
        """The first delta page :meth:`expect` asked for ``module``, once it is in (None: none was asked, or
        it failed: the read asks again and reports what it finds)."""
        try:
            asked = self._asked_page(module)
        except ConnectorError as exc:
            log.info("%s: the delta's first page asked early failed (%s); reading as usual", module, exc)
            with self._lock:
                self._pages_ahead.pop(module, None)
            return None
        if asked is None:
            return None
        page = asked[1]
        with self._lock:  # the edits it shows, as a count would (a fuller delta's count replaces them)
            self._edits.setdefault(module, len(page.records))
        return page

    def first_rows(self, module: str, columns: list[str]) -> pa.RecordBatch | None:
        """The delta's first list page asked ahead (:meth:`_ask_first_page`), once it is in and before the read
        takes it (the read gives its rows once the count has chosen how to read the rest: a round trip later),
        as the list reader converts it, ``columns`` that the page was asked with."""
        try:
            got = self._asked_page(module)
        except ConnectorError:  # left as it is: the read finds it and goes on as it would have
            return None
        if got is None or not got[1].records:
            return None
        fields, page = got
        ts = self.session.catalog.table(module)
        asked = set(fields)
        cols = [c for c in dict.fromkeys(["id", *columns]) if (col := ts.column(c)) is not None
                and (c == "id" or col.field in asked)]
        try:
            return records_to_batch(ts, resolve_columns(ts, cols), page.records)
        except (ConnectorError, pa.ArrowException) as exc:  # the read converts them itself, and says what is wrong
            log.debug("%s: the first page's rows not taken early (%s)", module, exc)
            return None

    def _ask_next_page(self, module: str, first: api.Page) -> None:
        """The delta's second list page, asked by the token of the first (asked ahead, more rows follow) while
        the count that sizes the read is asked: the list API reader would ask it next whatever the count says
        (by number, beside the rest), so a delta of two pages is read a round trip after its first page
        instead of three (count, page 2, the check of numbered pages for a record a deletion moved between
        them: pages chained by token need none). It is a credit spent in vain only where the count makes
        another API cheaper than the list's pages (a large delta)."""
        with self._lock:
            got = self._pages_ahead.get(module)
            if got is None or module in self._next_pages or not first.next_page_token:
                return
            fields, request, _ = got
            self._next_pages[module] = self._counting_pool().submit(
                copy_context().run, partial(api.list_page, self.session.http, module, list(fields),
                                            **{**request, "page_token": first.next_page_token}))

    def _given_pages(self, module: str, fields: list[str], request: dict[str, Any]) -> list[api.Page] | None:
        """For the list API reader (:attr:`~connector.readers.base.ReaderContext.first_pages`): the pages asked
        ahead (the first, and the second when it was asked and came in), when they were asked exactly as the
        reader would ask its first page; taken once."""
        with self._lock:
            got = self._pages_ahead.get(module)
            second = self._next_pages.pop(module, None)
            if got is None or list(got[0]) != fields or got[1] != request:
                return None
            del self._pages_ahead[module]
        pages = [got[2].result()]  # in, and no failure: :meth:`_reader` hands this out only after _page_ahead
        if second is not None:
            try:
                pages.append(second.result())
            except ConnectorError as exc:  # the reader asks it again, and reports what it finds
                log.info("%s: the delta's second page asked beside its count failed (%s); asking it again",
                         module, exc)
        return pages

    def _counting_pool(self) -> ThreadPoolExecutor:
        """The threads counts asked ahead of their reads run on (made on first use)."""
        with self._pool_lock:
            if self._counter is None:
                self._counter = ThreadPoolExecutor(MAX_READ_AHEAD, thread_name_prefix="zoho-count")
            return self._counter

    @staticmethod
    def _delta_criteria(since: datetime) -> str:
        """Records modified after the watermark second (the rows at it were mostly taken last run)."""
        return str(SEARCH.compare("Modified_Time", "ge", [SEARCH.literal("datetime", since + timedelta(seconds=1))],
                                  False))

    def _record_count(self, module: str, criteria: str | None = None) -> int | None:
        with self._lock:
            asked = self._counting.pop((module, criteria), None)
            self._counted.add((module, criteria))
        return asked.result() if asked is not None else self._count_now(module, criteria)

    def _count_now(self, module: str, criteria: str | None, apis: frozenset[str] | None = None) -> int | None:
        if "COQL" not in (self.session.catalog.read_apis(module) if apis is None else apis):
            return None  # Notes and the like: no /actions/count (Zoho answers INVALID_MODULE)
        if criteria is None and converted_param(module) is not None:
            # Leads: /actions/count leaves converted leads out unless told otherwise (a parameter its page does
            # not document), and every reader reads them: a read sized by it is cut for too few rows, and its
            # last slice reads the rest page after page. COQL counts them all, for the same credit.
            return self._count(module, "")
        try:
            return api.count(self.session.http, module, criteria)
        except ConnectorError as exc:  # an estimate is a hint; the read itself reports real trouble
            log.info("cannot count %s (%s)", module, exc)
            return None

    def _reader(self, module: str, since: datetime | None, count_second: bool = False,
                page_since: datetime | None = None) -> tuple[Reader, int | None]:
        """The reader for a full load (``since`` None) or a delta, and the rows it should find when counted
        (``count_second`` as for :meth:`_request`; ``page_since``: where a list API read of the delta starts,
        :meth:`_first_page`)."""
        ctx = self.session.reader_context(progress=self.progress)
        choice = self.api_type
        expected: int | None = None
        page = self._first_page(module, since, page_since) \
            if since is not None and page_since is not None and choice == "Auto" else None
        if page is not None:
            ctx.first_pages = self._given_pages
        apis = self.session.catalog.table(module).read_apis
        if page is not None and not page.more and "REST" in apis:
            # the whole delta on the page asked in place of the count: read (no more calls) by the list API
            choice, expected = "REST", len(page.records)
            log.info("%s: reading with REST: the delta's first list page, asked with the module's metadata, "
                     "holds all of it (%d rows)", module, expected)
        elif choice == "Auto" and since is not None and self._uncounted(module, since):
            choice = "COQL"
            log.info("%s: reading with COQL: a small linking or subform module, read without a count", module)
        elif choice == "Auto":
            if page is not None and page.more and "REST" in apis:
                self._ask_next_page(module, page)  # beside the count
            # The planner's policy: deltas are usually small (COQL, keyset by id, the boundary ids left out by
            # the query), full loads and big deltas as cheap in credits as the list API or Bulk Read make them.
            request = self._request(module, since, count_second)
            choice, why = choose_api(request)
            log.info("%s: reading with %s: %s", module, choice, why)
            # The count paid for the choice sizes the read too: a long COQL read splits on it at no credit.
            expected = request.total_rows if since is None else request.rows.guess if request.rows else None
        elif choice == "Search":
            choice = "COQL"  # a sync has no search criteria; Search would only fall back to COQL
        if choice not in apis:
            log.info("%s: reading with %s: %s", module, fallback_api(apis, choice), refusal_note(module, apis, choice))
            choice = fallback_api(apis, choice)
        return reader_for(choice, ctx), expected

    def read(self, module: str, columns: list[str] | None = None, *, modified_since: datetime | None = None,
             exclude_ids: set[str] | None = None, boundary: BoundaryCheck | None = None
             ) -> Iterator[pa.RecordBatch]:
        """Rows of ``module``; with ``modified_since`` only those with Modified_Time >= it.

        ``exclude_ids`` (the ids already taken at the watermark second) are left out by the
        query itself when COQL serves it and they fit in one query; otherwise, given
        ``boundary``, only rows after that second are read and the second is checked by count
        (see :mod:`.boundary`). Either way a run with nothing new reads no rows at all.
        """
        if modified_since is None or columns is not None:
            yield from self._read(module, columns, modified_since, exclude_ids, boundary)
            return
        latest: datetime | None = None
        for b in self._read(module, columns, modified_since, exclude_ids, boundary):
            top = pc.max(b.column("Modified_Time")).as_py() if "Modified_Time" in b.schema.names else None
            latest = top if latest is None or (top is not None and top > latest) else latest
            yield b
        self._latest[module] = (modified_since, latest)  # the whole delta was read

    def _read(self, module: str, columns: list[str] | None, modified_since: datetime | None,
              exclude_ids: set[str] | None, boundary: BoundaryCheck | None) -> Iterator[pa.RecordBatch]:
        ids = sorted(exclude_ids or (), key=int)
        # where a list API read of the delta would start: past the watermark second when rows were taken there
        # (:meth:`_delta_past_boundary`), else at it
        page_since = None if modified_since is None or columns is not None else \
            modified_since + timedelta(seconds=1) if ids and boundary is not None else modified_since
        reader, expected = self._reader(module, modified_since,
                                        bool(ids) and boundary is not None and not boundary.watermark.settled(),
                                        page_since)
        if modified_since is not None and self.session.catalog.table(module).read_apis == PER_PARENT:
            # Attachments: the rows already taken are dropped here, and when this run's id listing
            # (for deletions) says which parents have attachments changed since, only those are asked.
            yield from not_taken(self._per_parent_delta(reader, module, columns, modified_since),
                                  modified_since, set(ids))
            return
        if modified_since is None or not ids:
            yield from reader.batches(module, columns, Pushdown(modified_since=modified_since, expected_rows=expected))
        elif getattr(reader, "name", "") == "COQL" and len(ids) <= COQL_IN_MAX * COQL_IN_CLAUSES:
            where = boundary_clause(modified_since, ids)
            yield from reader.batches(module, columns, Pushdown(modified_since=modified_since, coql_where=where,
                                                                expected_rows=expected))
        elif boundary is None:  # rows from the second on, those already taken there dropped here
            asked = columns if columns is None or "Modified_Time" in columns else [*columns, "Modified_Time"]
            rows = not_taken(reader.batches(module, asked, Pushdown(modified_since=modified_since)),
                              modified_since, set(ids))
            yield from (rows if asked is columns else (b.drop_columns(["Modified_Time"]) for b in rows))
        else:
            yield from self._delta_past_boundary(reader, module, columns, modified_since, set(ids), boundary, expected)

    def _delta_past_boundary(self, reader: Reader, module: str, columns: list[str] | None, second: datetime,
                             taken: set[str], boundary: BoundaryCheck, expected: int | None
                             ) -> Iterator[pa.RecordBatch]:
        def read_from(since: datetime) -> Iterator[pa.RecordBatch]:
            # A Bulk Read job costs 50 credits and three calls even when it finds nothing: count first.
            bulk = getattr(reader, "name", "") == "Bulk"
            if bulk and self._count(module, COQL.at_or_after("Modified_Time", since)) == 0:
                return iter(())
            # the delta's count is of the rows after the watermark second: those read here
            return reader.batches(module, columns, Pushdown(modified_since=since, expected_rows=expected))

        # The second's count needs nothing the read finds (only its comparison does): asked beside the read,
        # not a round trip after it. Whichever comes first, a row that moved meanwhile makes the two disagree,
        # and the second is read again whole: never a row missed (see :mod:`.boundary`).
        early: Future[int | None] | None = None
        if not boundary.watermark.settled() and self.read_ahead():
            early = self._counting_pool().submit(copy_context().run, self._count, module,
                                                 COQL.at("Modified_Time", second))

        def count_at(at: datetime) -> int | None:
            if early is not None and at == second:
                return early.result()
            return self._count(module, COQL.at("Modified_Time", at))

        def read_at(at: datetime, by_coql: bool) -> Iterator[pa.RecordBatch]:
            log.info("%s: the watermark second %s gained or lost rows since it was read; reading it again",
                     module, at.isoformat())
            return self._read_second(reader, module, columns, at, by_coql=by_coql)

        return read_past_boundary(second, taken, boundary, read_from=read_from, count_at=count_at, read_at=read_at)

    def _read_second(self, reader: Reader, module: str, columns: list[str] | None, second: datetime, *,
                     by_coql: bool) -> Iterator[pa.RecordBatch]:
        """Every row whose Modified_Time is exactly ``second``: by COQL when it answers, else the
        reader's rows from that second on, cut to the second here."""
        pushdown = Pushdown(modified_since=second)
        if by_coql:
            reader = reader_for("COQL", self.session.reader_context(progress=self.progress))
            pushdown = Pushdown(modified_since=second, coql_where=COQL.at("Modified_Time", second))
        stamp = pa.scalar(second, pa.timestamp("s", tz="UTC"))
        for b in reader.batches(module, columns, pushdown):
            kept = b.filter(pc.fill_null(pc.equal(b.column("Modified_Time"), stamp), False))
            if kept.num_rows:
                yield kept

    def _count(self, module: str, where: str) -> int | None:
        """COQL ``COUNT(id)`` of the rows matching ``where`` (one call); None when COQL cannot say."""
        from connector.api import coql

        try:
            rows, _ = coql.run(self.session.http, count_statement(module, where))
        except ConnectorError as exc:
            log.info("cannot count %s by COQL (%s)", module, exc)
            return None
        return int(rows[0].get("COUNT(id)", 0)) if rows else 0

    def ids(self, module: str, expected: int | None = None) -> set[str]:
        """Every id of a module (COQL keyset over ``id`` alone: 2,000 ids for at most 3 credits); ``expected``
        lets the listing go in id slices at once (:mod:`connector.readers.coql_slices`)."""
        ts = self.session.catalog.table(module)
        api = fallback_api(ts.read_apis, "COQL")
        reader = reader_for(api, self.session.reader_context())
        pd = Pushdown(expected_rows=expected) if expected else None
        if ts.read_apis != PER_PARENT or "Modified_Time" not in ts.by_name:
            return {i for b in reader.batches(module, ["id"], pd) for i in b.column("id").to_pylist() if i}
        cols = ["id", *PER_PARENT_KEYS[ts.module], "Modified_Time"]
        want = ts.select(cols)
        listed = pa.Table.from_batches([pa.RecordBatch.from_arrays([b.column(n) for n in cols], schema=want)
                                        for b in reader.batches(module, cols, pd)], schema=want)
        self._listed[ts.module] = listed
        return {i for i in listed.column("id").to_pylist() if i}

    def whole_read(self, module: str, expected: int | None) -> Iterator[pa.RecordBatch] | None:
        """A small linking or subform module (:meth:`_small_linked`) read whole over COQL, sliced as :meth:`ids`
        slices its listing: the same calls and credits (COQL charges by LIMIT, not by columns), so the delta
        read beside the listing is a heavy call saved. Larger modules (more bytes a page for the same calls),
        Attachments (listed per parent) and connections that force another API keep the two apart."""
        if not self._small_linked(module, expected) or "Modified_Time" not in self.session.catalog.table(module).by_name:
            return None
        reader = reader_for("COQL", self.session.reader_context(progress=self.progress))
        return reader.batches(module, None, Pushdown(expected_rows=expected))

    def _small_linked(self, module: str, rows: int | None, listed_only: bool = False) -> bool:
        """Whether ``module`` is a linking or subform module COQL reads, of at most :data:`WHOLE_READ_ROWS` rows
        as the target held them (``rows``). Where its ids are listed it is read whole (:meth:`whole_read`);
        where not, its delta goes over COQL without a count, which could choose nothing cheaper (COQL costs
        no more than the list API at any size, and five COQL pages cost less than one Bulk job) and, having
        no other use this run, would be a call spent in vain when the module is read whole.
        A module with columns only the records API returns is neither (its delta is priced by a count).
        ``listed_only``: nothing is waited for (False until the module list and the module's fields are in)."""
        if not rows or rows > WHOLE_READ_ROWS or self.api_type not in ("Auto", "COQL"):
            return False
        catalog = self.session.catalog
        info = catalog.listed(module) if listed_only else catalog.modules().get(module)
        if info is None or info.generated_type not in ("linking", "subform"):
            return False
        apis = catalog.read_apis(module)
        if apis == PER_PARENT or "COQL" not in apis or (listed_only and not catalog.has_fields(module)):
            return False
        # columns only the records API returns would have COQL ask it for every row read, not the delta's only
        return not catalog.table(module).records_only_columns

    def _uncounted(self, module: str, since: datetime) -> bool:
        """A delta read of a small linking or subform module that no count was asked for (one asked before the
        module list said what the module is sizes the read as usual)."""
        with self._lock:
            rows = self._held_rows.get(module)
            asked = any(m == module and criteria for m, criteria in (*self._counting, *self._counted))
        return not asked and self._small_linked(module, rows)

    def _per_parent_delta(self, reader: Reader, module: str, columns: list[str] | None,
                          since: datetime) -> Iterator[pa.RecordBatch]:
        listed = self._listed.pop(module, None)
        if listed is None:  # no listing this run: every parent is asked
            yield from reader.batches(module, columns, Pushdown(modified_since=since))
            return
        id_col, module_col = PER_PARENT_KEYS[module]
        stamp = pa.scalar(since, listed.schema.field("Modified_Time").type)
        changed = listed.filter(pc.fill_null(pc.greater_equal(listed.column("Modified_Time"), stamp), False))
        parents: dict[str, set[str]] = {}
        for pid, pmod in zip(changed.column(id_col).to_pylist(), changed.column(module_col).to_pylist(),
                             strict=True):
            if pid and pmod:
                parents.setdefault(str(pmod), set()).add(str(pid))
        for pmod, pids in sorted(parents.items()):
            keys = ((module_col, (pmod,)), (id_col, tuple(sorted(pids))))
            yield from reader.batches(module, columns, Pushdown(modified_since=since, keys=keys))

    def cascade_suspected(self, module: str, since: datetime | None) -> bool:
        """Could rows of this module have vanished without being listed in its ``/deleted``?

        Linking-module rows (multi-select lookups) go with either record they join, and subform
        rows with their parent or when the parent is saved without them — Zoho lists neither
        in the child's ``/deleted``. So for those modules: if a parent had deletions (or, for a
        subform, edits) since the last run, the runner compares ids to find what went. A run
        with nothing new pays a couple of empty calls and reads no rows.
        """
        info = self.session.catalog.modules().get(module)
        if info is None or info.generated_type not in ("linking", "subform"):
            return False
        if since is None:
            return True
        if self.cascade_foreseen(module):
            return True
        for parent in sorted(self._parents(module)):
            if self.deleted(parent, since, first_page_only=True):
                return True
            if info.generated_type == "subform":
                from connector.api import coql

                read = self._latest.get(parent)
                if read is not None and read[0] <= since:
                    # The parent's own delta this run read every row edited since then.
                    if read[1] is not None and read[1] >= since:
                        return True
                    continue
                query = CoqlQuery(parent, where=(COQL.at_or_after("Modified_Time", since),), order_by=(), limit=1)
                rows, _ = coql.run(self.session.http, query.text())
                if rows:
                    return True
        return False

    def cascade_foreseen(self, module: str) -> bool:
        """A subform whose parent's record count for this run's delta shows edits: saving a parent may drop
        subform rows that Zoho lists nowhere, so the ids are compared (the count is asked beside the module
        list, long before the parent's rows are read; :meth:`cascade_suspected` answers the same then)."""
        info = self.session.catalog.modules().get(module)
        if info is None or info.generated_type != "subform":
            return False
        return any(self._edits_counted(parent) for parent in sorted(self._parents(module)))

    def _edits_counted(self, module: str) -> int | None:
        """The count of ``module``'s records modified since its watermark, asked this run for its delta read
        (None: not asked, or Zoho would not count)."""
        with self._lock:
            known = self._edits.get(module)
            asked = next((f for (m, criteria), f in self._counting.items() if m == module and criteria), None)
            paged = module in self._pages_ahead
        if known is not None:
            return known
        if asked is not None:
            return asked.result()
        # the delta's first page asked in place of the count: its rows (all of them, or the first 200)
        page = self._page_ahead(module) if paged else None
        return len(page.records) if page is not None else None

    def concurrency(self) -> int:
        return self.session.config.max_concurrency

    def read_ahead(self, deltas_only: bool = False) -> int:
        config = self.session.config
        if config.credit_budget or config.credit_budget_per_day:
            return 0  # a budget is spent in module order, so that where it stops, whole modules are kept
        # A full read holds up to BUFFER batches of a module's rows in memory while it waits; a delta is a
        # few pages, and an org's modules are many: its reads wait on their calls, not on memory.
        return config.max_concurrency // 2 if deltas_only else min(MAX_READ_AHEAD, config.max_concurrency // 2)

    def delta_ahead(self, module: str) -> bool:
        """Every module: its reads are calls, and the rows that vanished with a parent are settled against
        the target at its turn (:meth:`.delta.DeltaStart.settle`)."""
        return True

    def delta_after(self, module: str) -> dict[str, str]:
        """A linking or subform module's parents: its cascade check reads their deletions (``head``) and a
        subform's their edits too (the latest Modified_Time their delta read saw: their whole read, but only
        the check needs it, so the subform's own delta read starts at once: ``settle``) from what their own
        reads of this run found."""
        info = self.session.catalog.modules().get(module)
        what = "settle" if info is not None and info.generated_type == "subform" else "head"
        return {parent: what for parent in sorted(self._parents(module))}

    def _parents(self, module: str) -> set[str]:
        info = self.session.catalog.modules().get(module)
        if info is None or info.generated_type not in ("linking", "subform"):
            return set()
        ts = self.session.catalog.table(module)
        parents = {f.lookup_module for f in ts.fields.values()
                   if f.data_type == "lookup" and f.lookup_module and f.lookup_module != module}
        return {p for p in parents if p in self.session.catalog.modules()}

    def files(self, module: str) -> tuple[FilePlan, Fetch] | None:
        """Attachments (one file a row), file/image upload fields and the record photo (``profileimage``,
        by the Photo API): their bytes come by one GET each."""
        ts = self.session.catalog.table(module)
        if ts.read_apis == PER_PARENT and "File_Id" in ts.by_name:
            plan = FilePlan(ts.module, attachments=True)
        else:
            fields = tuple(c.name for c in ts.columns if c.field in ts.fields
                           and ts.fields[c.field].data_type in ("fileupload", "imageupload"))
            photo = next((c.name for c in ts.columns if c.field in ts.fields
                          and ts.fields[c.field].data_type == "profileimage"), None)
            if not fields and photo is None:
                return None
            plan = FilePlan(ts.module, fields=fields, photo=photo)

        def fetch(path: str, params: dict[str, str]) -> Iterator[bytes]:
            r = self.session.http.request("GET", path, params=params or None, stream=True, kind="file_download",
                                          what=f"{module} file {path}")
            iter_content = getattr(r, "iter_content", None)
            if iter_content is None:  # a file whose own type is JSON comes back read whole
                yield r.content
                return
            yield from iter_content(1 << 20)

        return plan, fetch

    def deleted_ids(self, module: str, since: datetime | None, apis: frozenset[str] | None = None
                    ) -> list[str] | None:
        """Zoho keeps a deletion log (the recycle bin's ``/deleted``): every id deleted after ``since``.

        Attachments and the metadata tables (``_Users`` ...) have none (``/Attachments/deleted`` is no
        endpoint): None, so ids are compared. ``apis``: as the module's state kept them (no wait for the
        module list).
        """
        if (self.session.catalog.read_apis(module) if apis is None else apis) in (PER_PARENT, METADATA):
            return None
        return self.deleted(module, since)

    def read_apis(self, module: str) -> frozenset[str]:
        return self.session.catalog.read_apis(module)

    def list_fields(self, module: str) -> tuple[str, ...] | None:
        """The fields of a delta's first list page, for a module with columns only the records API returns
        (file and image uploads, participants, tags): the list API reads those at a credit a page of 200 where
        COQL and Bulk Read need its ``?ids=`` calls beside (100 rows each), so a small delta goes over it and
        the next run may ask its first page early (:meth:`expect`)."""
        if self.api_type != "Auto":
            return None
        ts = self.session.catalog.table(module)
        if "REST" not in ts.read_apis or ts.read_apis == PER_PARENT or not ts.records_only_columns:
            return None
        return tuple(field_groups(ts.fields_for(resolve_columns(ts, None)))[0])

    def deleted(self, module: str, since: datetime | None, *, first_page_only: bool = False) -> list[str]:
        """Ids deleted after ``since`` (all of the recycle bin list when None). Asked once per run: a second
        caller while the first is on the wire waits for its answer (a run may ask a module's deletions early,
        beside its metadata, and again when its read starts)."""
        with self._lock:
            gate = self._deleting.setdefault((module, since), threading.Lock())
        with gate:
            return self._deleted_now(module, since, first_page_only)

    def _deleted_now(self, module: str, since: datetime | None, first_page_only: bool) -> list[str]:
        known = self._deleted.get((module, since))
        if known is not None and (known[1] or first_page_only):
            return list(known[0])
        header = list_api.if_modified_since(since) if since else None
        ids: list[str] = []
        page = 1
        while True:
            p = api.deleted_page(self.session.http, module, page=page, if_modified_since=header)
            ids += [str(r["id"]) for r in p.records if r.get("id")]
            if not p.more or first_page_only:
                self._deleted[(module, since)] = (list(ids), not p.more)
                return ids
            page += 1

    def close(self) -> None:
        if self._counter is not None:
            self._counter.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def _related_parent(name: str) -> str | None:
    """The module whose related lists say whether the org has the org table ``name`` (None: no such question)."""
    spec = org_table(name)
    if spec is None or not spec.migrated or not spec.parent or not spec.related:
        return None
    return spec.parent


#: the modules whose related lists say whether the org has an org table a migration reads (Deals: contact roles)
_ORG_TABLE_PARENTS = tuple(sorted({p for t in TABLES if (p := _related_parent(t.name))}))
