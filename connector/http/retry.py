"""When a call is tried again, what a failed one costs, and how a stopping run stops its calls.

Worker threads do not see Ctrl-C or SIGTERM: the thread that owns them sets an event, and their
waits (retry backoffs, CallsPerMinute turns) end at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from tenacity import RetryCallState
from tenacity.wait import wait_base

from connector.errors import FatalApiError, RetriableError

#: the jitter's own generator: backing off never moves the caller's global ``random`` sequence (a caller that
#: seeds it for its own reproducible draws would see them change with every retry)
JITTER = random.Random()

T = TypeVar("T")

# Worker threads (page prefetch, concurrent write batches) do not see Ctrl-C or SIGTERM: the
# thread that owns them sets its event when it stops, and their retry backoffs end at once. Work
# started by a worker (a slice's own calls sent together) runs under its owner's events and its
# own: a stop from any owner up the chain reaches it.
_CANCEL: ContextVar[tuple[threading.Event, ...]] = ContextVar("zohocrm_cancel", default=())
#: how often a wait under more than one owner looks at the owners further up
_CHAIN_POLL_S = 0.05


class CallCancelled(RetriableError):
    """The work this call belonged to was stopped (Ctrl-C, SIGTERM): the call was not sent."""


def cancellable(cancel: threading.Event, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` (in a worker thread) so that its calls stop waiting once ``cancel`` is set, or any
    event its caller was already running under (a stop anywhere up the chain of owners)."""
    token = _CANCEL.set((*_CANCEL.get(), cancel))
    try:
        return fn(*args)
    finally:
        _CANCEL.reset(token)


def check_cancelled() -> None:
    if any(cancel.is_set() for cancel in _CANCEL.get()):
        raise CallCancelled("not sent: the run is stopping", hint="run it again to go on")


def pause(seconds: float) -> None:
    """Sleep ``seconds``, or raise :class:`CallCancelled` as soon as the current work is cancelled."""
    chain = _CANCEL.get()
    if not chain:
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        check_cancelled()
        chain[-1].wait(left if len(chain) == 1 else min(left, _CHAIN_POLL_S))
    check_cancelled()


class Backoff(wait_base):
    """Exponential backoff with jitter (half to all of the step), raised to Retry-After when Zoho sends one."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(self.cap, self.base * (2 ** (state.attempt_number - 1)))
        wait = JITTER.uniform(ceiling / 2, ceiling)
        hinted = exc.retry_after if isinstance(exc, RetriableError) else None
        if hinted:
            wait = max(wait, min(float(hinted), self.cap))
        return wait


def retriable(exc: BaseException) -> bool:
    return isinstance(exc, RetriableError) and not isinstance(exc, CallCancelled) and not exc.ambiguous and exc.now


def charged_credits(estimate: int, error: BaseException | None) -> int:
    """What a call costs: the table's price when it succeeds, 1 for a request Zoho refused
    after processing it (4xx), nothing when it never reached the handler (401, 429, 5xx,
    transient error bodies). Zoho does not document what failed calls cost (unconfirmed);
    this is the emulator's reading, so only failed calls can make the meter drift."""
    if error is None:
        return estimate
    return 1 if isinstance(error, FatalApiError) else 0
