"""The per-org job queue Bulk Read and Bulk Write share: the virtual-clock state machine and callbacks.

A job moves ``ADDED`` -> ``IN PROGRESS`` -> ``COMPLETED`` (or the kind's failure
state: Zoho says ``FAILURE`` for bulk read and ``FAILED`` for bulk write). Jobs of
one kind in one org run one after another: a job starts when the previous one has
finished (virtual time) and needs ``max(MIN_JOB_S, rows / bulk_rows_per_s)``
virtual seconds. States are worked out lazily whenever the queue is looked at
(every bulk request does), so moving the virtual clock forward moves jobs
forward; the real work (a CSV to produce, rows to write) runs on a background
thread so the server stays responsive, and a job never reaches a final state
before that thread is done.

Each kind subclasses :class:`JobQueue` with its own failure state, its work, the
row count its duration follows, and what it records on finishing; its status
rendering stays with it.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

ADDED, IN_PROGRESS, COMPLETED = "ADDED", "IN PROGRESS", "COMPLETED"
#: a job never completes faster than this many virtual seconds, however few its rows
MIN_JOB_S = 0.2
#: real seconds a finished job's thread keeps moving the queue on, waiting for the job's virtual end
ADVANCE_WAIT_S = 120.0


class QueuedJob(Protocol):
    """What the queue reads and moves on a job (bulk read and bulk write jobs both have it)."""

    id: int
    created_at: float
    callback: dict[str, str] | None
    state: str
    started_at: float | None
    finish_at: float | None
    error: str | None
    done: threading.Event


J = TypeVar("J", bound=QueuedJob)


class JobQueue(Generic[J]):
    """All jobs of one kind in one emulated org, in creation order, run by one (virtual) worker."""

    #: key of the queue in ``app.state``; with ``_`` as ``-`` also the worker threads' and temp dir's prefix
    state_key: ClassVar[str]
    #: the final state of a job whose work raised
    failed: ClassVar[str]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.jobs: dict[int, J] = {}
        #: virtual time at which the (single) worker became free
        self.free_at = 0.0
        #: jobs finished and the virtual seconds the worker spent on them: the part of a load no
        #: client can shorten (benchmarks/latency.py takes its lower bound from it)
        self.finished_jobs = 0
        self.busy_s = 0.0
        self._dir = tempfile.TemporaryDirectory(prefix=f"zoho-{self._label}-")
        self.dir = Path(self._dir.name)

    def discard_files(self) -> None:
        """Remove the jobs' files (the org is stopping: nobody will download them)."""
        self._dir.cleanup()

    @property
    def _label(self) -> str:
        return self.state_key.replace("_", "-")

    @classmethod
    def of(cls, app: Any) -> Self:
        """The org's queue of this kind, made on first use (a reset org starts with none)."""
        with app.state_lock:
            q = app.state.get(cls.state_key)
            if q is None:
                q = app.state[cls.state_key] = cls()
            return q  # type: ignore[no-any-return]

    # -- what each kind says -----------------------------------------------------------------------

    def work(self, app: Any, job: J) -> None:
        """Background thread: do the job's real work; sets ``job.error`` on failure, ``job.done`` always."""
        raise NotImplementedError

    def rows(self, job: J) -> int:
        """The rows the job's virtual duration is proportional to (known once ``job.done`` is set)."""
        raise NotImplementedError

    def on_finish(self, job: J) -> None:
        """Called under the lock once the job has reached its final state."""

    # -- the shared machinery ----------------------------------------------------------------------

    @classmethod
    def finished(cls, job: J) -> bool:
        """Whether the job has reached a final state (a class method: no org's queue is needed to tell)."""
        return job.state in (COMPLETED, cls.failed)

    def add(self, app: Any, job: J, payload: Callable[[], dict[str, Any]] | None = None) -> None:
        """Queue a job; ``payload`` renders what the callback (if the job has one) POSTs when it ends."""
        with self.lock:
            self.jobs[job.id] = job
        self.refresh(app)
        if job.callback and payload is not None:
            self._call_back(app, job, payload, job.callback["url"])

    def get(self, app: Any, job_id: str) -> J | None:
        """The job with this id (as the URL gives it), advanced to now; None when there is none."""
        if not job_id.isdigit():
            return None
        self.refresh(app)
        return self.jobs.get(int(job_id))

    def refresh(self, app: Any) -> None:
        """Advance every job to the state the virtual clock says it is in (one job at a time per org)."""
        now = app.clock.time()
        with self.lock:
            for job in self.jobs.values():
                if self.finished(job):
                    continue
                if job.state == ADDED:
                    start = max(job.created_at, self.free_at)
                    if now < start:
                        return  # the worker is busy or the job is not due yet; later jobs wait too
                    job.state, job.started_at = IN_PROGRESS, start
                    threading.Thread(target=self._run, args=(app, job), daemon=True,
                                     name=f"{self._label}-{job.id}").start()
                if not job.done.is_set():
                    return  # still working (real time); stays IN PROGRESS
                if job.finish_at is None:
                    assert job.started_at is not None
                    job.finish_at = job.started_at + max(MIN_JOB_S, self.rows(job) / app.settings.bulk_rows_per_s)
                if now < job.finish_at:
                    return
                job.state = self.failed if job.error else COMPLETED
                self.free_at = job.finish_at
                self.finished_jobs += 1
                self.busy_s += job.finish_at - (job.started_at or job.finish_at)
                self.on_finish(job)

    def _run(self, app: Any, job: J) -> None:
        """Background thread: the job's work, then the queue moved on when the job's time is up.

        Zoho starts an org's next queued job as soon as the one before ends, whether or not anyone asks;
        here states are worked out when the queue is looked at, so without this the next job's real work
        (its CSV) would only start at the next request about any job — after a client's poll interval,
        a gap no real org has between two queued jobs.
        """
        self.work(app, job)
        give_up = time.monotonic() + ADVANCE_WAIT_S  # a frozen clock never reaches the finish: stop looking
        try:
            while app.state.get(self.state_key) is self and time.monotonic() < give_up:
                self.refresh(app)
                if self.finished(job):
                    return
                left = (job.finish_at or 0.0) - app.clock.time()
                threading.Event().wait(min(max(left, 0.01), 0.5))
        except Exception:  # noqa: BLE001 - the emulator was stopped meanwhile: the next request would say so
            return

    def _call_back(self, app: Any, job: J, payload: Callable[[], dict[str, Any]], url: str) -> None:
        """Start a thread that POSTs ``payload()`` as JSON to ``url`` once the job has finished.

        Jobs advance lazily, so without it a callback-only client (one that never polls) would wait forever.
        """

        def watch() -> None:
            while not self.finished(job):
                if app.state.get(self.state_key) is not self:
                    return  # the org was reset
                threading.Event().wait(0.05)
                self.refresh(app)
            req = urllib.request.Request(url, data=json.dumps(payload()).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5):  # noqa: S310 (the client asked for this URL)
                    pass
            except OSError:
                pass  # no retries (unconfirmed); clients poll as a fallback

        threading.Thread(target=watch, daemon=True, name="bulk-callback").start()
