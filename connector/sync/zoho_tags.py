"""Tags the source dropped, removed from the target's records.

A record's tags travel with it (``Tag: [{"name": ...}]``), but a write only ever *adds* tags
(records.md section 9): a tag the source took off a record would stay in the target. So the
sync state keeps, per record, the tag names this target last sent (``child_writes`` rows of
slot ``tags``, :mod:`.zoho_ledger`); when an update lands, the names sent before and not now
are taken off with Zoho's tag action::

    POST /{module}/actions/remove_tags   {"tags": [{"name": ...}], "ids": [...]}   (100 records a call)

Only what this sync put there is removed: a tag someone added in the target by hand stays.
Removing a tag a record no longer has changes nothing, so a run killed between the update and
the removal simply removes again; the names are kept only after the removal settled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyarrow as pa

from connector.errors import ApiError, RetriableError
from connector.http.policy import acting_as
from connector.session import ZohoSession
from connector.writers.report import DONE, Entry, WriteReport
from connector.writers.validate import tag_names

from .idmap import SyncStateStore
from .zoho_ledger import Ledger
from .zoho_report import FailureLog

SLOT = "tags"
PER_CALL = 100  # records a tag action takes (tags.json)


class TagSync:
    def __init__(self, session: ZohoSession, store: SyncStateStore, failures: FailureLog) -> None:
        self.session, self.store, self.failures = session, store, failures
        Ledger(store)  # the child_writes table

    def column(self, module: str) -> str | None:
        """The module's Tag column, or None when its records carry no tags."""
        ts = self.session.catalog.table(module)
        return next((c.name for c in ts.columns if c.value_type == "tag"), None)

    def sent(self, module: str, source_ids: Iterable[str]) -> dict[str, list[str]]:
        """The tag names last sent with these records."""
        ids = sorted(set(source_ids))
        if not ids:
            return {}
        rows = self.store.con.execute("SELECT source_id, value FROM child_writes WHERE module = ? AND slot = ? AND "
                                      "source_id IN (SELECT unnest(?))", [module, SLOT, ids]).fetchall()
        return {r[0]: json.loads(r[1]) for r in rows if r[1]}

    def landed(self, module: str, table: pa.Table, report: WriteReport, sids: list[str], operation: str,
               tag_column: str | None) -> None:
        """After a write: take off the tags an update dropped, then keep what each landed record has.

        ``tag_column``: the source's Tag column (None: the source says nothing about tags, so
        nothing is removed). A row written without it had no tags (it is left out when empty).
        """
        if tag_column is None or self.session.config.dry_run:
            return
        entries = report.entries().values()
        landed = {sids[e.row]: str(e.record_id) for e in entries if e.status in DONE and e.record_id}
        if not landed:
            return
        now: dict[str, list[str]] = {sid: [] for sid in landed}
        if tag_column in table.column_names:
            for sid, raw in zip(sids, table.column(tag_column).to_pylist(), strict=True):
                if sid in landed:
                    now[sid] = tag_names(tag_column, raw)
        if operation == "update":
            failed = self._remove(module, landed, now)
            for sid in failed:
                del now[sid]  # kept as it was: the next run removes again
        self._keep(module, now, landed)

    def _remove(self, module: str, landed: dict[str, str], now: dict[str, list[str]]) -> set[str]:
        """Remove, per record, the names sent before and not now; source ids whose removal failed."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for sid, names in self.sent(module, landed).items():
            keep = {n.casefold() for n in now.get(sid, [])}
            gone = tuple(sorted({n for n in names if n.casefold() not in keep}))
            if gone:
                groups.setdefault(gone, []).append(sid)
        failed: set[str] = set()
        for gone, group in groups.items():
            for i in range(0, len(group), PER_CALL):
                failed |= self._call(module, gone, group[i:i + PER_CALL], landed)
        return failed

    def _call(self, module: str, names: tuple[str, ...], sids: list[str], landed: dict[str, str]) -> set[str]:
        body = {"tags": [{"name": n} for n in names], "ids": [landed[s] for s in sids]}
        try:
            with acting_as("update", module):
                r = self.session.http.request("POST", f"/{module}/actions/remove_tags", json=body, kind="tags",
                                              batch=True, idempotent=True,
                                              what=f"removal of tags the source dropped from {len(sids)} {module}")
        except (ApiError, RetriableError) as exc:
            answers = [{"status": "error", "code": exc.code or "", "message": exc.message}] * len(sids)
        else:
            data = r.body.get("data") if isinstance(r.body, dict) else None
            answers = list(data) if isinstance(data, list) else []
        bad: list[tuple[str, Entry]] = []
        for j, sid in enumerate(sids):
            a = answers[j] if j < len(answers) else {"code": "NO_ANSWER", "message": "Zoho did not answer for it"}
            if a.get("status") != "success":
                bad.append((sid, Entry(j, "failed", code=str(a.get("code") or "TAGS_NOT_REMOVED"),
                                       message=f"the tags {', '.join(names)} dropped at the source are still on it: "
                                               f"{a.get('message') or a}; a full load (without --incremental) tries again")))
        if bad:
            self.failures.add(module, "update (tags)", bad)
        return {sid for sid, _ in bad}

    def _keep(self, module: str, names: dict[str, list[str]], landed: dict[str, str]) -> None:
        """One statement for the whole batch (a row at a time is slow in DuckDB)."""
        if not names:
            return
        sids = list(names)
        con = self.store.con
        con.register("_tags_sent", pa.table({"s": sids, "v": [json.dumps(sorted(names[s])) for s in sids],
                                             "t": [landed[s] for s in sids]}))
        try:
            con.execute("INSERT OR REPLACE INTO child_writes (module, source_id, slot, value, status, target_id) "
                        "SELECT ?, s, ?, v, 'done', t FROM _tags_sent", [module, SLOT])
        finally:
            con.unregister("_tags_sent")
