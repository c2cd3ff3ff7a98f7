"""The REST writer: insert, update, upsert and delete in batches of 100 (records.md sections 3-6).

Batches run on a thread pool bounded by MaxConcurrency; the report keeps input
order whatever order they finish in. Each batch's answer is walked record by
record (``data[i]`` answers input ``i``) whatever the HTTP status (201, 207 or
400 with a ``data`` array). ``trigger`` defaults to ``[]``: no workflow,
approval or blueprint fires during a migration unless asked.

Lost answers: update (PUT), upsert and delete are safe to repeat, so the HTTP
layer retries them. An insert is not: when its answer is lost the rows are
looked up (:mod:`.reconcile`) and only those not found are sent again. A row
sent again that Zoho refuses as ``DUPLICATE_DATA`` of a record it names is given
that record when the record is ours (:meth:`.reconcile.RecordFinder.adopt`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import copy_context  # workers serve the purpose of the call that started them
from typing import Any

from connector.api import records
from connector.errors import AuthError, ConnectorError, PermissionDenied, QuotaExhaustedError, RetriableError
from connector.http.client import ZohoHttp, ZohoResponse, cancellable, pause
from connector.http.per_connection import PerConnection
from connector.http.retry import CallCancelled, check_cancelled
from connector.interrupts import is_interrupt

from .base import Writer, WriteRun, WriteSession
from .reconcile import confirm_deleted, has_key, upsert_keys
from .report import Entry
from .validate import RowItem

BATCH = records.MAX_BATCH  # 100 records per call
#: failures that end the whole write: every later call would fail the same way
STOPPERS = (QuotaExhaustedError, AuthError, PermissionDenied)
DONE_STATUS = {"insert": "inserted", "update": "updated", "delete": "deleted"}
#: how long a stopping write waits for batches already on the wire before it leaves them to the journal
STOP_WAIT_S = 0.3
#: how often a write run on a worker thread looks whether its owner is stopping (it sees no signal itself)
CANCEL_POLL_S = 0.1


#: a connection's write batch pools, by their number of threads
_POOLS: PerConnection[dict[int, ThreadPoolExecutor]] = PerConnection(dict[int, ThreadPoolExecutor])
_POOLS_LOCK = threading.Lock()


def batch_pool(http: ZohoHttp, workers: int) -> ThreadPoolExecutor:
    """The threads that send one connection's write batches, shared by its writes: a migration writes
    chunk after chunk (two at once), and starting twenty threads for each cost more than its calls' JSON.
    The connection's slots, not the pool, hold the calls to Zoho's limits."""
    with _POOLS_LOCK:
        pools = _POOLS(http)
        pool = pools.get(workers)
        if pool is None:
            pool = pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoho-write")
        return pool


def _detail_text(details: Any, columns: dict[str, str]) -> str:
    """Zoho's details as ``: <column> (k=v, ...)``, naming the caller's column rather than the api_name."""
    if not isinstance(details, dict):
        return ""
    column = columns.get(str(details.get("api_name")), details.get("api_name"))
    parts = [f"{k}={v}" for k, v in details.items() if k not in ("json_path", "api_name")]
    return (f": {column}" if column else "") + (f" ({', '.join(parts)})" if parts else "")


def _duplicate_key(run: WriteRun, res: dict[str, Any]) -> bool:
    key = run.plan.key_field
    raw = res.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return (key is not None and res.get("code") == "DUPLICATE_DATA"
            and details.get("api_name") == key.api_name)


def duplicate_of(res: Any) -> str | None:
    """The id of the record a DUPLICATE_DATA answer names (``details.duplicate_record.id``, or ``details.id``)."""
    if not isinstance(res, dict) or res.get("code") != "DUPLICATE_DATA":
        return None
    details = res.get("details")
    if not isinstance(details, dict):
        return None
    dup = details.get("duplicate_record")
    rid = dup.get("id") if isinstance(dup, dict) else details.get("id")
    return str(rid) if rid else None


def record_entries(run: WriteRun, items: list[RowItem], body: Any, operation: str | None = None) -> list[Entry]:
    """One entry per item from Zoho's per-record answers, in input order (``operation``: the call's)."""
    operation = operation or run.operation
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != len(items):
        return [Entry(it.row, "failed", it.key, it.record_id, "UNEXPECTED_RESPONSE",
                      "Zoho's answer did not carry one result per record") for it in items]
    columns = {f.api_name: c for c, f in run.plan.values}
    out = []
    for it, res in zip(items, data, strict=True):
        res = res if isinstance(res, dict) else {}
        code, message = res.get("code"), str(res.get("message") or "")
        if res.get("status") == "success":
            details = res.get("details") or {}
            rid = str(details.get("id") or it.record_id or "") or None
            status = DONE_STATUS.get(operation) or ("inserted" if res.get("action") == "insert" else "updated")
            out.append(Entry(it.row, status, it.key, rid, code, message))
        elif operation == "insert" and _duplicate_key(run, res):
            # With a key, an insert leaves rows whose key already exists alone, as Bulk Write's find_by does.
            dup = (res.get("details") or {}).get("duplicate_record") or {}
            out.append(Entry(it.row, "skipped", it.key, str(dup["id"]) if dup.get("id") else None, code,
                             f"a record with this {run.plan.key_field.api_name if run.plan.key_field else 'key'} "
                             "exists"))
        else:
            out.append(Entry(it.row, "failed", it.key, it.record_id, code or "UNKNOWN_ERROR",
                             message + _detail_text(res.get("details"), columns)))
    return out


def _failed(items: list[RowItem], exc: ConnectorError, status: str = "failed") -> list[Entry]:
    code = getattr(exc, "code", None) or type(exc).__name__
    return [Entry(it.row, status, it.key, it.record_id, code, str(exc)) for it in items]


class RestWriter(Writer):
    """``RestWriter(session).write(module, rows, operation=..., key=..., trigger=(), dry_run=None)``."""

    name = "rest"

    def __init__(self, session: WriteSession, *, batch_size: int = BATCH, concurrency: int | None = None) -> None:
        super().__init__(session)
        self.batch_size = min(batch_size, BATCH)
        self.concurrency = max(1, concurrency or self.config.max_concurrency)

    def _execute(self, run: WriteRun, items: Iterator[RowItem]) -> None:
        pool = batch_pool(self.http, self.concurrency)
        cancel = threading.Event()
        pending: set[Future[list[Entry]]] = set()
        interrupted = False
        try:
            batch: list[RowItem] = []
            for item in items:
                batch.append(item)
                if len(batch) == self.batch_size:
                    pending.add(pool.submit(copy_context().run, cancellable, cancel, self._send, run, batch))
                    batch = []
                    # A bounded window keeps memory flat and lets progress report as batches land.
                    while len(pending) >= self.concurrency * 2:
                        pending = self._collect(run, pending, FIRST_COMPLETED)
            if batch:
                pending.add(pool.submit(copy_context().run, cancellable, cancel, self._send, run, batch))
            while pending:
                pending = self._collect(run, pending, FIRST_COMPLETED)
        except BaseException as exc:
            # Stop sending; batches already on the wire finish and are recorded, the rest never start.
            # On Ctrl-C / SIGTERM nobody waits for a slow answer: an insert's rows are journaled
            # "unknown" before its call, so the resumed run looks them up instead of sending twice.
            # A write on a worker thread (a migration's chunk sender) is stopped by its owner's event.
            interrupted = is_interrupt(exc) or isinstance(exc, CallCancelled)
            if interrupted:
                cancel.set()
            for f in pending:
                f.cancel()
            finished = wait(pending, timeout=STOP_WAIT_S if interrupted else None).done
            for f in finished:
                if not f.cancelled():
                    try:
                        run.journal.record(run.stamped(f.result()))
                    except BaseException:  # noqa: BLE001 - the first error is the one to raise
                        pass
            raise

    def _collect(self, run: WriteRun, pending: set[Future[list[Entry]]], how: str) -> set[Future[list[Entry]]]:
        while True:
            done, rest = wait(pending, timeout=CANCEL_POLL_S, return_when=how)
            if done:
                break
            check_cancelled()  # this write runs on a worker thread whose owner is stopping
        for f in done:
            pending.discard(f)
            run.record(f.result(), self.http.meter.total)  # a STOPPERS error surfaces here
        return rest

    # -- one batch -------------------------------------------------------------------------------

    def _send(self, run: WriteRun, items: list[RowItem]) -> list[Entry]:
        if run.operation == "insert":
            return self._insert(run, items)
        if run.operation == "upsert":
            # A row with no value to match on is an insert, and repeating it after a lost answer would
            # insert it twice: it takes the insert path, which looks before it repeats.
            keys = upsert_keys(run.plan)
            keyless = [it for it in items if not has_key(keys, it)]
            if keyless:
                rows = {it.row for it in keyless}
                keyed = [it for it in items if it.row not in rows]
                return self._insert(run, keyless) + (self._send(run, keyed) if keyed else [])
        sent = run.clock.now()
        try:
            r = self._call(run, items)
        except STOPPERS:
            raise
        except RetriableError as exc:
            if run.operation != "delete":
                return _failed(items, exc)
            # The deletes may have landed before the answers were lost: the recycle bin knows.
            return self._recheck_deletes(run, _failed(items, exc), sent, codes=None)
        except ConnectorError as exc:  # the request as a whole was refused
            return _failed(items, exc)
        run.clock.observe(r.headers)
        entries = record_entries(run, items, r.body)
        if run.operation == "delete":
            entries = self._recheck_deletes(run, entries, sent)
        return entries

    def _insert(self, run: WriteRun, items: list[RowItem]) -> list[Entry]:
        """Send, and after a lost answer look the rows up before sending what is still missing."""
        done: list[Entry] = []
        pending = items
        last: RetriableError | None = None
        # The first send counts: a record from an earlier attempt may land late, so lookups reach back to it.
        # Zoho's clock: a resumed run compares this time with Created_Time, whatever our clock does.
        # A row an earlier (killed) run sent keeps that first time: a later resume must reach back to it.
        sent = min([run.clock.now(), *(run.unsure[it.row] for it in items if it.row in run.unsure)])
        for attempt in range(self.config.max_retries + 1):
            # Journaled before the call: if the process dies now, a resumed run looks these rows up.
            run.journal.record(Entry(it.row, "unknown", it.key, None, None, "sent; no answer recorded",
                                     run.unsure.get(it.row, sent)) for it in pending)
            try:
                r = records.write(self.http, "POST", run.module, [it.payload for it in pending],
                                  trigger=run.trigger)
            except STOPPERS:
                raise
            except RetriableError as exc:
                last = exc
                # A dropped connection may still be committing on Zoho's side: give it a moment.
                pause(min(self.http.backoff.cap, self.http.backoff.base * 2 ** attempt))
                with run.lock:
                    claimed = set(run.claimed)
                try:
                    found = run.finder.find(pending, sent, claimed)
                except STOPPERS:
                    raise
                except ConnectorError as lookup_exc:
                    return done + _failed(pending, lookup_exc, "unknown")
                with run.lock:
                    run.claimed.update(found.values())
                done += [Entry(it.row, "inserted", it.key, found[it.row], "SUCCESS",
                               "record added (confirmed by a lookup after the answer was lost)")
                         for it in pending if it.row in found]
                pending = [it for it in pending if it.row not in found]
                if not pending:
                    return done
                continue
            except ConnectorError as exc:  # Zoho refused the whole request: nothing was written
                return done + _failed(pending, exc)
            run.clock.observe(r.headers)
            entries = record_entries(run, pending, r.body, "insert")
            # Rows sent before (this attempt after a lost answer, or a killed run's) may be refused as
            # duplicates of the very records they created: those are adopted when they are ours.
            first = {it.row: run.unsure.get(it.row, sent) for it in pending
                     if attempt > 0 or it.row in run.unsure}  # rows that may have landed before this send
            return done + self._adopt_duplicates(run, pending, entries, r.body, first)
        assert last is not None
        # Looked up after the last failure and not found; still, a lost answer leaves doubt.
        return done + _failed(pending, last, "unknown" if last.ambiguous else "failed")

    def _adopt_duplicates(self, run: WriteRun, items: list[RowItem], entries: list[Entry], body: Any,
                          first_sent: dict[int, Any]) -> list[Entry]:
        data = body.get("data") if isinstance(body, dict) else None
        if not first_sent or not isinstance(data, list) or len(data) != len(items):
            return entries
        named = [(it, rid) for it, e, res in zip(items, entries, data, strict=True)
                 if e.status == "failed" and it.row in first_sent and (rid := duplicate_of(res))]
        if not named:
            return entries
        with run.lock:
            claimed = set(run.claimed)
        try:
            found = run.finder.adopt(named, first_sent, claimed)
        except STOPPERS:
            raise
        except ConnectorError:
            return entries  # the rows stay failed with Zoho's own answer
        with run.lock:
            run.claimed.update(found.values())
        return [Entry(e.row, "inserted", e.key, found[e.row], "SUCCESS",
                      "record added by an earlier attempt whose answer was lost (Zoho named it as the duplicate)")
                if e.row in found else e for e in entries]

    def _recheck_deletes(self, run: WriteRun, entries: list[Entry], sent: Any,
                         codes: tuple[str, ...] | None = ("INVALID_DATA",)) -> list[Entry]:
        """An id Zoho calls invalid may be one a retried call already deleted: look in the recycle bin."""
        doubtful = {e.record_id for e in entries
                    if e.status == "failed" and e.record_id and (codes is None or e.code in codes)}
        if not doubtful:
            return entries
        since = run.since([e.row for e in entries if e.record_id in doubtful], sent)
        try:
            gone = confirm_deleted(self.http, run.module, doubtful, since)
        except STOPPERS:
            raise
        except ConnectorError:
            return entries
        return [Entry(e.row, "deleted", e.key, e.record_id, "SUCCESS",
                      "record deleted (found in the recycle bin after a lost answer)")
                if e.record_id in gone and e.status == "failed" else e for e in entries]

    def _call(self, run: WriteRun, items: list[RowItem]) -> ZohoResponse:
        if run.operation == "delete":
            return records.delete(self.http, run.module, [it.record_id or "" for it in items],
                                  wf_trigger="workflow" in run.trigger)
        payloads = [it.payload for it in items]
        if run.operation == "update":
            return records.write(self.http, "PUT", run.module, payloads, trigger=run.trigger)
        key = [run.plan.key_field.api_name] if run.plan.key_field is not None else None
        return records.write(self.http, "POST", run.module, payloads, trigger=run.trigger,
                             duplicate_check_fields=key, upsert=True)
