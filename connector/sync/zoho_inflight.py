"""Insert batches of one module on the wire while the next is prepared: Zoho's slots stay busy between chunks.

A chunk sent in place leaves the connection idle twice: while its last calls finish (the slots
empty one by one) and while the next chunk is prepared, saved and validated. Here a saved
chunk is handed to a sender thread and the caller goes on with the next one, so up to
:data:`DEPTH` chunks share the connection's slots (MaxConcurrency, and Zoho's 10 for heavy
writes: the HTTP client's :class:`~connector.http.concurrency.Slots` hold every writer to them).

What does not change: each chunk is saved (``<state>.pending/``) before anything of it is sent,
its writer journals every row before its call, and its outcome is settled — id map, report,
pending files removed — on the caller's thread, in the order the chunks were sent. A kill at
any point leaves pending chunks that the next run resumes, as before.

Only modules whose rows cannot point at each other go this way: a row of the next chunk that
names a record of this one must find it in the id map, so a module with a lookup to itself
(or line items) settles each chunk before it prepares the next.

Stopping: Ctrl-C or SIGTERM reaches the caller's thread only. :meth:`InFlight.abandon` sets the
event the senders run under; their writers stop as they would themselves (answers already on
the wire recorded, the rest of their rows journaled ``unprocessed``) and their chunks stay
pending for the next run.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from contextvars import copy_context
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.http.retry import cancellable

#: chunks of one module on the wire at once (two keep the slots busy while the next is prepared)
DEPTH = 2
#: how long a stopping run waits for its senders to record what is on the wire and close their journals
STOP_WAIT_S = 10.0


@dataclass
class Chunk:
    module: str
    path: Path
    future: Future[Any]
    key: object  # its entry in the module's live progress


class InFlight:
    """Chunks handed to sender threads, settled in order by the thread that owns the run."""

    def __init__(self, depth: int = DEPTH) -> None:
        self.depth = max(1, depth)
        self.stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._chunks: deque[Chunk] = deque()

    def __len__(self) -> int:
        return len(self._chunks)

    def submit(self, module: str, path: Path, key: object, send: Callable[[], Any]) -> None:
        """Start ``send()`` on a sender thread (it runs under :attr:`stop`, in the caller's context)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.depth, thread_name_prefix="zoho-chunk")
        ctx = copy_context()  # the run's purpose (acting_as) and its cancel event travel with the chunk
        self._chunks.append(Chunk(module, path, self._pool.submit(ctx.run, cancellable, self.stop, send), key))

    def full(self) -> bool:
        return len(self._chunks) >= self.depth

    def oldest(self) -> Chunk:
        """The chunk sent first, once its sender is done (its exception, if any, raised here)."""
        chunk = self._chunks.popleft()
        try:
            chunk.future.result()
        except BaseException:
            self._chunks.appendleft(chunk)  # abandon() still waits for the others
            raise
        return chunk

    def abandon(self) -> None:
        """Stop every sender; wait (a bounded time) for them to leave their journals whole. Their chunks
        stay pending: the next run resumes them."""
        self.stop.set()
        if self._chunks:
            wait_all([c.future for c in self._chunks], timeout=STOP_WAIT_S)
        self._chunks.clear()
        self.close()
        self.stop = threading.Event()  # a run that goes on with its next module sends again

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
