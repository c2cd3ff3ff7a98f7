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

This sits under every layer (like ``errors``): the HTTP client, readers, writers, sync and
CLI all use it, and it imports nothing from them.
"""

from __future__ import annotations

import re
import signal

_received: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so it unwinds like Ctrl-C (cleanups run, state stays resumable)."""


def note_signal(signum: int) -> None:
    """Remember the signal that is stopping the process (called by the CLI's signal handlers)."""
    global _received
    _received = signum


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
    return Terminated() if _received == signal.SIGTERM else KeyboardInterrupt()
