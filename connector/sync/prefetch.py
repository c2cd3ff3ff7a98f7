"""Reading the next modules of a migration while the current one is written.

A whole-org load from Zoho is mostly waiting: a bulk job queued at Zoho, a page a
few hundred milliseconds away, a COUNT before a read is planned. The runner writes
modules one after another (a target commits one module's data with its state, then
the next: that order is what keeps a crash harmless), but nothing stops it from
*reading* ahead: while module N is decoded and written, the reads of the next
``depth`` full loads are already running in threads of their own — a small
module's COQL pages, the next module's bulk job submitted and processing at Zoho.
Each keeps at most ``BUFFER`` batches ahead, so memory stays bounded; the HTTP
client's slots keep the calls within MaxConcurrency and Zoho's 10 heavy ones.

Only what is read changes hands early: targets, state, progress and the summary
are still handled module by module in the runner's own thread, so a killed run
leaves the target as it would have without read-ahead. A read that fails raises
when its module's turn comes, as it would have then. Credits a module's summary
shows are those of the calls made for it, wherever they ran (``charging``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextvars import copy_context

import pyarrow as pa

from connector.http.client import cancellable
from connector.http.credits import charging
from connector.http.retry import CallCancelled

#: batches a module read ahead may hold before the runner takes them
BUFFER = 4
_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Stream:
    """One module's read, running in its own thread into a bounded queue."""

    def __init__(self, module: str, read: Callable[[str], Iterator[pa.RecordBatch]], cancel: threading.Event) -> None:
        self.module = module
        self.cancel = cancel
        self.items: queue.Queue[object] = queue.Queue(maxsize=BUFFER)
        self.thread = threading.Thread(target=copy_context().run, args=(cancellable, cancel, self._run, read),
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

    def _run(self, read: Callable[[str], Iterator[pa.RecordBatch]]) -> None:
        try:
            with charging(self.module):  # its credits count for its module, whichever is written meanwhile
                for batch in read(self.module):
                    if not self._put(batch):
                        return
            self._put(_END)
        except CallCancelled:
            self._put(_END)  # the run is stopping; nobody takes this
        except BaseException as exc:  # noqa: BLE001 - raised in the runner's thread, at the module's turn
            self._put(_Failed(exc))

    def batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            item = self.items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item


class ReadAhead:
    """``read(module)`` for the modules of a run, in order, each started ``depth`` modules before its turn."""

    def __init__(self, read: Callable[[str], Iterator[pa.RecordBatch]], modules: list[str], depth: int) -> None:
        self._read = read
        self.modules = list(modules)
        self.depth = max(0, depth)
        self.cancel = threading.Event()
        self._streams: dict[str, _Stream] = {}

    def _start(self, module: str) -> _Stream:
        stream = self._streams.get(module)
        if stream is None:
            stream = self._streams[module] = _Stream(module, self._read, self.cancel)
        return stream

    def read(self, module: str) -> Iterator[pa.RecordBatch]:
        """The module's rows; the reads of the next ``depth`` planned modules start now too."""
        if module not in self.modules or self.depth == 0:
            return self._read(module)
        at = self.modules.index(module)
        own = self._start(module)
        for nxt in self.modules[at + 1:at + 1 + self.depth]:
            self._start(nxt)
        return own.batches()

    def close(self) -> None:
        """Stop every read still running (a call in flight is not waited for)."""
        self.cancel.set()
