"""One read's independent slices run at once, their batches handed on in a fixed order.

Real Zoho answers each call in a few hundred milliseconds; a read that waits for
each page before asking for the next spends its time waiting in turn. When a
read can be cut into slices that never overlap (id ranges: see
:mod:`.strategies.partitions`), each slice runs in a thread of its own and the
caller gets their batches round-robin in slice order — slice 0's first batch,
slice 1's first, ..., then every slice's second — so the order depends only on
the slices, never on which answer came first. Each slice keeps at most
``BUFFER`` batches ahead of the caller, so memory stays flat however large the
read. The HTTP client's slots (MaxConcurrency, 10 for heavy calls) bound what
is in flight; one thread per slice, and never more slices than slots, so a
slice that waits for the caller never holds up one the caller waits for.

Stopping: when the caller stops (an error, Ctrl-C, a LIMIT satisfied, the
generator closed), the slices' calls stop at once (``cancellable``) and nobody
waits for an answer in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextvars import copy_context
from typing import TypeVar

from connector.http.client import cancellable
from connector.http.retry import CallCancelled

T = TypeVar("T")

#: batches a slice may read ahead of the caller
BUFFER = 2
_END = object()


def at_once(calls: Sequence[Callable[[], T]], slots: int, name: str, settle_s: float = 0.0) -> list[T]:
    """Each call's answer, in the calls' order: up to ``slots`` at a time in threads that carry the caller's
    context (so a stop that reaches the caller's calls reaches theirs), or one after another in the caller's
    thread with one slot. The HTTP client's own slots still bound what is in flight.

    The first call to fail is raised as soon as it fails (the earliest in order among those failed by
    then), as is a stop of the caller; the calls not yet sent are not sent. A call in flight is not waited
    for, unless ``settle_s``: then up to that long (a write waits for what it sent to be recorded).
    """
    slots = min(slots, len(calls))
    if slots <= 1:
        return [call() for call in calls]
    cancel = threading.Event()
    pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix=name)
    futures = [pool.submit(copy_context().run, cancellable, cancel, call) for call in calls]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for failed in (f for f in futures if f in done and f.exception() is not None):
            raise failed.exception()  # type: ignore[misc]
        return [f.result() for f in futures]
    except BaseException:
        cancel.set()  # the rest are not sent
        pool.shutdown(wait=False, cancel_futures=True)
        if settle_s:
            # (a future cancelled here is never "done" to wait(), which counts only those a worker saw cancelled)
            wait([f for f in futures if not f.cancelled()], timeout=settle_s)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def round_robin(slices: list[Callable[[], Iterator[T]]], threaded: bool = False,
                buffer: int = BUFFER) -> Iterator[T]:
    """Every slice's items, one slice's next item after another's, in slice order, the slices running at once.

    A single slice runs in the caller's thread unless ``threaded``; ``buffer``: items a slice may read ahead.
    """
    if len(slices) == 1 and not threaded:
        yield from slices[0]()
        return
    cancel = threading.Event()
    queues: list[queue.Queue[object]] = [queue.Queue(maxsize=buffer) for _ in slices]

    def put(q: queue.Queue[object], item: object) -> bool:
        while not cancel.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(i: int) -> None:
        q = queues[i]
        try:
            for item in slices[i]():
                if not put(q, item):
                    return
            put(q, _END)
        except CallCancelled:
            put(q, _END)  # the caller is stopping and will not look
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            put(q, _Failed(exc))

    threads = [threading.Thread(target=copy_context().run, args=(cancellable, cancel, run, i), daemon=True,
                                name=f"zoho-slice-{i}") for i in range(len(slices))]
    for t in threads:
        t.start()
    try:
        live = list(range(len(slices)))
        while live:
            still = []
            for i in live:
                item = queues[i].get()
                if item is _END:
                    continue
                if isinstance(item, _Failed):
                    raise item.exc
                still.append(i)
                yield item  # type: ignore[misc]
            live = still
    finally:
        cancel.set()  # threads stop sending and end; a call in flight is not waited for


def started(call: Callable[[], T], name: str = "zoho-ahead") -> Callable[[], T]:
    """``call`` begun now on a thread of its own; the returned function waits for its answer (or raises
    what it raised). The thread carries the caller's context, so a stop that reaches the caller's calls
    (``cancellable``) reaches it too; an answer nobody takes is dropped (the thread is a daemon: not even
    the interpreter's exit waits for it)."""
    ctx = copy_context()
    done: queue.SimpleQueue[tuple[bool, object]] = queue.SimpleQueue()

    def run() -> None:
        try:
            done.put((True, ctx.run(call)))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the answer, who raises it
            done.put((False, exc))

    threading.Thread(target=run, daemon=True, name=name).start()
    taken: list[tuple[bool, object]] = []

    def answer() -> T:
        if not taken:
            taken.append(done.get())
        ok, item = taken[0]
        if not ok:
            assert isinstance(item, BaseException)
            raise item
        return item  # type: ignore[return-value]
    return answer


def one_ahead(items: Iterator[T], name: str = "zoho-next-page") -> Iterator[T]:
    """``items``, the next one already being made on a thread of its own while the caller works on this one.

    For a slice whose pages come over the network and are then decoded: the next page's call goes out
    before this page is converted, instead of after. A stop and an early end are :func:`started`'s.
    """
    def make() -> Callable[[], object]:
        return started(lambda: next(items, _END), name)

    pending = make()
    while True:
        item = pending()
        if item is _END:
            return
        pending = make()
        yield item  # type: ignore[misc]


def read_ahead(make: Callable[[], Iterator[T]], buffer: int = 1) -> Iterator[T]:
    """``make()``'s items, produced on a thread of their own while the caller works on the ones before.

    For a caller whose own work on each item is long (Spark moving an Arrow batch into the JVM): the next
    items are fetched and decoded meanwhile, instead of each side waiting for the other in turn. At most
    ``buffer`` items wait for the caller, one more is being made. Stopping is :func:`round_robin`'s.
    """
    return round_robin([make], threaded=True, buffer=buffer)
