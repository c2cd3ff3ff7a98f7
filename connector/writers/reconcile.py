"""After an ambiguous write: find out what Zoho actually did before trying again.

An insert whose answer was lost (the connection dropped after the request was
sent) may or may not have landed; sending it again could create duplicates.
:class:`RecordFinder` looks the rows up first, and only the rows not found are
sent again:

* by key (the ``key`` given to the writer, else the module's unique or
  duplicate-check field, records.md section 5) with COQL
  ``where <key> in (...)``, which reads its own writes (the Search API lags),
  every other value the row sets compared too (a duplicate-check field is not unique);
* without a key value, or where COQL is not served, by scanning the records
  created since the batch was sent (``sort_by=Created_Time`` desc) and matching
  every written field.

Either way only records created at or after the batch was sent count, so a
record that already existed with the same key is never taken for ours. Times
are Zoho's: :class:`ServerClock` (one per connection) learns the server's clock
from ``Date`` headers, and the send times a journal keeps are on that clock, so a
resume compares Zoho's times with Zoho's times whatever either clock did since
(a local clock stepped by an hour, a server clock corrected). Deletes are checked
the other way round, in the recycle bin (``/deleted``).

A row sent again after a lost answer may be refused as ``DUPLICATE_DATA`` of a
record Zoho names (a unique field): :meth:`RecordFinder.adopt` takes that record
as the row's own when it is ours — see :data:`ADOPT_WINDOW` for the rule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from connector.api import records
from connector.api.coql import quote_literal
from connector.errors import ConnectorError, FatalApiError
from connector.http.client import ZohoHttp
from connector.http.per_connection import PerConnection
from connector.schema.types import FieldInfo, TableSchema

from .validate import RowItem, WritePlan

log = logging.getLogger("connector.writers")

#: system duplicate-check field per standard module (records.md section 5); custom modules use Name
DUPLICATE_CHECK = {"Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name",
                   "Campaigns": "Campaign_Name", "Cases": "Subject", "Solutions": "Solution_Title",
                   "Products": "Product_Name", "Vendors": "Vendor_Name", "Price_Books": "Price_Book_Name",
                   "Quotes": "Subject", "Sales_Orders": "Subject", "Purchase_Orders": "Subject",
                   "Invoices": "Subject"}
#: Date headers have whole seconds and Created_Time too; the cutoff errs this far on the early side
MARGIN = timedelta(seconds=5)
#: The rule for adopting the record a DUPLICATE_DATA answer names, for a row an earlier attempt
#: sent without learning the outcome: (1) no other row of the write has it, (2) every value the
#: row sets equals the record's, (3) the user this connection acts as created it (when Zoho says
#: who did), and (4) it was created no earlier than this long before the row was first sent. The
#: window is far wider than any clock error (send times are Zoho's own; this covers journals of
#: a clock that was wrong when they were written) and still excludes a record someone made days
#: before with the same values.
ADOPT_WINDOW = timedelta(hours=24)
COQL_IN_MAX = 100  # search-and-coql.md B.7
IDS_PER_GET = 100  # GET /{module}?ids= takes at most 100 (records.md section 1)
FINGERPRINT_MAX = 40  # fields compared when no key is available (list calls take 50)
MATCHABLE = frozenset({"text", "email", "phone", "website", "picklist", "integer", "bigint", "double", "currency",
                       "percent", "lookup", "ownerlookup", "userlookup", "autonumber"})
#: values compared to recognise a row that has no key (JSON documents and long text are left out)
FINGERPRINT = MATCHABLE | {"date", "datetime", "boolean", "multiselectpicklist"}


class ServerClock:
    """Zoho's clock relative to ours, from the ``Date`` header of the latest answer.

    One per connection (:func:`server_clock`), so every write on it stamps times on Zoho's
    clock from its first row on; :meth:`prime` asks once when no answer was seen yet.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.known = False
        self.user_id: str | None = None  # the user this connection acts as, when Zoho said
        self._lock = threading.Lock()
        self._priming = threading.Lock()  # writes starting together (a migration's chunks) ask once

    def observe(self, headers: Mapping[str, str] | None) -> None:
        raw = (headers or {}).get("Date") or (headers or {}).get("date")
        if not raw:
            return
        try:
            server = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return
        with self._lock:
            self.offset = server.astimezone(UTC) - datetime.now(UTC)
            self.known = True

    def now(self) -> datetime:
        """Zoho's time now (ours until an answer told us theirs)."""
        return datetime.now(UTC) + self.offset

    def prime(self, http: ZohoHttp) -> None:
        """Learn Zoho's clock (and who we are) before the first write stamps a time."""
        with self._priming:
            if not self.known:
                self._prime(http)

    def _prime(self, http: ZohoHttp) -> None:
        try:
            r = http.get("/users", params={"type": "CurrentUser"}, kind="metadata", what="server time")
            users = r.body.get("users") if isinstance(r.body, dict) else None
            if users and isinstance(users[0], dict) and users[0].get("id"):
                self.user_id = str(users[0]["id"])
        except ConnectorError:  # no users scope: the org answers with a Date header too
            try:
                r = http.get("/org", kind="metadata", what="server time")
            except ConnectorError as exc:
                log.warning("cannot learn Zoho's clock (%s); send times are kept on the local clock", exc)
                return
        self.observe(r.headers)


#: the clock of one connection (its HTTP client), shared by every write on it
server_clock: PerConnection[ServerClock] = PerConnection(ServerClock)


def default_match_field(plan: WritePlan) -> FieldInfo | None:
    """The field rows are recognised by: the given key, else a unique or duplicate-check field written."""
    if plan.key_field is not None:
        return plan.key_field
    written = {f.api_name: f for f in plan.fields}
    dup = DUPLICATE_CHECK.get(plan.module) or ("Name" if "Name" in written else None)
    candidates = [f for f in written.values() if f.unique] + ([written[dup]] if dup in written else [])
    return next((f for f in candidates if f.value_type in MATCHABLE), None)


def upsert_keys(plan: WritePlan) -> list[FieldInfo]:
    """Fields an upsert can match a row by: the given key, else the unique and duplicate-check fields written."""
    if plan.key_field is not None:
        return [plan.key_field]
    dup = DUPLICATE_CHECK.get(plan.module, "Name")
    return [f for f in plan.fields if f.unique or f.api_name == dup]


def has_key(keys: list[FieldInfo], item: RowItem) -> bool:
    """Whether Zoho can match this row to an existing record; without, an upsert is an insert."""
    return any(normalize(f, item.payload.get(f.api_name)) is not None for f in keys)


def normalize(f: FieldInfo | None, value: Any) -> Any:
    """A value as sent or as read back -> something equal on both sides."""
    if isinstance(value, dict):
        return str(value.get("id")) if value.get("id") is not None else None
    if value is None or value == "" or value == []:
        return None
    vt = f.value_type if f is not None else "text"
    if isinstance(value, list):
        return tuple(sorted(str(v) for v in value))
    if isinstance(value, bool):
        return value
    if vt in ("integer", "bigint"):
        try:
            return int(str(value))
        except ValueError:
            return str(value)
    if vt in ("double", "currency", "percent"):
        try:
            return round(float(value), 6)
        except ValueError:
            return str(value)
    if vt == "datetime":
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return str(value)
    return str(value).strip().casefold()


def _created(rec: dict[str, Any]) -> datetime | None:
    raw = rec.get("Created_Time")
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC) if raw else None
    except ValueError:
        return None


class RecordFinder:
    """Looks up which rows of an ambiguous insert are already in Zoho (one per write)."""

    def __init__(self, http: ZohoHttp, ts: TableSchema, plan: WritePlan, clock: ServerClock) -> None:
        self.http, self.ts, self.plan, self.clock = http, ts, plan, clock
        self.match = default_match_field(plan)
        self.coql_served = True

    def find(self, items: list[RowItem], sent: datetime, claimed: set[str]) -> dict[int, str]:
        """Input row -> id of the record it created, for the rows found; ``claimed`` ids are skipped.

        ``sent``: when the rows were first sent, on Zoho's clock.
        """
        m = self.match
        keyed = [it for it in items if m is not None and normalize(m, it.payload.get(m.api_name)) is not None]
        found: dict[int, str] = {}
        scan = items
        if keyed and self.coql_served:
            try:
                found.update(self._by_coql(keyed, sent, claimed))
                keyed_rows = {it.row for it in keyed}
                scan = [it for it in items if it.row not in keyed_rows]
            except FatalApiError as exc:
                # COQL not served here (or the field is not queryable): scanning still works.
                log.info("COQL lookup unavailable (%s); scanning recent records instead", exc.code)
                self.coql_served = False
        if scan:
            found.update(self._by_scan(scan, sent, claimed | set(found.values())))
        return found

    @staticmethod
    def _cutoff(sent: datetime) -> datetime:
        return sent - MARGIN

    # -- by key, with COQL ------------------------------------------------------------------

    def _literal(self, f: FieldInfo, value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("id"))
        if f.value_type in ("integer", "double", "currency", "percent"):
            return str(value)
        return quote_literal(str(value))

    def _by_coql(self, items: list[RowItem], sent: datetime, claimed: set[str]) -> dict[int, str]:
        m = self.match
        assert m is not None
        found: dict[int, str] = {}
        taken = set(claimed)
        for start in range(0, len(items), COQL_IN_MAX):
            chunk = items[start:start + COQL_IN_MAX]
            values = sorted({self._literal(m, it.payload[m.api_name]) for it in chunk})
            # Every value the rows set is compared, not the key alone: a duplicate-check field
            # (Deal_Name, Subject...) is not unique, and a record another batch made since the
            # send may bear the same name (two source rows then took one record).
            fields = self._fingerprint_fields(chunk)
            names = ", ".join(dict.fromkeys(["id", "Created_Time", m.api_name, *(f.api_name for f in fields)]))
            query = (f"select {names} from {self.ts.module} "
                     f"where {m.api_name} in ({', '.join(values)}) limit 2000")
            r = self.http.post("/coql", json={"select_query": query}, idempotent=True, kind="coql",
                               what=f"COQL lookup in {self.ts.module}")
            self.clock.observe(r.headers)
            rows = [] if r.empty else list(r.body.get("data", []))
            found.update(self._assign(chunk, rows, sent, taken, fields or [m]))
        return found

    # -- by scanning what was created since ------------------------------------------------

    def _fingerprint_fields(self, items: list[RowItem]) -> list[FieldInfo]:
        used = {k for it in items for k in it.payload}
        # Not the fields only the records API answers (Tag, files, participants): COQL refuses them, and
        # Zoho reads them back in another shape (a tag with its id, a file by its id) than they were sent.
        out = [f for f in self.plan.fields if f.api_name in used and not f.records_only
               and (f.value_type in FINGERPRINT or f.is_lookup)]
        if self.match is not None and self.match in out:
            out.remove(self.match)
            out.insert(0, self.match)
        return out[:FINGERPRINT_MAX]

    def _by_scan(self, items: list[RowItem], sent: datetime, claimed: set[str]) -> dict[int, str]:
        fields = self._fingerprint_fields(items)
        names = ["Created_Time"] + [f.api_name for f in fields if f.api_name != "Created_Time"]
        recent: list[dict[str, Any]] = []
        token: str | None = None
        page = 1
        while True:
            params: dict[str, Any] = {"fields": ",".join(names), "per_page": records.MAX_PER_PAGE,
                                      "sort_by": "Created_Time", "sort_order": "desc"}
            if token:
                params["page_token"] = token
            else:
                params["page"] = page
            r = self.http.get(f"/{self.ts.module}", params=params, kind="list",
                              what=f"recent records of {self.ts.module}")
            self.clock.observe(r.headers)
            if r.empty:
                break
            data = list(r.body.get("data", []))
            recent += data
            cutoff = self._cutoff(sent)
            oldest = _created(data[-1]) if data else None
            info = r.body.get("info", {})
            if not data or not info.get("more_records") or (oldest is not None and oldest < cutoff):
                break
            token = info.get("next_page_token")
            page += 1
            if not token and page * records.MAX_PER_PAGE > records.DISCRETE_PAGING_LIMIT:
                break
        return self._assign(items, recent, sent, set(claimed), fields)

    def _assign(self, items: list[RowItem], candidates: list[dict[str, Any]], sent: datetime,
                taken: set[str], fields: list[FieldInfo]) -> dict[int, str]:
        cutoff = self._cutoff(sent)
        fresh = [c for c in candidates if (t := _created(c)) is not None and t >= cutoff]
        fresh.sort(key=lambda c: (_created(c) or cutoff, str(c.get("id"))))  # oldest first: input order
        found: dict[int, str] = {}
        for it in items:
            # Only what the row sets: Zoho fills defaults (owner, unchecked boxes) into the rest.
            wanted = [(f, v) for f in fields if (v := normalize(f, it.payload.get(f.api_name))) is not None]
            if not wanted:
                continue  # nothing to recognise the row by: it stays unconfirmed
            for rec in fresh:
                rid = str(rec.get("id"))
                if rid in taken:
                    continue
                if _same_values(wanted, rec):
                    found[it.row] = rid
                    taken.add(rid)
                    break
        return found

    # -- the record a DUPLICATE_DATA answer names ------------------------------------------

    def adopt(self, named: list[tuple[RowItem, str]], first_sent: Mapping[int, datetime],
              claimed: set[str]) -> dict[int, str]:
        """Input row -> the record Zoho named as its duplicate, for the rows where it is ours.

        ``named``: (row sent again, id from its DUPLICATE_DATA answer), only for rows an earlier
        attempt sent without learning the outcome; ``first_sent``: row -> that first send, on
        Zoho's clock. The rule is :data:`ADOPT_WINDOW`'s.
        """
        fields = self._fingerprint_fields([it for it, _ in named])
        names = list(dict.fromkeys(["Created_Time", "Created_By", *(f.api_name for f in fields)]))
        wanted_ids = sorted({rid for _, rid in named})
        records_by_id: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted_ids), IDS_PER_GET):
            params: dict[str, Any] = {"ids": ",".join(wanted_ids[start:start + IDS_PER_GET]),
                                      "fields": ",".join(names[:records.MAX_FIELDS_PER_CALL])}
            if self.ts.module == "Leads":
                params["converted"] = "both"
            r = self.http.get(f"/{self.ts.module}", params=params, kind="get",
                              what=f"check duplicates in {self.ts.module}")
            self.clock.observe(r.headers)
            if not r.empty:
                records_by_id.update({str(d.get("id")): d for d in r.body.get("data", [])})
        found: dict[int, str] = {}
        taken = set(claimed)
        for it, rid in named:
            rec = records_by_id.get(rid)
            if rec is None or rid in taken or it.row in found:
                continue
            created = _created(rec)
            if created is None or created < first_sent[it.row] - ADOPT_WINDOW - MARGIN:
                continue  # someone's record from long before: a real duplicate, not our lost insert
            creator = rec.get("Created_By")
            creator_id = str(creator.get("id")) if isinstance(creator, dict) and creator.get("id") else None
            if self.clock.user_id and creator_id and creator_id != self.clock.user_id:
                continue
            wanted = [(f, v) for f in fields if (v := normalize(f, it.payload.get(f.api_name))) is not None]
            if wanted and _same_values(wanted, rec):
                found[it.row] = rid
                taken.add(rid)
        return found


def _same_values(wanted: list[tuple[FieldInfo, Any]], rec: dict[str, Any]) -> bool:
    return all(normalize(f, rec.get(f.api_name)) == v for f, v in wanted)


def confirm_deleted(http: ZohoHttp, module: str, ids: set[str], sent: datetime) -> set[str]:
    """Which of ``ids`` are in the recycle bin since the batch was sent (``sent`` on Zoho's clock)."""
    since = (sent - MARGIN).astimezone(UTC).replace(microsecond=0).isoformat()
    seen: set[str] = set()
    page = 1
    while len(seen) < len(ids):
        p = records.deleted_page(http, module, page=page, kind="all", if_modified_since=since)
        seen |= {str(d.get("id")) for d in p.records} & ids
        if not p.more:
            break
        page += 1
    return seen
