"""A file target's module rewrites, run behind the runner while it takes the next modules.

An incremental run into a Parquet or CSV directory writes each changed module's file again whole: the
file as it stands without the rows the delta replaces or deletes, then the delta, then the commit (the new
file renamed over the old, then the manifest). Once the delta is in, none of that needs the runner: it
hands the rewrite over (:meth:`WriteBehind.run`) and goes on to the next module, whose rows may still be on
the wire or whose rewrite can run beside this one on another core. A full load hands over the end of its
new file the same way (its last rows encoded, the file closed and committed). A few rewrites run at once (each holds
its module's rows in memory); one more waits for a slot, so the runner never holds more deltas than that.

Every read of a module through the target waits for its rewrite (:meth:`WriteBehind.wait`), so what the
target answers is what the serial order would have answered; the rewrite's own reads do not wait for
themselves. What is to be tidied once a module's changes are in (the folders of its deleted records' files)
runs after its commit, in the rewrite's thread (:meth:`WriteBehind.after`): the files stay for as long as
rows name them. A rewrite that fails leaves its module's file and state as they were (the commit is its last
step), tidies nothing, and what it raised is kept for the run to report as that module's failure
(:meth:`WriteBehind.failed`), or raised by the next write of the same module, which must not build on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context

log = logging.getLogger("connector.sync")


class WriteBehind:
    """Rewrites of modules, at most ``at_once`` at a time, each in a thread of a small pool."""

    def __init__(self, at_once: int) -> None:
        self.at_once = max(1, at_once)
        self._slots = threading.Semaphore(self.at_once)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        #: module -> its rewrite handed over last (until a wait saw it end)
        self._jobs: dict[str, Future[None]] = {}
        #: module -> what its rewrite raised, not yet reported
        self._failed: dict[str, Exception] = {}
        #: module -> what to do once its rewrite under way has committed (:meth:`after`)
        self._then: dict[str, list[Callable[[], object]]] = {}
        #: the modules whose rewrite is handed over and has not yet taken what to do after it
        self._open: set[str] = set()
        #: the module whose rewrite this thread runs (its reads through the target do not wait for it)
        self._mine = threading.local()

    def run(self, module: str, rewrite: Callable[[], None]) -> None:
        """Start ``rewrite`` of ``module`` once a slot is free (after the module's previous one, if any)."""
        self.wait(module)
        self._slots.acquire()
        try:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.at_once, thread_name_prefix="zoho-rewrite")
                self._open.add(module)
                self._jobs[module] = self._pool.submit(copy_context().run, self._one, module, rewrite)
        except BaseException:
            self._slots.release()
            raise

    def _one(self, module: str, rewrite: Callable[[], None]) -> None:
        self._mine.module = module
        try:
            try:
                rewrite()
            except Exception as exc:  # noqa: BLE001 - the run reports it as the module's failure
                with self._lock:
                    self._open.discard(module)
                    self._then.pop(module, None)  # its rows still name what they would have tidied
                    self._failed[module] = exc
                return
            with self._lock:
                self._open.discard(module)
                then = self._then.pop(module, [])
            for step in then:  # committed: a tidy-up that fails takes nothing back
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - said, and the run goes on
                    log.warning("%s: tidying up after its commit failed (%s)", module, exc)
        finally:
            self._mine.module = None
            self._slots.release()

    def after(self, module: str, then: Callable[[], object]) -> None:
        """Run ``then`` once ``module``'s rewrite under way has committed (in its thread; never if it fails), or
        now when none is."""
        with self._lock:
            if module in self._open:
                self._then.setdefault(module, []).append(then)
                return
            if module in self._failed:  # failed already (not reported yet): its rows still name what it tidies
                return
        then()

    def wait(self, module: str, raising: bool = False) -> None:
        """Until ``module``'s rewrite has ended (at once from that rewrite's own thread). ``raising``: a failure
        of it not reported yet is raised here (the caller would write the module on top of it)."""
        if getattr(self._mine, "module", None) == module:
            return
        with self._lock:
            job = self._jobs.get(module)
        if job is not None:
            job.result()
            with self._lock:
                if self._jobs.get(module) is job:
                    del self._jobs[module]
        if raising:
            with self._lock:
                exc = self._failed.pop(module, None)
            if exc is not None:
                raise exc

    def wait_all(self) -> None:
        with self._lock:
            modules = list(self._jobs)
        for module in modules:
            self.wait(module)

    def failed(self, wait: bool = False) -> dict[str, Exception]:
        """The rewrites that failed since last asked (``wait``: after every one under way has ended)."""
        if wait:
            self.wait_all()
        with self._lock:
            out, self._failed = self._failed, {}
        return out

    def close(self) -> None:
        """Every rewrite handed over ends (each one's commit is whole); the pool's threads go."""
        self.wait_all()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
