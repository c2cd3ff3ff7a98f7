"""``zohocrm query "SQL"``: one statement over Zoho, results on stdout (or --output), progress on stderr.

Formats (:mod:`.query_output`): ``table`` (for people), ``csv``, ``json`` (one
object per line) and ``parquet``. ``EXPLAIN <query>`` prints the plan as text in
table format. INSERT / UPDATE / DELETE print the per-row write report; it is also
kept in a file (``--report``, else a new file under the user's state folder,
``$XDG_STATE_HOME/zohocrm/reports``) and the command exits 1 when any row failed,
saying where that file is.

Local paths (``-o``, ``--report``) are checked before any Zoho call. Ctrl-C and
SIGTERM stop the statement within a fraction of a second (:mod:`.query_stop`),
say in one line what was kept, and exit 130 / 143.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from connector.errors import FileAccessError
from connector.localfs import check_path_text, private_dir

from .common import Terminated, connection_option, err, exit_status, friendly_errors, resolve_connection
from .query_output import OutputFile, emit, open_beside, write_all
from .query_stop import stop_on_signals

if TYPE_CHECKING:
    from connector.planning.statement import Statement

FORMATS = ("table", "csv", "json", "parquet")
APIS = ("Auto", "REST", "COQL", "Bulk", "Search")
PROGRESS_AFTER_S = 0.5  # short reads show no progress display at all


class ReadProgress:
    """A rich progress display on stderr: rows per table, rows/s and credits (only on a terminal)."""

    def __init__(self, meter: Any) -> None:
        from rich.console import Console

        self.meter = meter
        self.console = Console(stderr=True)
        self.enabled = self.console.is_terminal
        self.started = time.monotonic()
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()

    def __call__(self, module: str, rows: int) -> None:
        """Reader callback (any thread): ``rows`` read so far from ``module``."""
        if not self.enabled:
            return
        with self.lock:
            if self.progress is None:
                if time.monotonic() - self.started < PROGRESS_AFTER_S:
                    return
                from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

                self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                         TextColumn("{task.completed:,.0f} rows"),
                                         TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[credits]}"),
                                         TimeElapsedColumn(), console=self.console, transient=True)
                self.progress.start()
            task = self.tasks.get(module)
            if task is None:
                task = self.tasks[module] = self.progress.add_task(module, total=None, rate="", credits="")
            elapsed = max(time.monotonic() - self.started, 1e-6)
            self.progress.update(task, completed=rows, rate=f"{rows / elapsed:,.0f} rows/s",
                                 credits=f"{self.meter.total:,} credits")

    def stop(self) -> None:
        with self.lock:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None


# ---- the per-row report of a write -------------------------------------------------------------


def state_home() -> Path:
    """``$XDG_STATE_HOME/zohocrm`` (default ``~/.local/state/zohocrm``): files kept between runs."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"  # relative: ignored
    return root / "zohocrm"


def default_report() -> Path:
    """A new report file in the user's state folder (made 0700); the path is said when the write ends."""
    folder = private_dir(state_home() / "reports", "folder for write reports", setting="--report")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"write-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6}.csv"


def check_report(report: str) -> Path:
    """``--report PATH``, checked before any Zoho call: a .csv or .parquet file whose folder takes files."""
    path = check_path_text(report, "per-row write report", "--report")
    if path.is_dir():
        raise FileAccessError(f"cannot write the per-row write report at {path}: it is a folder, not a file",
                              hint="give a file name inside that folder with --report")
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise click.UsageError(f"--report {report}: the report is written as CSV or Parquet, so the name must end "
                               "in .csv or .parquet")
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    open_beside(probe, path, "per-row write report", "--report").close()  # folder made 0700 if missing
    probe.unlink(missing_ok=True)
    return path


def _sql_text(sql: str) -> str:
    if sql == "-":
        return sys.stdin.read()
    return sql


@click.command()
@connection_option
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table for people (the first 1,000 rows); csv, json (one object per line) and parquet "
                   "stream every row")
@click.option("--output", "-o", metavar="FILE", help="write results here (0600), not stdout")
@click.option("--api", type=click.Choice(APIS, case_sensitive=False), default=None,
              help="force one read API for every table (default: the connection's APIType, Auto)")
@click.option("--report", metavar="FILE",
              help="INSERT/UPDATE/DELETE: keep the per-row report here (.csv or .parquet; default: a new file "
                   "under $XDG_STATE_HOME/zohocrm/reports)")
@click.argument("sql")
def query(connection: str | None, fmt: str, output: str | None, api: str | None, report: str | None,
          sql: str) -> None:
    """Run one SQL statement over Zoho (SELECT, EXPLAIN, SHOW TABLES, DESCRIBE, INSERT, UPDATE, DELETE).

    SQL is DuckDB's dialect; tables are module api names (Leads, Deals...). Use - to read it from stdin.
    """
    from connector.config import parse_connection_string
    from connector.planning.statement import read_statement

    text = _sql_text(sql)
    with friendly_errors():
        config = parse_connection_string(resolve_connection(connection))
        if api:
            config = config.replace(api_type=next(a for a in APIS if a.lower() == api.lower()))
        statement = read_statement(text)  # read once: its kind now, its tree for the engine
        kind = statement.kind
        terminal = output is None and sys.stdout.isatty()
        if fmt == "parquet" and terminal:
            raise click.UsageError("parquet is binary: pass --output FILE or redirect stdout")
        # Everything local is checked before the first Zoho call: a bad path costs no credits.
        writing = kind in ("insert", "update", "delete")
        report_path = check_report(report) if report else default_report() if writing else None
        target = OutputFile(output) if output else None
        try:
            _run(config, statement, fmt, target, terminal, report_path)
        finally:
            if target is not None:
                target.discard()  # after commit() there is nothing left to discard


def _run(config: Any, statement: Statement, fmt: str, target: OutputFile | None, terminal: bool,
         report_path: Path | None) -> None:
    from connector.engine.executor import Engine
    from connector.session import ZohoSession

    with ZohoSession(config) as session:
        progress = ReadProgress(session.http.meter)
        engine = Engine(session, progress=progress)
        try:
            with stop_on_signals(engine):
                result = engine.run(statement, report_path=report_path)
                out = target.fh if target is not None else _stdout()
                if result.kind == "explain" and fmt == "table":
                    write_all(out, (result.explain_text or "").encode() + b"\n")
                    rows = len(result.plan.scans) if result.plan else 0
                else:
                    rows = emit(result.reader, fmt, out, terminal)
                out.flush()
                if target is not None:
                    target.commit()
        except KeyboardInterrupt as exc:
            progress.stop()
            _stopped(exc, statement.kind, report_path, target)
        finally:
            progress.stop()
            engine.close()  # anything still reading stops now (a closed pipe, an error)
        _finish(result, rows, session.http.meter.total)


def _stdout() -> IO[bytes]:
    sys.stdout.flush()
    return sys.stdout.buffer


def _stopped(exc: KeyboardInterrupt, kind: str, report_path: Path | None, target: OutputFile | None) -> NoReturn:
    """One line saying what stopped and what was kept, then the exit status of the signal (130/143)."""
    how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted (Ctrl-C)"
    if kind not in ("insert", "update", "delete"):
        kept = " and no output file was written" if target is not None else ""
        err(f"{how}: the query stopped; nothing was changed in Zoho{kept}")
        sys.exit(exit_status(exc))
    from connector.errors import ConnectorError
    from connector.writers import WriteReport

    try:
        rep = WriteReport.read(report_path) if report_path is not None else None
    except ConnectorError:  # stopped before the write began: no report was started
        rep = None
    if rep is None or not len(rep):
        err(f"{how}: the {kind} stopped before writing anything; nothing was changed in Zoho")
    else:
        counts = ", ".join(f"{k}={v}" for k, v in rep.summary().items() if k != "total")
        err(f"{how}: the {kind} stopped with {rep.rowcount:,} of {len(rep):,} rows written ({counts}); "
            f"per-row report: {report_path}")
    sys.exit(exit_status(exc))


def _finish(result: Any, rows: int, credits: int) -> None:
    """A summary on stderr; exit 1 when a write left rows failed."""
    rep = result.report
    if rep is None:
        if result.kind == "query":
            err(f"{rows:,} row{'' if rows == 1 else 's'}, {credits:,} credits")
        return
    counts = ", ".join(f"{k}={v}" for k, v in rep.summary().items() if k != "total")
    where = f"; per-row report: {rep.path}" if rep.path else ""
    err(f"{result.kind} {rep.module}: {counts or 'no rows'} (rowcount {result.rowcount}){where}")
    if not rep.ok:
        failed = rep.failed_rows().num_rows
        err(f"error: {failed} row{'' if failed == 1 else 's'} not written; see {rep.path or 'the report above'}")
        sys.exit(1)
