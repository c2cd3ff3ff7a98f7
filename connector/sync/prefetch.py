"""Reading the next modules of a run while the current one is written.

A whole-org load from Zoho is mostly waiting: a bulk job queued at Zoho, a page a
few hundred milliseconds away, a COUNT before a read is planned. The runner writes
modules one after another (a target commits one module's data with its state, then
the next: that order is what keeps a crash harmless), but nothing stops it from
*reading* ahead: while module N is decoded and written, the reads of the next
``depth`` modules are already running in threads of their own — a small module's
COQL pages, the next module's bulk job submitted and processing at Zoho, an
incremental module's deletion log and changed rows. Each keeps at most ``BUFFER``
batches ahead (more when they are small: up to ``ROWS_AHEAD`` rows, so a module read
in 200-row list pages goes on too), so memory stays bounded; the HTTP client's slots keep the calls
within MaxConcurrency and Zoho's 10 heavy ones.

Only what is read changes hands early: targets, state, progress and the summary
are still handled module by module in the runner's own thread, so a killed run
leaves the target as it would have without read-ahead. (Which module comes next
may follow the reads: :mod:`.turns`, for deltas into a target that takes any order.)
A read that fails raises when its module's turn comes, as it would have then. Credits a module's summary
shows are those of the calls made for it, wherever they ran (``charging``).

A module is read ahead only when the runner says so (``ahead``): a full load
always; an incremental one when its source allows it (:meth:`.contract.Source.delta_ahead`:
a Zoho source for every module — rows that vanished without being listed are found
against the target at the module's turn, in the runner's thread). One that is not
is a fence: it starts at its turn, in the runner's thread, and nothing after it starts
before then. A module whose read looks at other modules' reads of this run
(``after``: a linking module's cascade check, at its parents' deletions; a subform's,
at its parents' edits too) starts once those are known, so what it sees — and the
calls it makes — are the same in every run, read ahead or not; where only what the read
settles beside its rows looks at them (``"settle"``: a subform's cascade check, which needs
its parents' edits, not its own changed rows), the read starts at once and that part waits
(:meth:`ReadAhead.wait_settle`). What it asks that no
other read decides (``warm``: an incremental read's deletion log and record count) goes
out before it waits, so its parents' reads and its own first calls share their round trips.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from typing import Generic, TypeVar

import pyarrow as pa

from connector.errors import ConnectorError
from connector.http.client import cancellable
from connector.http.credits import charging
from connector.http.retry import CallCancelled

log = logging.getLogger("connector.sync")

#: batches a module read ahead may hold before the runner takes them
BUFFER = 4
#: ... or more batches while they hold no more rows than this: list pages are 200 rows each, and four of
#: them would stop a module's token chain (one page at a time) long before its turn
ROWS_AHEAD = 10_000
_END = object()

H = TypeVar("H")
#: a module's read: ``start(module, ahead)`` -> (what the runner needs before the rows, the rows);
#: ``ahead``: it runs in a thread of its own, so it must not touch the target
Start = Callable[[str, bool], tuple[H, Iterator[pa.RecordBatch]]]


class Signal:
    """A count of things that happened, to wait on without missing one that came just before the wait."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0

    def tell(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Until :attr:`version` is past ``seen`` (what the caller saw before it looked), or ``timeout`` s."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout)


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Stream(Generic[H]):
    """One module's read, running in its own thread into a bounded queue."""

    def __init__(self, module: str, start: Start[H], cancel: threading.Event, headed: threading.Event,
                 done: threading.Event, after: list[threading.Event],
                 warm: Callable[[str], None] | None = None, changed: Signal | None = None) -> None:
        self.module = module
        #: notified when this read's head is known, when it waits for room, and when it ends
        self.changed = changed or Signal()
        #: True while the read waits for the runner to take batches: all it can do before its turn is done
        self.waiting = False
        #: True once a batch with rows has come (told through ``changed``)
        self.has_rows = False
        self.warm = warm if after else None  # nothing to wait for: the read itself asks at once
        self.cancel = cancel
        #: set when what comes before the rows is known (an incremental read: its deletions), or it failed
        self.headed = headed
        #: set when this read has ended (all its batches queued, or it failed)
        self.done = done
        self.after = after
        self.head: Future[H] = Future()
        self.items: queue.Queue[object] = queue.Queue()  # bounded by _put: BUFFER batches, or ROWS_AHEAD rows
        self._room = threading.Condition()
        self._held = self._held_rows = 0
        self.thread = threading.Thread(target=copy_context().run, args=(cancellable, cancel, self._run, start),
                                       daemon=True, name=f"zoho-read-ahead-{module}")
        self.thread.start()

    def _put(self, item: object) -> bool:
        rows = item.num_rows if isinstance(item, pa.RecordBatch) else 0
        with self._room:
            while self._held >= BUFFER and self._held_rows + rows > ROWS_AHEAD:
                if self.cancel.is_set():
                    return False
                if not self.waiting:
                    self.waiting = True
                    self.changed.tell()
                self._room.wait(0.1)
            self.waiting = False
            if self.cancel.is_set():
                return False
            self._held += 1
            self._held_rows += rows
        self.items.put(item)
        if rows and not self.has_rows:
            self.has_rows = True
            self.changed.tell()
        return True

    def _taken(self, item: object) -> None:
        with self._room:
            self._held -= 1
            self._held_rows -= item.num_rows if isinstance(item, pa.RecordBatch) else 0
            self._room.notify()

    def _run(self, start: Start[H]) -> None:
        try:
            if self.warm is not None:  # what it will ask first and no other read decides: on the wire now
                with charging(self.module):
                    self.warm(self.module)
            for ended in self.after:  # the reads this one looks at
                while not ended.wait(0.1) and not self.cancel.is_set():
                    continue
            if self.cancel.is_set():
                raise CallCancelled("the run stopped before this read began")
            with charging(self.module):  # its credits count for its module, whichever is written meanwhile
                head, batches = start(self.module, True)
                self.head.set_result(head)
                self.headed.set()
                self.changed.tell()
                for batch in batches:
                    if not self._put(batch):
                        return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - raised in the runner's thread, at the module's turn
            if not self.head.done():
                self.head.set_exception(exc)
            self._put(_END if isinstance(exc, CallCancelled) else _Failed(exc))  # cancelled: nobody takes it
        finally:
            self.headed.set()
            self.done.set()
            self.changed.tell()

    def batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            item = self.items.get()
            self._taken(item)
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item


class ReadAhead(Generic[H]):
    """``start(module)`` for the modules of a run, in order; the next ``depth`` of ``ahead`` begun early.

    ``after(module)``: the modules whose reads ``module``'s read looks at, each with what of it:
    ``"head"`` (what comes before its rows: an incremental read's deletions), ``"rows"`` (the whole
    read) or ``"settle"`` (the whole read, but only what the read settles beside its rows needs it: the
    read starts at once and calls :meth:`wait_settle` where it needs them). Read ahead, it waits for those
    of them that come before it in the run (one that comes after it, or not at all, is not waited for: at
    its turn it would not have been read yet either).
    ``warm(module)``: asked in the read's thread before it waits for those (calls whose answers the read
    takes from a cache later, and that depend on no other module's read); an error it raises is the read's.
    """

    def __init__(self, start: Start[H], modules: list[str], depth: int, ahead: Collection[str] | None = None,
                 after: Callable[[str], Mapping[str, str]] | None = None,
                 warm: Callable[[str], None] | None = None) -> None:
        self._begin = start
        self.warm = warm
        self.modules = list(modules)
        self.ahead = set(self.modules if ahead is None else ahead)
        self.depth = max(0, depth)
        self.after = after
        self.cancel = threading.Event()
        self._streams: dict[str, _Stream[H]] = {}
        #: every module whose read was begun in a thread of its own, taken or not
        self._started: dict[str, _Stream[H]] = {}
        #: told when a read ahead learns its head, waits for room or ends
        self.changed = Signal()
        #: module -> set once its read has ended (read ahead: by its thread; else when the next is taken)
        self._ended = {m: threading.Event() for m in self.modules}
        #: module -> set once what comes before its rows is known
        self._headed = {m: threading.Event() for m in self.modules}
        #: module -> the reads ending before what it settles beside its rows may look at them ("settle")
        self._settle: dict[str, list[threading.Event]] = {}

    def take(self, module: str) -> tuple[H, Iterator[pa.RecordBatch]]:
        """The module's read (waiting for what comes before its rows); the next modules' reads start with it.

        Modules are taken in the run's order, except that one read ahead may be taken before others read
        ahead too (:class:`.turns.WriteTurns`): those earlier ones still running are left to end by themselves."""
        at = self.modules.index(module) if module in self.modules else None
        if at is not None:
            for before in self.modules[:at]:  # read at their turns, in the runner's thread: theirs are over
                if before not in self._started:
                    self._headed[before].set()
                    self._ended[before].set()
            if module not in self._streams and self.depth and module in self.ahead:
                self._stream(module)  # with the ones after it, not before them
            for nxt in self.modules[at + 1:at + 1 + self.depth] if self.depth else ():
                if nxt not in self.ahead:
                    break  # a fence: what comes after it starts at its turn
                if nxt not in self._streams:
                    self._stream(nxt)
        stream = self._streams.pop(module, None)
        if stream is not None:
            return stream.head.result(), stream.batches()
        # its turn, in this thread: its fences (target, other modules' reads) are behind it now
        return self._begin(module, False)

    def _stream(self, module: str) -> None:
        at = self.modules.index(module)
        looks_at = self.after(module) if self.after is not None else {}
        before = [m for m in self.modules[:at] if m in looks_at]
        waits = [(self._ended if looks_at[m] == "rows" else self._headed)[m] for m in before
                 if looks_at[m] != "settle"]
        self._settle[module] = [self._ended[m] for m in before if looks_at[m] == "settle"]
        self._streams[module] = self._started[module] = _Stream(
            module, self._begin, self.cancel, self._headed[module], self._ended[module], waits, self.warm, self.changed)

    def begin(self) -> None:
        """Start the reads :meth:`take` of the first module would start (it and the next ``depth``), taking none."""
        for module in self.modules[:1 + self.depth] if self.depth else ():
            if module not in self.ahead:
                break  # a fence: it and what comes after it start at its turn
            if module not in self._started:
                self._stream(module)

    def head(self, module: str) -> Future[H] | None:
        """What comes before the rows of ``module``'s read ahead, not taken yet (None: not read ahead, or taken);
        once done, :meth:`take` gives it without waiting."""
        stream = self._streams.get(module)
        return stream.head if stream is not None else None

    def ready(self, module: str) -> bool:
        """Whether ``module``'s read ahead (taken or not) has done all it can before its turn: ended, or waiting
        for room."""
        stream = self._started.get(module)
        return stream is not None and (stream.done.is_set() or stream.waiting)

    def has_rows(self, module: str) -> bool:
        """Whether ``module``'s read ahead (taken or not) has brought a row yet."""
        stream = self._started.get(module)
        return stream is not None and stream.has_rows

    def settles_later(self, module: str) -> bool:
        """Whether ``module``'s read ahead started before reads that what it settles looks at had ended."""
        return bool(self._settle.get(module))

    def wait_settle(self, module: str) -> None:
        """Wait until the reads ``module`` settles against (``"settle"`` in ``after``) have ended; raises
        :class:`CallCancelled` once the run stops."""
        for ended in self._settle.get(module, ()):
            while not ended.wait(0.1):
                if self.cancel.is_set():
                    raise CallCancelled("the run stopped before this read's parents were read")

    def read(self, module: str) -> Iterator[pa.RecordBatch]:
        """The module's rows (:meth:`take` without its head)."""
        return self.take(module)[1]

    def close(self) -> None:
        """Stop every read still running (a call in flight is not waited for)."""
        self.cancel.set()


def ask_at_once(jobs: list[Callable[[], object]], slots: int) -> None:
    """Run independent metadata asks together, ``slots`` at a time (the HTTP client's own slots still bound
    them): a run's start-up costs one round trip instead of one per ask. What they fetch lands in the
    caches they fill; an ask that fails is asked again where it is needed, and fails there with its module.
    With one slot nothing runs here: each is asked where first needed, in the same order as ever."""
    if min(slots, len(jobs)) <= 1:
        return
    pool = ThreadPoolExecutor(min(slots, len(jobs)), thread_name_prefix="zoho-metadata")
    try:
        for done in [pool.submit(copy_context().run, job) for job in jobs]:
            try:
                done.result()
            except ConnectorError as exc:
                log.debug("metadata asked ahead failed (%s); asked again where needed", exc)
    finally:  # an interrupt does not wait for the asks still queued or on the wire
        pool.shutdown(wait=False, cancel_futures=True)
