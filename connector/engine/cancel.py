"""Stopping a running statement from any thread, promptly, whatever DuckDB and the readers are doing.

DuckDB pulls a table's batches from whichever thread runs that part of the plan: sometimes the
caller's, often one of its own workers. Python runs signal handlers only in the main thread, and
``con.interrupt()`` does not return control while a worker sits in a Python call (an HTTP request,
a Bulk job's wait), so Ctrl-C could take as long as that call. Two pieces make a stop prompt:

* :class:`Cancel`: one statement's stop flag with the exception to stop with (KeyboardInterrupt,
  the CLI's Terminated, an InterfaceError after ``close()``); ``Engine.interrupt()`` sets it from
  any thread and interrupts DuckDB;
* :func:`pull_in_thread`: a reader's batches are produced in a thread of their own and handed over
  one at a time, on demand (so nothing is read ahead: no extra calls or credits). The thread DuckDB
  uses to pull waits in short slices and stops as soon as the flag is set, even while the reader's
  call is still out; the reader finishes that one call in the background and is closed there.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar, cast

T = TypeVar("T")
POLL_S = 0.05  # how often a waiting puller looks at the flag (a stop is seen within this)

StopReason = Callable[[], BaseException]


class Cancel:
    """One statement's stop flag; ``reason()`` makes the exception the statement stops with."""

    def __init__(self) -> None:
        self.event = threading.Event()  # readers that wait on their own (Bulk jobs) watch this too
        self._reason: StopReason = KeyboardInterrupt
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def track(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.append(thread)

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the statement's reader threads to end.

        Called after a stop, before the process may exit: a thread still inside a library call
        that released the GIL (pyarrow decoding a page) must not be cut off mid-call by the
        interpreter's shutdown. A thread still waiting on Zoho after that is left behind (daemon).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def set(self, reason: StopReason = KeyboardInterrupt) -> None:
        """Stop (the first reason given wins: a SIGTERM stays a SIGTERM when Ctrl-C follows)."""
        with self._lock:
            if not self.event.is_set():
                self._reason = reason
                self.event.set()

    @property
    def is_set(self) -> bool:
        return self.event.is_set()

    def error(self) -> BaseException:
        return self._reason()

    def check(self) -> None:
        if self.event.is_set():
            raise self._reason()


_NEXT, _STOP = object(), object()
_ITEM, _END, _ERROR = "item", "end", "error"


def pull_in_thread(make: Callable[[], Iterator[T]], cancel: Cancel, name: str) -> Iterator[T]:
    """``make()``'s items, produced in a daemon thread one per request; stops when ``cancel`` is set."""
    requests: queue.SimpleQueue[object] = queue.SimpleQueue()
    results: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()

    def produce() -> None:
        items: Iterator[T] | None = None
        try:
            items = make()
            while requests.get() is _NEXT and not cancel.is_set:
                try:
                    item = next(items)
                except StopIteration:
                    results.put((_END, None))
                    return
                results.put((_ITEM, item))
        except BaseException as exc:  # handed to the puller, which raises it in its own thread
            results.put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                try:
                    close()  # the reader's own cleanup (Bulk workers, temp files) runs here
                except BaseException:  # noqa: S110 - the read already ended; nothing is waiting for this
                    pass

    producer = threading.Thread(target=produce, name=f"zoho-read-{name}", daemon=True)
    cancel.track(producer)
    producer.start()
    try:
        while True:
            cancel.check()
            requests.put(_NEXT)
            while True:
                try:
                    kind, value = results.get(timeout=POLL_S)
                    break
                except queue.Empty:
                    cancel.check()
            if kind == _END:
                return
            if kind == _ERROR:
                assert isinstance(value, BaseException)
                raise value
            yield cast(T, value)
    finally:
        requests.put(_STOP)
