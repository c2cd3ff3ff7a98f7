"""``zohocrm migrate``: copy modules between Zoho, DuckDB, Parquet and CSV, once or incrementally.

Progress goes to stderr (bars on a terminal; off one — cron, CI, a scheduler — a plain line per
module every ``--progress-every`` seconds), the summary table to stdout at full width, or with
``--json`` one JSON document instead. The exit status is 0 only when every module ran and every
row landed, else by cause (README "Exit status"). Ctrl-C and SIGTERM stop within moments, say
what was kept and how to resume, and leave the target resumable.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console

from connector.errors import ConnectorError, CreditBudgetReached
from connector.interrupts import Terminated
from connector.redaction import redact

from .common import EXIT_PARTIAL, err, exit_status, friendly_errors, resolve_connection
from .migrate_output import (
    PlainProgress,
    ProgressBars,
    deferred_notes,
    interruption_text,
    result_document,
    summary_table,
)

if TYPE_CHECKING:  # the command's module loads without the sync engine (``zohocrm --help`` lists it)
    from connector.sync.contract import Source, Target

__all__ = ["migrate", "endpoint", "ProgressBars", "summary_table"]  # the demo shows the same bars

SCHEMES = ("duckdb:", "parquet:", "csv:", "zoho:")
#: off a terminal nobody reads a line wrapped at 80 columns: tables and notes keep their width
WIDE = 100_000
#: after an interrupt, how long worker threads may take to finish their call before the process leaves
LEAVE_WAIT_S = 0.5


def endpoint(value: str) -> str:
    """A backend URL as given, or a connection string (inline, ``@file``, or a file path)."""
    text = value.strip()
    if text.lower().startswith(SCHEMES) and not text.startswith("@"):
        return text
    return resolve_connection(text)


def shown(value: str, opened: Source | Target | None) -> str:
    """How an endpoint is named in output: the opened backend, else never a connection string's text."""
    if opened is not None:
        return redact(repr(opened))
    text = value.strip()
    return redact(text) if text.lower().startswith(("duckdb:", "parquet:", "csv:")) else "Zoho connection"


def leave(status: int) -> NoReturn:
    """Exit with ``status`` now, even if a worker thread still waits for a slow answer.

    Its rows are journaled before their call (a resumed run looks them up), so nothing is lost by
    not waiting; waiting would keep a scheduler's SIGTERM from stopping the process. The connector's
    own daemon threads (reads ahead, page decoders: told to stop with the run) are waited for too: one
    still inside pyarrow or DuckDB while the interpreter tears those down at exit can abort the process
    (status -6 instead of the signal's). Any still busy at the deadline: the process leaves at once.
    """
    deadline = time.monotonic() + LEAVE_WAIT_S
    others = [t for t in threading.enumerate() if t is not threading.current_thread()
              and (not t.daemon or t.name.startswith("zoho-"))]
    for t in others:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in others):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        transport = sys.modules.get("connector.config.transport")  # loaded by any run that met a Zoho
        if transport is not None:
            transport.remove_certificate_files()  # os._exit runs no exit handler: they would stay in the temp dir
        os._exit(status)
    raise SystemExit(status)


@click.command()
@click.option("--source", required=True, metavar="URL|STRING|@FILE",
              help="a Zoho connection string (or @file), duckdb:PATH, parquet:DIR or csv:DIR")
@click.option("--target", required=True, metavar="URL|STRING|@FILE", help="same forms as --source")
@click.option("--modules", default=None, metavar="A,B", help="modules to copy (default: every module of the source)")
@click.option("--incremental", is_flag=True, help="after the first full load, copy only changes and deletes")
@click.option("--mode", type=click.Choice(["insert", "upsert"]), default="insert", show_default=True,
              help="Zoho targets: how rows not migrated before are written")
@click.option("--key", default=None, metavar="FIELD", help="Zoho targets: upsert/match field, e.g. Email")
@click.option("--no-files", "no_files", is_flag=True,
              help="records only: download no attachments, record photos or file-field files (the rows keep "
                   "their file ids and names); a module loaded the other way is loaded whole")
@click.option("--refresh-formulas", is_flag=True,
              help="re-read formula and rollup fields (they change without Modified_Time moving)")
@click.option("--state", "state_path", default=None, metavar="PATH",
              help="Zoho targets: the sync state file (id map, watermarks); default next to the token store "
                   "or under ~/.zohocrm/sync/")
@click.option("--write-api", type=click.Choice(["auto", "rest", "bulk"]), default="auto", show_default=True,
              help="Zoho targets: REST, Bulk Write, or the cheaper in credits per batch")
@click.option("--source-id-field", default=None, metavar="FIELD",
              help="Zoho targets: a text field that receives the source id (lets a lost answer be matched)")
@click.option("--report-dir", default=None, metavar="DIR",
              help="Zoho targets: where the per-row report of failed rows goes (default: <state>.reports/)")
@click.option("--json", "as_json", is_flag=True,
              help="print the result as one JSON document on stdout instead of the summary table")
@click.option("--progress-every", default=10.0, show_default=True, metavar="SECONDS",
              type=click.FloatRange(min=0), help="off a terminal: a progress line per module this often")
def migrate(source: str, target: str, modules: str | None, incremental: bool, mode: str, key: str | None,
            no_files: bool, refresh_formulas: bool, state_path: str | None, write_api: str, source_id_field: str | None,
            report_dir: str | None, as_json: bool, progress_every: float) -> None:
    """Copy modules from --source to --target; with --incremental, only what changed since the last run."""
    from connector.sync import interrupted_result, open_source, open_target, run
    from connector.sync.runner import refuse_files_left_out_of_zoho, spent_credits

    on_tty = sys.stderr.isatty()
    errc = Console(stderr=True) if on_tty else Console(stderr=True, width=WIDE, soft_wrap=True)
    out = Console() if sys.stdout.isatty() else Console(width=WIDE, soft_wrap=True)
    started = time.monotonic()
    src: Source | None = None
    tgt: Target | None = None

    def document(result: Any, status: int, error: BaseException | None = None,
                 interrupted: str | None = None) -> None:
        if as_json:
            doc = result_document(result, source=shown(source, src), target=shown(target, tgt),
                                  incremental=incremental, seconds=time.monotonic() - started, exit_status=status,
                                  error=error, interrupted=interrupted)
            click.echo(json.dumps(doc, indent=1))

    with friendly_errors():
        if no_files:
            refuse_files_left_out_of_zoho(target)  # before anything is opened: a Zoho target takes every file
        try:
            src = open_source(endpoint(source))
            tgt = open_target(endpoint(target), mode=mode, key=key, state_path=state_path, write_api=write_api,
                              source_id_field=source_id_field, report_dir=report_dir)

            def meter(module: str | None = None) -> int:  # a source and a target of this run alone
                return spent_credits(src, tgt, module)

            errc.print(f"migrate {src!r} -> {tgt!r}" + (" (incremental)" if incremental else ""),
                       style="bold" if on_tty else None, markup=False, highlight=False)
            bars = ProgressBars(errc, meter) if on_tty else PlainProgress(sys.stderr, meter, progress_every)
            with bars:
                result = run(src, tgt, modules=[m.strip() for m in modules.split(",") if m.strip()] if modules
                             else None, incremental=incremental, progress=bars, refresh_formulas=refresh_formulas,
                             files=not no_files)
        except KeyboardInterrupt as exc:
            status = exit_status(exc)
            text = interruption_text("terminated" if isinstance(exc, Terminated) else "interrupted",
                                     interrupted_result(exc), tgt, incremental)
            _close(tgt, src)
            err(text)
            document(interrupted_result(exc), status, exc, text)
            leave(status)
        except CreditBudgetReached as exc:  # a clean stop: what was kept, and how to resume
            _close(tgt, src)
            status = exit_status(exc)
            text = interruption_text("stopped at the credit budget", interrupted_result(exc), tgt, incremental)
            err(f"{exc.message}\n{text}")
            document(interrupted_result(exc), status, exc, text)
            leave(status)
        except ConnectorError as exc:
            _close(tgt, src)
            document(None, exit_status(exc), exc)
            raise
        except BaseException:
            _close(tgt, src)
            raise
        _close(tgt, src)
    status = 0 if result.ok else EXIT_PARTIAL
    if as_json:
        document(result, status)
    else:
        out.print(summary_table(result))
    for note in result.notes + [f"{m.module}: {n}" for m in result.modules for n in m.notes] + deferred_notes(result):
        errc.print(f"note: {note}", markup=False, highlight=False)
    errc.print(f"{result.rows_written:,} rows written, {result.credits:,} credits, "
               f"{time.monotonic() - started:.1f} s", highlight=False)
    if result.dry_run:
        _dry_run_summary(errc, result, on_tty)
        return
    if not result.ok:
        for m in (m for m in result.modules if m.error):
            errc.print(f"[red]{m.module} failed: {m.error}[/red]" if on_tty else f"{m.module} failed: {m.error}",
                       markup=on_tty, highlight=False)
        if result.rows_failed:
            errc.print(f"{result.rows_failed:,} rows were not written; per-row report: {result.report_path} (fix them "
                       "and run again: only what is missing is written)", style="red" if on_tty else None,
                       markup=False, highlight=False)
        raise SystemExit(status)


def _dry_run_summary(errc: Console, result: Any, on_tty: bool) -> None:
    """DryRun=true on the target: what would have been written; exit 0 when every row validated."""
    would: dict[str, int] = {}
    for m in result.modules:
        for op, n in m.would.items():
            would[op] = would.get(op, 0) + n
    told = ", ".join(f"{op} {n:,}" for op, n in would.items()) or "nothing to write"
    errc.print(f"dry run: nothing was written; would {told}" +
               (f"; per-row report: {result.report_path}" if result.report_path else ""), markup=False,
               highlight=False)
    style = "red" if on_tty else None
    for m in (m for m in result.modules if m.error):
        errc.print(f"{m.module} failed: {m.error}", style=style, markup=False, highlight=False)
    if result.rows_failed:
        errc.print(f"{result.rows_failed:,} rows would not be written (see the report); fix them, then run "
                   "without DryRun", style=style, markup=False, highlight=False)
    if not result.ok:
        raise SystemExit(EXIT_PARTIAL)


def _close(*parts: Source | Target | None) -> None:
    """Close the target, then the source; a second Ctrl-C while closing must not skip the other."""
    for part in parts:
        if part is not None:
            try:
                part.close()
            except Exception:  # noqa: BLE001 - closing after a failure: the first error is the one to show
                logging.getLogger("connector.cli").debug("closing %r failed", part, exc_info=True)
