"""Bulk Read reader: one asynchronous export job per 200,000 rows, decoded straight into Arrow.

The life of a page (bulk-read.md): ``POST /read`` with the fields the requested
columns need and the pushed criteria -> poll ``GET /read/{id}`` with
a gentle exponential backoff (0.5 s growing by half to 10 s; ``ADDED``, ``QUEUED``, ``IN
PROGRESS`` wait, ``COMPLETED`` goes on, ``FAILURE``/``FAILED`` raise; a later page's job is first
asked about when the page before it took about as long, :func:`poll_delays`; a job this connection
waits for behind another of its jobs starts its polls again when that one is seen done,
:mod:`.bulk_queue`) ->
stream the zip to a temporary file -> decode it block by block
(:mod:`.bulk_csv`).

Pages beyond 200,000 rows are pipelined: as soon as a page's job has
completed and said ``more_records``, a worker thread creates the next job (with
``next_page_token``, else ``page + 1``: :class:`~.paging.BulkJobPaginator`),
polls and downloads it while this
thread decodes and yields the current page. A read therefore takes about
``max(decode, job)`` per page, and holds at most two page files on disk and a
few CSV blocks in memory. The next page's job is created as soon as the
current one says ``COMPLETED`` (before its download): an org's jobs run one
after another, so Zoho's queue then never waits for this side.

Lookups: the CSV holds ids only. Names of record lookups come from
``<Lookup>.<display field>`` columns in the same job; owner/user and layout
names from the users and layouts lists; polymorphic and multi-module lookups
from :class:`~.names.LookupNames` (extra COQL calls, documented there).

The emulator and, as far as the reference says, Zoho export converted Leads
too, so ``FROM Leads`` holds every lead as on the other readers.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from contextvars import copy_context  # workers serve the purpose of the call that started them
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from connector.api import bulk as api
from connector.errors import FatalApiError, RetriableError
from connector.http.client import cancellable
from connector.interrupts import is_interrupt
from connector.model import NO_PUSHDOWN, Pushdown

from .base import ReaderContext, resolve_columns
from .bulk_csv import CsvPlan, decode_page, plan_csv
from .bulk_queue import BulkQueue, bulk_queue
from .dialects import BULK
from .names import LookupNames
from .paging import BulkJobPaginator
from .records_only import complete, split_columns

log = logging.getLogger("connector.readers.bulk")

DONE_STATES = ("COMPLETED",)
FAILED_STATES = ("FAILURE", "FAILED")
#: Zoho allows 10 downloads a minute (bulk-read.md section 3); a throttled download waits this long at most
DOWNLOAD_WAIT_S = 130.0
CANCEL_POLL_S = 0.1  # how soon a stopped statement (ctx.cancel) stops waiting for a page
#: shortest wait between two status polls of a job whose length is expected
POLL_FLOOR_S = 0.1


def poll_delays(initial: float, cap: float, expect: float | None = None) -> Iterator[float]:
    """Seconds to wait before each status poll of a job: before the first, then between polls.

    Without an expectation: at once, then ``initial`` growing by half up to ``cap``. With ``expect``
    (seconds the job is expected to run at least: the previous page's job of the same read was still
    running that long after it was created, and pages are alike) the first poll waits 0.8 of it (at most
    ``cap``), and the next ones a tenth of it (at least :data:`POLL_FLOOR_S`) growing by half up to ``cap``.
    A page job's length is then noticed within about a tenth of it, where the plain backoff, by then
    waiting about half the time already spent, notices a 1.3 s job at 2.4 s; a long job (minutes) is
    asked about every ``cap`` seconds from the start instead of after a dozen early polls (a credit each).
    """
    if expect is None or expect <= 0:
        yield 0.0
        delay = initial
    else:
        yield min(0.8 * expect, cap)
        delay = max(0.1 * expect, POLL_FLOOR_S)
    while True:
        yield min(delay, cap)
        delay = min(delay * 1.5, cap)


class Cancelled(Exception):
    """The consumer stopped reading; the worker gives up its page."""


@dataclass
class PageFile:
    job_id: str
    page: int
    path: Path
    count: int
    more: bool
    next_page_token: str | None
    #: the next page's job, created the moment this one completed (None: the caller creates it)
    next_job: str | None = None
    #: seconds this page's job was seen still running after it was created (None: never seen running)
    running_s: float | None = None
    #: when (time.monotonic()) ``next_job`` was created
    next_created: float | None = None


def job_criteria(pd: Pushdown) -> dict[str, Any] | None:
    """The job's criteria: the pushed bulk criteria AND ``Modified_Time >= modified_since``."""
    since = BULK.since("Modified_Time", pd.modified_since) if pd.modified_since is not None else None
    return BULK.conjoin([pd.bulk_criteria, since])


class _CancellableFile:
    """A file the download writes into that stops the transfer once the read is abandoned."""

    def __init__(self, fh: Any, cancel: threading.Event) -> None:
        self.fh = fh
        self.cancel = cancel

    def write(self, chunk: bytes) -> int:
        if self.cancel.is_set():
            raise Cancelled()
        return int(self.fh.write(chunk))


class BulkReader:
    name = "Bulk"

    def __init__(self, ctx: ReaderContext, *, poll_initial: float = 0.5, poll_cap: float = 10.0,
                 job_timeout_s: float = 6 * 3600, block_size: int = 4 << 20) -> None:
        self.ctx = ctx
        self.poll_initial = poll_initial
        self.poll_cap = poll_cap
        self.job_timeout_s = job_timeout_s
        self.block_size = block_size

    def plan(self, module: str, columns: list[str] | None = None) -> CsvPlan:
        ts = self.ctx.catalog.table(module)
        mods = self.ctx.catalog.modules()

        def display(target: str) -> str | None:
            info = mods.get(target)
            return info.display_field if info is not None else None

        return plan_csv(ts, resolve_columns(ts, columns), display)

    def start(self, module: str, columns: list[str] | None = None, pushdown: Pushdown | None = None) -> str:
        """Create the first page's job of this read now; :meth:`batches` given its id goes on from there.

        For a caller that plans a read in one place and runs it in another (a Spark partition): Zoho's queue
        works on the job while the runner starts.
        """
        pd = pushdown or NO_PUSHDOWN
        ts = self.ctx.catalog.table(module)
        own, _ = split_columns(ts, resolve_columns(ts, columns))
        plan = self.plan(module, own)
        return self.create_job(plan.module, plan.fields, job_criteria(pd), 1, None)

    def batches(self, module: str, columns: list[str] | None = None,
                pushdown: Pushdown | None = None, first_job: str | None = None) -> Iterator[pa.RecordBatch]:
        """The read's rows; ``first_job``: the id :meth:`start` returned for the same read."""
        pd = pushdown or NO_PUSHDOWN
        ts = self.ctx.catalog.table(module)
        cols = resolve_columns(ts, columns)
        own, extra = split_columns(ts, cols)
        if extra:  # Tag, file uploads, Participants: not exported, the list API fills them in by id
            yield from complete(self.ctx, ts, cols, extra, self.batches(module, own, pd, first_job))
            return
        plan = self.plan(module, cols)
        module = plan.module
        criteria = job_criteria(pd)
        # Bulk cannot sort, so a LIMIT is honoured here only when any rows will do.
        limit = pd.limit if (pd.exact and pd.limit is not None and not pd.order_by) else None
        names = LookupNames(self.ctx)
        workdir = Path(tempfile.mkdtemp(prefix="zohocrm-bulk-pages-"))
        cancel = threading.Event()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"bulk-read-{module}")
        fetched = 0
        interrupted = False
        pager = BulkJobPaginator(limit)

        # the next job is created as a job completes only when every page will be read (no LIMIT to stop at)
        chain = limit is None

        def next_page(job: str | None, after: PageFile | None = None) -> Future[PageFile]:
            at = pager.update_request({})
            # the page before's job length: this one is first asked about when about as long has passed
            expect = (after.running_s, after.next_created) if after is not None and job is not None else None
            return pool.submit(copy_context().run, cancellable, cancel, self.fetch_page, module, plan.fields,
                               criteria, at["page"], at["page_token"], workdir, cancel, job, chain, expect)

        try:
            pending: Future[PageFile] | None = next_page(first_job)
            if plan.needs_users:
                # asked while the first job is created and runs at Zoho (the same round trip), and before any
                # download: a metadata call must not wait behind one
                names.users()
            while pending is not None:
                page = self._result(pending)
                pager.update_state(page.page, page.count, page.more, page.next_page_token)
                # Pipelining: the next job runs on Zoho while this page decodes.
                pending = next_page(page.next_job, page) if pager.has_next_page else None
                rows = 0
                for batch in decode_page(page.path, plan, names, block_size=self.block_size):
                    if limit is not None and fetched + batch.num_rows > limit:
                        batch = batch.slice(0, limit - fetched)
                    rows += batch.num_rows
                    fetched += batch.num_rows
                    yield batch
                    self.ctx.report(module, fetched)
                    if limit is not None and fetched >= limit:
                        return
                page.path.unlink(missing_ok=True)
                if rows != page.count:
                    log.warning("bulk read job %s: the file held %d rows, the job said %d", page.job_id, rows,
                                page.count)
        except BaseException as exc:
            interrupted = is_interrupt(exc)
            raise
        finally:
            cancel.set()
            # Ctrl-C / SIGTERM: do not wait for the worker's call in flight; it sends nothing more.
            pool.shutdown(wait=not interrupted, cancel_futures=True)
            shutil.rmtree(workdir, ignore_errors=True)

    def _result(self, pending: Future[PageFile]) -> PageFile:
        """The page, or Cancelled as soon as the caller stops (the worker then stops at its next step)."""
        while True:
            try:
                return pending.result(timeout=CANCEL_POLL_S)
            except FuturesTimeout:
                if self.ctx.cancel.is_set():
                    raise Cancelled() from None

    # -- one page: create, poll, download (runs on the worker thread) -------------------------

    def fetch_page(self, module: str, fields: list[str], criteria: dict[str, Any] | None, page: int,
                   page_token: str | None, workdir: Path, cancel: threading.Event, job_id: str | None = None,
                   chain: bool = False, expect: tuple[float | None, float | None] | None = None) -> PageFile:
        """One page's job (``job_id``: created already), waited for and downloaded; with ``chain`` the next
        page's job is created as soon as this one completes, so it runs while this one downloads.
        ``expect``: (seconds the page before's job was seen running, when ``job_id`` was created)."""
        result: dict[str, Any] | None = None
        running: list[float] = []
        if job_id is not None:
            try:
                result = self.wait(module, job_id, cancel, *(expect or (None, None)), running=running)
            except FatalApiError as exc:
                # a job made when the read was planned, gone or failed since (a task run again a day later)
                log.info("bulk read job %s: %s; creating it again", job_id, exc)
        if result is None:
            job_id = self.create_job(module, fields, criteria, page, page_token)
            running.clear()
            result = self.wait(module, job_id, cancel, since=time.monotonic(), running=running)
        assert job_id is not None
        token = result.get("next_page_token") or None
        page = int(result.get("page") or page)
        more = bool(result.get("more_records"))
        next_job = next_created = None
        if chain and more:
            next_job = self.create_job(module, fields, criteria, page + 1, str(token) if token else None)
            next_created = time.monotonic()
        path = workdir / f"{job_id}.zip"
        self.download(job_id, path, cancel)
        return PageFile(job_id, page, path, int(result.get("count") or 0), more, str(token) if token else None,
                        next_job, running[-1] if running else None, next_created)

    def create_job(self, module: str, fields: list[str], criteria: dict[str, Any] | None, page: int,
                   page_token: str | None) -> str:
        for attempt in range(3):
            try:
                job_id = api.create_read_job(self.ctx.http, module, fields, criteria,
                                             page=None if page_token else page, page_token=page_token)
                self.ctx.stats["bulk_jobs"] = self.ctx.stats.get("bulk_jobs", 0) + 1
                bulk_queue(self.ctx.http).born(job_id)
                return job_id
            except RetriableError:
                # The HTTP layer does not replay a POST whose answer was lost; a second read job is
                # harmless (it only costs credits), so try again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def wait(self, module: str, job_id: str, cancel: threading.Event, expect: float | None = None,
             since: float | None = None, running: list[float] | None = None) -> dict[str, Any]:
        """Poll until the job completes; the job's ``result`` object.

        ``expect``: seconds the job is expected to run at least, counted from ``since`` (its creation, on
        ``time.monotonic()``; default now) — :func:`poll_delays`. ``running`` gets, for each poll that found
        the job not done yet, the seconds since ``since`` (so a next page's wait can expect as long).
        """
        start = time.monotonic() if since is None else since
        delays = poll_delays(self.poll_initial, self.poll_cap, expect)
        deadline = time.monotonic() + self.job_timeout_s
        queue = bulk_queue(self.ctx.http)
        queue.waiting(job_id, since)
        seen_done = False
        try:
            # the time since its creation counts
            delays = self._pause(queue, job_id, next(delays) - (time.monotonic() - start), delays, cancel)
            while True:
                status = api.read_job_status(self.ctx.http, job_id)
                state = str(status.get("state", "")).upper()
                if state in DONE_STATES:
                    seen_done = True
                    return dict(status.get("result") or {})
                if state in FAILED_STATES:
                    seen_done = True
                    reason = (status.get("result") or {}).get("error_message") or {}
                    text = reason.get("message") if isinstance(reason, dict) else reason
                    raise FatalApiError(f"bulk read job {job_id} for {module} failed: {text or 'no reason given'}",
                                        code="BULK_READ_FAILED", details={"job_id": job_id, "state": state},
                                        hint="run the query again; if it keeps failing, read with APIType=COQL")
                if running is not None:
                    running.append(time.monotonic() - start)
                # x1.5, not x2: a job queued behind others (partitions of one read run theirs side by side)
                # is found done sooner for about the same polls over a short job (0.5, 1.25, 2.4, 4.1 s)
                delay = next(delays)
                if time.monotonic() + delay > deadline:
                    raise RetriableError(f"bulk read job {job_id} for {module} is still {state} after "
                                         f"{self.job_timeout_s:.0f} s", code="BULK_READ_TIMEOUT",
                                         details={"job_id": job_id}, hint="Zoho's queue is busy; try again later")
                delays = self._pause(queue, job_id, delay, delays, cancel)
        finally:
            queue.left(job_id, seen_done)

    def _pause(self, queue: BulkQueue, job_id: str, delay: float, delays: Iterator[float],
               cancel: threading.Event) -> Iterator[float]:
        """Wait ``delay`` s before the job's next poll; the schedule the polls after it follow. When the job
        before it in this connection's queue is seen done meanwhile, the job runs now: its polls start again
        as a new job's would (after ``poll_initial``, growing by half), not where its time in the queue had
        taken them (:mod:`.bulk_queue`)."""
        while delay > 0:
            moved = queue.sleep(job_id, delay, cancel)
            if moved is None:
                raise Cancelled()
            if not moved:
                break
            delays = poll_delays(self.poll_initial, self.poll_cap)
            next(delays)  # (not at once: it has only just begun)
            delay = next(delays)
        return delays

    def download(self, job_id: str, path: Path, cancel: threading.Event) -> None:
        """Stream the result zip to ``path``; waits out the 10-downloads-a-minute limit."""
        deadline = time.monotonic() + DOWNLOAD_WAIT_S
        attempt = 0
        while True:
            attempt += 1
            try:
                with open(path, "wb") as fh:
                    size = api.download_read_result(self.ctx.http, job_id, _CancellableFile(fh, cancel))
                self.ctx.stats["bulk_bytes"] = self.ctx.stats.get("bulk_bytes", 0) + size
                return
            except Cancelled:
                raise
            except (RetriableError, OSError) as exc:
                # A throttled (429) download, or a transfer cut mid-stream (requests' errors are OSErrors):
                # the result stays on Zoho's side for a day, so fetching it again is safe.
                if time.monotonic() > deadline:
                    raise
                log.info("bulk read download %s: %s; trying again", job_id, exc)
                if cancel.wait(min(2.0 * attempt, 15.0)):
                    raise Cancelled() from None
