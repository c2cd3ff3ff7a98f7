"""Related-list links into Zoho: campaign members with their status, contact roles on deals, the
products of price books with their list prices.

A link table of the source (``_Campaign_Members``, ``_Contact_Roles``, ``_Price_Book_Products``:
:mod:`connector.schema.org_tables`)
has one row per link: the parent record, the linked record (and its module), and the link's own
value. Both ends go through the id map; the link is made with Zoho's related records API::

    PUT /Campaigns/{id}/{Leads|Contacts}      {"data": [{"id": <record>, "Member_Status": ...}]} (100 a call)
    PUT /Deals/{id}/Contact_Roles/{contact}    {"data": [{"Contact_Role": {"id": ..., "name": ...}}]}
    PUT /Price_Books/{id}/Products              {"data": [{"id": <product>, "list_price": 12.5}]} (100 a call)

A ``PUT`` links, or re-values a link that exists: sending it again changes nothing, so a run
stopped half-way simply sends what it had not settled. Each link's outcome is kept in the sync
state (:mod:`.zoho_ledger`, with its value: an unchanged link is not sent again) and in the
per-file report. A link the source no longer has (gone from a full load, or deleted between
incremental runs) is delinked (``DELETE .../{list}/{record}``), when the connection may delete.
A contact role is matched by name to the target org's roles (``GET /Contacts/roles``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa

from connector.errors import ApiError, RetriableError
from connector.http.guard import missing_writes
from connector.http.policy import acting_as
from connector.session import ZohoSession
from connector.writers.report import Entry

from .idmap import SyncStateStore
from .zoho_files import RowFailed, each_at_once
from .zoho_ledger import DONE, FileReport, Ledger, Line
from .zoho_report import FailureLog

log = logging.getLogger("connector.sync")
PER_CALL = 100  # records a related-records PUT takes (related_records.json)


@dataclass(frozen=True)
class LinkTable:
    """How one link table of the source maps onto a related list of the target."""

    table: str
    parent: str  # the module of the parent record
    parent_column: str
    member_column: str
    #: the related list is named by the member's module (campaigns), or fixed (``Contact_Roles``)
    module_column: str | None
    fixed_list: str | None
    fixed_member_module: str | None
    value_column: str  # the link's own value
    batched: bool  # PUT .../{list} with up to 100 records, or one PUT .../{list}/{record} each
    #: the value's key in Zoho's payload (the column's name when None), and whether it is a number there
    value_key: str | None = None
    numeric: bool = False


LINK_TABLES = {
    "_Campaign_Members": LinkTable("_Campaign_Members", "Campaigns", "Campaign_Id", "Member_Id", "Member_Module",
                                   None, None, "Member_Status", True),
    "_Contact_Roles": LinkTable("_Contact_Roles", "Deals", "Deal_Id", "Contact_Id", None, "Contact_Roles",
                                "Contacts", "Contact_Role", False),
    "_Price_Book_Products": LinkTable("_Price_Book_Products", "Price_Books", "Price_Book_Id", "Product_Id", None,
                                      "Products", "Products", "List_Price", True, "list_price", True),
}


class ZohoLinks:
    def __init__(self, session: ZohoSession, store: SyncStateStore, ledger: Ledger, report: FileReport,
                 failures: FailureLog, note: Callable[[str, str], None]) -> None:
        self.session, self.store, self.ledger, self.report = session, store, ledger, report
        self.failures, self.note = failures, note
        self.http = session.http
        self._roles: dict[str, str] | None = None
        self.slots = max(1, int(session.config.max_concurrency))  # link calls at once

    def _fail(self, line: Line, code: str, message: str) -> None:
        self.report.add(line, "failed", code, message)
        self.failures.add(line.module, "link", [(line.source_id, Entry(0, "failed", code=code, message=message))])

    def _payload(self, spec: LinkTable, value: str | None) -> dict[str, Any]:
        if spec.value_column != "Contact_Role":
            if value is None:
                return {}
            return {spec.value_key or spec.value_column: float(value) if spec.numeric else value}
        if self._roles is None:
            r = self.http.get("/Contacts/roles", kind="metadata")
            found = (r.body or {}).get("contact_roles", []) if isinstance(r.body, dict) else []
            self._roles = {str(x.get("name")): str(x.get("id")) for x in found}
        role = self._roles.get(str(value))
        if role is None:
            raise RowFailed("ROLE_NOT_IN_TARGET", f"the target org has no contact role named {value!r} "
                                                  "(add it in Setup > Contact Roles, then run again)")
        return {"Contact_Role": {"id": role, "name": value}}

    def write(self, spec: LinkTable, batches: Iterator[pa.RecordBatch], seen: set[str]) -> int:
        """Link each row's records in the target; links made or re-valued."""
        written = 0
        with acting_as("update", spec.parent):
            for b in batches:
                rows = b.to_pylist()
                sids = [str(r["id"]) for r in rows]
                seen.update(sids)
                written += self._batch(spec, rows, self.ledger.lines(spec.table, sids))
        return written

    def _batch(self, spec: LinkTable, rows: list[dict[str, Any]], lines: dict[tuple[str, str], Line]) -> int:
        parents = self.store.lookup(spec.parent, [str(r.get(spec.parent_column) or "") for r in rows])
        members: dict[str, dict[str, str]] = {}
        calls: dict[tuple[str, str], list[tuple[Line, dict[str, Any]]]] = {}
        for r in rows:
            module = str(r.get(spec.module_column) or "") if spec.module_column else str(spec.fixed_member_module)
            if module not in members:
                members[module] = self.store.lookup(module, [str(x.get(spec.member_column) or "") for x in rows])
            value = r.get(spec.value_column)
            value = None if value is None else str(value)
            parent, member = parents.get(str(r.get(spec.parent_column))), members[module].get(str(r.get(spec.member_column)))
            line = Line(spec.table, str(r["id"]), "", spec.parent, parent or "", module, None, None, value)
            if parent is None or member is None:
                gone = f"{spec.parent} {r.get(spec.parent_column)}" if parent is None else \
                    f"{module} {r.get(spec.member_column)}"
                self._fail(line, "RECORD_NOT_MIGRATED", f"{gone} is not in the target (its write failed, or it "
                                                        "was not migrated)")
                continue
            line.target_id = f"{parent}:{member}"
            old = lines.get((line.source_id, ""))
            if old is not None and old.status == DONE and (old.target_id, old.value) == (line.target_id, value):
                continue  # linked with this value by an earlier run
            try:
                payload = {"id": member, **self._payload(spec, value)}
            except RowFailed as exc:
                self._fail(line, exc.code, exc.message)
                continue
            if old is not None and old.status == DONE and old.target_id != line.target_id:
                self._delink(spec, old)  # the same source link now joins other records
            calls.setdefault((parent, spec.fixed_list or module), []).append((line, payload))
        step = PER_CALL if spec.batched else 1
        # each call links members of one parent: independent of the others, so they go MaxConcurrency at a time
        return each_at_once([partial(self._put, spec, parent, related, items[i:i + step])
                             for (parent, related), items in calls.items() for i in range(0, len(items), step)],
                            self.slots, "zoho-links")

    def _put(self, spec: LinkTable, parent: str, related: str, items: list[tuple[Line, dict[str, Any]]]) -> int:
        if spec.batched:
            path, body = f"/{spec.parent}/{parent}/{related}", {"data": [p for _, p in items]}
        else:
            member = items[0][1]["id"]
            path, body = f"/{spec.parent}/{parent}/{related}/{member}", \
                {"data": [{k: v for k, v in items[0][1].items() if k != "id"}]}
        try:
            r = self.http.request("PUT", path, json=body, kind="link", batch=True,
                                  what=f"{spec.table} links of {spec.parent} {parent}")
        except RetriableError as exc:
            if not exc.ambiguous:
                raise
            answers: list[dict[str, Any]] = [{"status": "error", "code": "NO_ANSWER", "message": str(exc)}] * len(items)
        except ApiError as exc:
            answers = [{"status": "error", "code": exc.code or "", "message": str(exc)}] * len(items)
        else:
            data = (r.body or {}).get("data") if isinstance(r.body, dict) else None
            answers = list(data) if isinstance(data, list) else []
        n = 0
        for j, (line, _) in enumerate(items):
            a = answers[j] if j < len(answers) else {"status": "error", "code": "NO_ANSWER", "message": "not answered"}
            if a.get("status") == "success":
                self.ledger.done(line, str(line.target_id))
                self.report.add(line, "linked")
                n += 1
            else:
                self._fail(line, str(a.get("code") or "LINK_FAILED"), str(a.get("message") or a))
        return n

    def _delink(self, spec: LinkTable, line: Line) -> bool:
        if missing_writes(self.session.config, {spec.parent: ["delete"]}):
            self.note(spec.table, f"links removed at the source stay in Zoho: the target connection does not allow "
                                  f"delete on {spec.parent} (a delink is DELETE /{spec.parent}/{{id}}/...)")
            return False
        parent, member = str(line.target_id).split(":", 1)
        related = spec.fixed_list or line.name
        try:
            with acting_as("delete", spec.parent):
                self.http.request("DELETE", f"/{spec.parent}/{parent}/{related}/{member}", kind="link",
                                  what=f"delink of {spec.table} {line.source_id}")
        except ApiError as exc:
            if exc.code not in ("INVALID_DATA", "MANDATORY_NOT_FOUND"):  # not linked any more: nothing to undo
                raise
        self.ledger.drop(spec.table, line.source_id)
        self.report.add(line, "delinked")
        return True

    def delete(self, spec: LinkTable, source_ids: list[str]) -> int:
        """Delink what these (deleted) source rows linked; links removed."""
        n = 0
        for line in self.ledger.lines(spec.table, source_ids).values():
            if line.status == DONE and line.target_id:
                n += self._delink(spec, line)
        return n
