"""After an ambiguous write: find out what Zoho actually did before trying again.

An insert whose answer was lost (the connection dropped after the request was
sent) may or may not have landed; sending it again could create duplicates.
:class:`RecordFinder` looks the rows up first, and only the rows not found are
sent again:

* by key (the ``key`` given to the writer, else the module's unique or
  duplicate-check field, records.md section 5) with COQL
  ``where <key> in (...)``, which reads its own writes (the Search API lags);
* without a key value, or where COQL is not served, by scanning the records
  created since the batch was sent (``sort_by=Created_Time`` desc) and matching
  every written field.

Either way only records created at or after the batch was sent count, so a
record that already existed with the same key is never taken for ours. Times
are Zoho's: :class:`ServerClock` learns the server's clock from ``Date`` headers.
Deletes are checked the other way round, in the recycle bin (``/deleted``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from connector.api import records
from connector.api.coql import quote_literal
from connector.errors import FatalApiError
from connector.http.client import ZohoHttp
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
COQL_IN_MAX = 100  # search-and-coql.md B.7
FINGERPRINT_MAX = 40  # fields compared when no key is available (list calls take 50)
MATCHABLE = frozenset({"text", "email", "phone", "website", "picklist", "integer", "bigint", "double", "currency",
                       "percent", "lookup", "ownerlookup", "userlookup", "autonumber"})
#: values compared to recognise a row that has no key (JSON documents and long text are left out)
FINGERPRINT = MATCHABLE | {"date", "datetime", "boolean", "multiselectpicklist"}


class ServerClock:
    """Zoho's clock relative to ours, from the ``Date`` header of the latest answer."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.known = False

    def observe(self, headers: Mapping[str, str] | None) -> None:
        raw = (headers or {}).get("Date") or (headers or {}).get("date")
        if not raw:
            return
        try:
            server = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return
        self.offset = server.astimezone(UTC) - datetime.now(UTC)
        self.known = True

    def server_time(self, local: datetime) -> datetime:
        return local + self.offset


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

    def find(self, items: list[RowItem], sent_local: datetime, claimed: set[str]) -> dict[int, str]:
        """Input row -> id of the record it created, for the rows found; ``claimed`` ids are skipped."""
        m = self.match
        keyed = [it for it in items if m is not None and normalize(m, it.payload.get(m.api_name)) is not None]
        found: dict[int, str] = {}
        scan = items
        if keyed and self.coql_served:
            try:
                found.update(self._by_coql(keyed, sent_local, claimed))
                keyed_rows = {it.row for it in keyed}
                scan = [it for it in items if it.row not in keyed_rows]
            except FatalApiError as exc:
                # COQL not served here (or the field is not queryable): scanning still works.
                log.info("COQL lookup unavailable (%s); scanning recent records instead", exc.code)
                self.coql_served = False
        if scan:
            found.update(self._by_scan(scan, sent_local, claimed | set(found.values())))
        return found

    def _cutoff(self, sent_local: datetime) -> datetime:
        return self.clock.server_time(sent_local) - MARGIN

    # -- by key, with COQL ------------------------------------------------------------------

    def _literal(self, f: FieldInfo, value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("id"))
        if f.value_type in ("integer", "double", "currency", "percent"):
            return str(value)
        return quote_literal(str(value))

    def _by_coql(self, items: list[RowItem], sent_local: datetime, claimed: set[str]) -> dict[int, str]:
        m = self.match
        assert m is not None
        found: dict[int, str] = {}
        taken = set(claimed)
        for start in range(0, len(items), COQL_IN_MAX):
            chunk = items[start:start + COQL_IN_MAX]
            values = sorted({self._literal(m, it.payload[m.api_name]) for it in chunk})
            query = (f"select id, Created_Time, {m.api_name} from {self.ts.module} "
                     f"where {m.api_name} in ({', '.join(values)}) limit 2000")
            r = self.http.post("/coql", json={"select_query": query}, idempotent=True, kind="coql",
                               what=f"COQL lookup in {self.ts.module}")
            self.clock.observe(r.headers)
            rows = [] if r.empty else list(r.body.get("data", []))
            found.update(self._assign(chunk, rows, sent_local, taken, [m]))
        return found

    # -- by scanning what was created since ------------------------------------------------

    def _fingerprint_fields(self, items: list[RowItem]) -> list[FieldInfo]:
        used = {k for it in items for k in it.payload}
        out = [f for f in self.plan.fields if f.api_name in used and (f.value_type in FINGERPRINT or f.is_lookup)]
        if self.match is not None and self.match in out:
            out.remove(self.match)
            out.insert(0, self.match)
        return out[:FINGERPRINT_MAX]

    def _by_scan(self, items: list[RowItem], sent_local: datetime, claimed: set[str]) -> dict[int, str]:
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
            cutoff = self._cutoff(sent_local)
            oldest = _created(data[-1]) if data else None
            info = r.body.get("info", {})
            if not data or not info.get("more_records") or (oldest is not None and oldest < cutoff):
                break
            token = info.get("next_page_token")
            page += 1
            if not token and page * records.MAX_PER_PAGE > records.DISCRETE_PAGING_LIMIT:
                break
        return self._assign(items, recent, sent_local, set(claimed), fields)

    def _assign(self, items: list[RowItem], candidates: list[dict[str, Any]], sent_local: datetime,
                taken: set[str], fields: list[FieldInfo]) -> dict[int, str]:
        cutoff = self._cutoff(sent_local)
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
                if all(normalize(f, rec.get(f.api_name)) == v for f, v in wanted):
                    found[it.row] = rid
                    taken.add(rid)
                    break
        return found


def confirm_deleted(http: ZohoHttp, module: str, ids: set[str], sent_local: datetime,
                    clock: ServerClock) -> set[str]:
    """Which of ``ids`` are in the recycle bin since the batch was sent (a retried delete found them gone)."""
    since = (clock.server_time(sent_local) - MARGIN).astimezone(UTC).replace(microsecond=0).isoformat()
    seen: set[str] = set()
    page = 1
    while len(seen) < len(ids):
        p = records.deleted_page(http, module, page=page, kind="all", if_modified_since=since)
        seen |= {str(d.get("id")) for d in p.records} & ids
        if not p.more:
            break
        page += 1
    return seen
