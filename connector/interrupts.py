"""Stopping on a signal: which one arrived, and the shapes an interruption takes on its way up.

Ctrl-C (SIGINT) and SIGTERM (what Airflow, Kubernetes and systemd send) both unwind the main
thread as a :class:`KeyboardInterrupt` (:class:`Terminated` for SIGTERM) so that cleanups run
and every target stays resumable. Two things get in the way, and this module handles both:

* DuckDB catches the signal while a statement runs and raises ``RuntimeError("Query
  interrupted")`` instead, dropping the exception the Python handler raised (or, when the
  handler's exception ends a Python callback of DuckDB's, such as reading a registered Arrow
  object, an ``InvalidInputException`` that names it);
  :func:`as_interrupt` turns that back into the interrupt it was, and
  :func:`received` says which signal it was when the CLI's handlers are installed;
* worker threads (page prefetch, concurrent write batches, HTTP retry backoff) do not see
  the signal at all: they run under a cancel :class:`threading.Event` (see
  ``connector.http.client.cancellable``) that the thread that owns them sets when it stops.

A target's commit must not be cut in two: a data file renamed into place whose manifest was not
written yet, or a module committed whose result the run never recorded, would make the run say
"not committed" of data that is there. So a commit runs under :func:`held`, and a module of a
migration under :func:`module_scope`: a signal that arrives inside a commit, or after a commit
in the same module, is noted and raised when the module's result is recorded (a second signal
is raised at once: a user who insists is not made to wait).

This sits under every layer (like ``errors``): the HTTP client, readers, writers, sync and
CLI all use it, and it imports nothing from them.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_received: int | None = None
#: commits under way (main thread): a signal now is held until they end
_holding = 0
#: modules under way (:func:`module_scope`) and whether one of their commits has finished
_scopes = 0
_sealed = False
#: the signal held back, raised when the hold ends
_pending: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so it unwinds like Ctrl-C (cleanups run, state stays resumable)."""


def note_signal(signum: int) -> None:
    """Remember the signal that is stopping the process (called by the CLI's signal handlers)."""
    global _received
    _received = signum


def arrived(signum: int) -> bool:
    """Note a stopping signal; True when the handler should raise its exception now, False when a commit
    (or a module whose data has committed) holds it back until it ends (then :func:`raise_pending`)."""
    global _pending
    note_signal(signum)
    if _pending is None and (_holding or _sealed):
        _pending = signum
        return False
    _pending = None  # a second signal: this one is raised now, for both
    return True


def _stop_for(signum: int | None) -> KeyboardInterrupt:
    """The exception a stopping signal unwinds as: Terminated for SIGTERM, else KeyboardInterrupt."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def pending() -> bool:
    """True when a stopping signal is held back (work that can wait for the next run should not start)."""
    return _pending is not None


def raise_pending() -> None:
    """Raise the held-back signal's exception, if there is one."""
    global _pending
    signum, _pending = _pending, None
    if signum is not None:
        raise _stop_for(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def held() -> Iterator[None]:
    """A commit: a stopping signal that arrives within it is raised when it ends (signals reach only the main
    thread, so elsewhere this changes nothing). Inside a :func:`module_scope` the hold lasts until the module
    ends, so that its result is recorded as committed; outside, the signal is raised as the block ends well
    (a block that raises lets its own error through and the signal waits for the next hold's end)."""
    global _holding, _sealed
    if not _main_thread():
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
    if _holding == 0:
        if _scopes:
            _sealed = True
        else:
            raise_pending()


@contextmanager
def module_scope() -> Iterator[None]:
    """One module of a run: a signal held by one of its commits (:func:`held`), or arriving after one, is
    raised as the scope ends well, once the module's result is recorded."""
    global _scopes, _sealed, _pending
    if not _main_thread():
        yield
        return
    _scopes += 1
    try:
        yield
    except BaseException as exc:
        if is_interrupt(exc):
            _pending = None  # the same stop, already on its way
        raise
    finally:
        _scopes -= 1
        if _scopes == 0:
            _sealed = False
    if _scopes == 0:
        raise_pending()


def received() -> int | None:
    """The stopping signal noted so far (None when none was, or no handler notes them)."""
    return _received


#: how DuckDB words a Python callback (reading a registered Arrow object) that the signal's exception ended
_CALLBACK_INTERRUPTED = re.compile(r"failed: (KeyboardInterrupt|Terminated)\b")


def _duckdb_interrupt(exc: BaseException) -> bool:
    from_duckdb = type(exc).__module__.startswith(("duckdb", "_duckdb"))
    if from_duckdb and type(exc).__name__ == "InterruptException":
        return True
    if from_duckdb and _CALLBACK_INTERRUPTED.search(str(exc)):
        return True  # the signal arrived while DuckDB was in Python, reading a registered object's schema
    return isinstance(exc, RuntimeError) and str(exc).strip() in ("Query interrupted", "INTERRUPT Error: Interrupted!")


def is_interrupt(exc: BaseException) -> bool:
    """True for Ctrl-C / SIGTERM however it surfaced (a KeyboardInterrupt, or DuckDB's own error)."""
    return isinstance(exc, KeyboardInterrupt) or _duckdb_interrupt(exc)


def as_interrupt(exc: BaseException) -> KeyboardInterrupt:
    """The interrupt ``exc`` stands for: itself, or a new one for a DuckDB interruption.

    SIGTERM comes back as :class:`Terminated` when the handler noted it, so the exit status
    (143, not 130) and the message stay right.
    """
    if isinstance(exc, KeyboardInterrupt):
        return exc
    return _stop_for(_received)
