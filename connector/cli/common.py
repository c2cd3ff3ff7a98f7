"""Shared CLI plumbing: where the connection string comes from, how errors are shown."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

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


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Connector errors become one clear line on stderr and exit status 1 (no traceback with secrets)."""
    try:
        yield
    except ConnectorError as exc:
        err(f"error: {exc}")
        if os.environ.get("ZOHOCRM_DEBUG"):
            import traceback

            err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        sys.exit(1)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:  # a bug, not a user error: still no raw traceback that could quote a secret
        err(f"internal error: {type(exc).__name__}: {exc} (set ZOHOCRM_DEBUG=1 for the traceback)")
        if os.environ.get("ZOHOCRM_DEBUG"):
            import traceback

            err("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        sys.exit(2)
