"""The bulk read jobs a connection waits for, in the order Zoho runs them.

An org's bulk jobs run one after another (bulk-read.md): a job created while another runs waits in Zoho's
queue, and starts only when the one before it ends. A job's status polls back off with the time since it was
created (:func:`.bulk.poll_delays`), so a job that sat queued behind a long one is, by the time it starts,
asked about only every few seconds, and found done up to half its queue wait late. A whole-org load creates a
job per large module at once: the second is noticed seconds after it ended, and the next module's download
and the run's end wait for that.

The connection knows better: it made those jobs. :class:`BulkQueue` keeps the jobs being waited for in the
order they were created; when one is seen done (completed or failed), the oldest job still waited for is the
one Zoho runs now, and its wait starts its polls again from that moment, as for a job just created. It is a
hint, never a rule: jobs of other connections may sit in the same queue, and a job is still asked about until
Zoho says it is done. Only the job that moves up is woken, so each job done costs its successor a poll or two
at most.
"""

from __future__ import annotations

import threading
import time

from connector.http.per_connection import PerConnection

#: how often a wait looks at its cancel event while it sleeps (a stopped read stops within this)
LOOK_S = 0.1
#: creation times kept of jobs not (yet) waited for
BORN_KEPT = 1_000


class BulkQueue:
    """The bulk jobs this connection waits for, oldest first (:meth:`waiting`, :meth:`left`, :meth:`sleep`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._born: dict[str, float] = {}  # job id -> when this connection created it (time.monotonic())
        self._jobs: dict[str, float] = {}  # job id waited for -> when it was created
        self._moved: dict[str, threading.Event] = {}  # job id -> set when it became the oldest

    def born(self, job_id: str) -> None:
        """This connection created ``job_id`` now (its place in Zoho's queue, once it is waited for)."""
        with self._lock:
            self._born[job_id] = time.monotonic()
            while len(self._born) > BORN_KEPT:  # jobs created and never waited for (a read stopped early)
                del self._born[next(iter(self._born))]

    def waiting(self, job_id: str, created: float | None = None) -> None:
        """``job_id`` is waited for from now on; ``created``: when it was made, where this connection did not
        make it (a Spark task's job, made when the read was planned; default now)."""
        with self._lock:
            when = self._born.pop(job_id, None)
            self._jobs[job_id] = when if when is not None else time.monotonic() if created is None else created
            self._moved[job_id] = threading.Event()

    def left(self, job_id: str, done: bool) -> None:
        """No longer waited for; ``done``: because Zoho said it completed or failed, so the job after it runs
        now (the oldest one left is woken: :meth:`sleep` returns True)."""
        with self._lock:
            head = self._head()
            self._jobs.pop(job_id, None)
            self._moved.pop(job_id, None)
            after = self._head()
            if done and head == job_id and after is not None:
                self._moved[after].set()

    def sleep(self, job_id: str, seconds: float, cancel: threading.Event) -> bool | None:
        """Wait ``seconds`` before the job's next poll. True: woken sooner, the job before it being done (it
        runs now: its polls start again); None: ``cancel`` was set; False: the time passed."""
        with self._lock:
            moved = self._moved.get(job_id)
        if moved is None:
            return None if cancel.wait(seconds) else False
        left = seconds
        while left > 0:
            step = min(left, LOOK_S)
            if moved.wait(step):
                moved.clear()
                return True
            if cancel.is_set():
                return None
            left -= step
        return None if cancel.is_set() else False

    def _head(self) -> str | None:
        return min(self._jobs, key=self._jobs.__getitem__) if self._jobs else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


#: the queue of one connection (its HTTP client: one per session, shared by every read on it)
bulk_queue: PerConnection[BulkQueue] = PerConnection(BulkQueue)
