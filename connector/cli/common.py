"""Shared CLI plumbing: where the connection string comes from, how errors are shown."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from connector import interrupts
from connector.errors import ConnectorError
from connector.redaction import redact

F = TypeVar("F", bound=Callable[..., Any])

connection_option = click.option(
    "--connection", "-c", "connection", metavar="STRING|@FILE", envvar="ZOHOCRM_CONNECTION",
    help="connection string, or @path to a connection_strings/ style file (default: $ZOHOCRM_CONNECTION)")


def resolve_connection(value: str | None) -> str:
    """The connection string text from --connection, @file, a file path, or the environment."""
    if not value:
        raise click.UsageError("no connection given: pass --connection '...' or set ZOHOCRM_CONNECTION")
    text = value.strip()
    path = text[1:] if text.startswith("@") else text
    if text.startswith("@") or ("=" not in text and Path(path).is_file()):
        from connector.config import read_connection_file

        try:
            return read_connection_file(path)
        except OSError as exc:
            raise click.UsageError(f"cannot read connection file {path}: {exc.strerror}") from None
    return text


def err(message: str) -> None:
    click.echo(redact(message), err=True)


# ---- exit status by cause ------------------------------------------------------------------------
# Documented in the README ("Exit status"); schedulers branch on these, so they never change meaning.
EXIT_OK = 0
EXIT_PARTIAL = 1      # the command ran but some rows or modules failed: the report says which
EXIT_USAGE = 2        # bad command line or connection string (click uses 2 for usage errors too)
EXIT_AUTH = 3         # OAuth: bad client, expired/revoked token, wrong data center, tampered store
EXIT_DENIED = 4       # AllowedOperations / AllowedModules refused the operation
EXIT_ZOHO = 5         # Zoho refused the request as sent (bad module, field, criteria) or its data
EXIT_SQL = 6          # the SQL statement cannot be planned or is not supported
EXIT_LOCAL = 7        # a local file or folder (target, state, report, log) cannot be used
EXIT_TEMPORARY = 75   # try again later: Zoho unreachable or busy after retries, credits used up
EXIT_INTERNAL = 70    # a bug in the connector: please report it
EXIT_SIGINT = 130     # interrupted (Ctrl-C); what was kept is said, a re-run resumes
EXIT_SIGTERM = 143    # terminated (SIGTERM from a scheduler); same as Ctrl-C


# SIGTERM's KeyboardInterrupt lives under every layer: DuckDB swallows the one a handler raises,
# and the sync runner must raise it again (connector.interrupts.as_interrupt).
Terminated = interrupts.Terminated


def exit_status(exc: BaseException) -> int:
    """The exit status for an error that ended a command (see the table above)."""
    from connector.auth.oauth import AccountsServerUnavailable, TokenThrottled
    from connector.errors import (
        AuthError,
        ConfigError,
        ConversionError,
        FileAccessError,
        PermissionDenied,
        PlanningError,
        QuotaExhaustedError,
        RetriableError,
        StateError,
    )

    if isinstance(exc, Terminated):
        return EXIT_SIGTERM
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_SIGINT
    if isinstance(exc, TokenThrottled | AccountsServerUnavailable | RetriableError | QuotaExhaustedError):
        return EXIT_TEMPORARY
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, AuthError):
        return EXIT_AUTH
    if isinstance(exc, PermissionDenied):
        return EXIT_DENIED
    if isinstance(exc, PlanningError):
        return EXIT_SQL
    if isinstance(exc, FileAccessError | StateError):
        return EXIT_LOCAL
    if isinstance(exc, ConversionError | ConnectorError):
        return EXIT_ZOHO
    return EXIT_INTERNAL


def install_signal_handlers() -> None:
    """SIGTERM (Airflow, Kubernetes, systemd) unwinds like Ctrl-C instead of killing the process mid-write."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    # noted either way (DuckDB turns the KeyboardInterrupt into its own error); a commit holds it back
    def on_term(signum: int, frame: object) -> None:
        if interrupts.arrived(signum):
            raise Terminated()

    def on_int(signum: int, frame: object) -> None:
        if interrupts.arrived(signum):
            raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_int)


def quiet_broken_pipe() -> None:
    """The reader of stdout went away (``| head``): stop quietly, like other Unix tools.

    Python would otherwise complain again while flushing stdout at exit; point stdout at
    /dev/null first so that flush has nowhere to fail.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Errors become one clear line on stderr and an exit status by cause (no traceback with secrets)."""
    try:
        yield
    except ConnectorError as exc:
        err(f"error: {exc}")
        _debug_traceback(exc)
        sys.exit(exit_status(exc))
    except BrokenPipeError:
        quiet_broken_pipe()
        sys.exit(EXIT_OK)
    except KeyboardInterrupt as exc:
        err("terminated" if isinstance(exc, Terminated) else "interrupted")
        sys.exit(exit_status(exc))
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:  # a bug, not a user error: still no raw traceback that could quote a secret
        if interrupts.is_interrupt(exc):  # DuckDB's "Query interrupted": the signal it caught
            stop = interrupts.as_interrupt(exc)
            err("terminated" if isinstance(stop, Terminated) else "interrupted")
            sys.exit(exit_status(stop))
        err(f"internal error: {type(exc).__name__}: {exc} (this is a bug in the connector; set ZOHOCRM_DEBUG=1 "
            "for the traceback and report it)")
        _debug_traceback(exc)
        sys.exit(EXIT_INTERNAL)


def _debug_traceback(exc: BaseException) -> None:
    if os.environ.get("ZOHOCRM_DEBUG"):
        import traceback

        err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
