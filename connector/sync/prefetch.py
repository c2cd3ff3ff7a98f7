"""Reading the next modules of a run while the current one is written.

A whole-org load from Zoho is mostly waiting: a bulk job queued at Zoho, a page a
few hundred milliseconds away, a COUNT before a read is planned. The runner writes
modules one after another (a target commits one module's data with its state, then
the next: that order is what keeps a crash harmless), but nothing stops it from
*reading* ahead: while module N is decoded and written, the reads of the next
``depth`` modules are already running in threads of their own — a small module's
COQL pages, the next module's bulk job submitted and processing at Zoho, an
incremental module's deletion log and changed rows. Each keeps at most ``BUFFER``
batches ahead, so memory stays bounded; the HTTP client's slots keep the calls
within MaxConcurrency and Zoho's 10 heavy ones.

Only what is read changes hands early: targets, state, progress and the summary
are still handled module by module in the runner's own thread, so a killed run
leaves the target as it would have without read-ahead. A read that fails raises
when its module's turn comes, as it would have then. Credits a module's summary
shows are those of the calls made for it, wherever they ran (``charging``).

A module is read ahead only when the runner says so (``ahead``): a full load
always; an incremental one when its deletions come from the source's own log and
its read depends on no other module (:meth:`.contract.Source.delta_ahead`). One
that does not — a linking or subform module, whose vanished rows are found from
its parents' deletions and edits of this run, or one whose deletions are found by
comparing ids with the target — is a fence: it starts at its turn, in the runner's
thread, and nothing after it starts before then. So what each of its checks sees
(which parent modules were read this run) is the same in every run, and so are
its calls.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from contextvars import copy_context
from typing import Generic, TypeVar

import pyarrow as pa

from connector.http.client import cancellable
from connector.http.credits import charging
from connector.http.retry import CallCancelled

#: batches a module read ahead may hold before the runner takes them
BUFFER = 4
_END = object()

H = TypeVar("H")
#: a module's read: ``start(module, ahead)`` -> (what the runner needs before the rows, the rows);
#: ``ahead``: it runs in a thread of its own, so it must not touch the target
Start = Callable[[str, bool], tuple[H, Iterator[pa.RecordBatch]]]


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Stream(Generic[H]):
    """One module's read, running in its own thread into a bounded queue."""

    def __init__(self, module: str, start: Start[H], cancel: threading.Event) -> None:
        self.module = module
        self.cancel = cancel
        self.head: Future[H] = Future()
        self.items: queue.Queue[object] = queue.Queue(maxsize=BUFFER)
        self.thread = threading.Thread(target=copy_context().run, args=(cancellable, cancel, self._run, start),
                                       daemon=True, name=f"zoho-read-ahead-{module}")
        self.thread.start()

    def _put(self, item: object) -> bool:
        while not self.cancel.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, start: Start[H]) -> None:
        try:
            with charging(self.module):  # its credits count for its module, whichever is written meanwhile
                head, batches = start(self.module, True)
                self.head.set_result(head)
                for batch in batches:
                    if not self._put(batch):
                        return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - raised in the runner's thread, at the module's turn
            if not self.head.done():
                self.head.set_exception(exc)
            self._put(_END if isinstance(exc, CallCancelled) else _Failed(exc))  # cancelled: nobody takes it

    def batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            item = self.items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item


class ReadAhead(Generic[H]):
    """``start(module)`` for the modules of a run, in order; the next ``depth`` of ``ahead`` begun early."""

    def __init__(self, start: Start[H], modules: list[str], depth: int, ahead: Collection[str] | None = None) -> None:
        self._begin = start
        self.modules = list(modules)
        self.ahead = set(self.modules if ahead is None else ahead)
        self.depth = max(0, depth)
        self.cancel = threading.Event()
        self._streams: dict[str, _Stream[H]] = {}

    def take(self, module: str) -> tuple[H, Iterator[pa.RecordBatch]]:
        """The module's read (waiting for what comes before its rows); then the next modules' reads start."""
        stream = self._streams.pop(module, None)
        if stream is not None:
            head, batches = stream.head.result(), stream.batches()
        else:  # its turn, in this thread: its fences (target, other modules' reads) are behind it now
            head, batches = self._begin(module, False)
        if self.depth and module in self.modules:
            at = self.modules.index(module)
            for nxt in self.modules[at + 1:at + 1 + self.depth]:
                if nxt not in self.ahead:
                    break  # a fence: what comes after it starts at its turn
                if nxt not in self._streams:
                    self._streams[nxt] = _Stream(nxt, self._begin, self.cancel)
        return head, batches

    def read(self, module: str) -> Iterator[pa.RecordBatch]:
        """The module's rows (:meth:`take` without its head)."""
        return self.take(module)[1]

    def close(self) -> None:
        """Stop every read still running (a call in flight is not waited for)."""
        self.cancel.set()
