"""``zohocrm query "SQL"``: one statement over Zoho, results on stdout (or --output), progress on stderr.

Formats: ``table`` (for people), ``csv``, ``json`` (one object per line) and
``parquet``; csv, json and parquet stream batch by batch, so a large read never
sits in memory whole. ``EXPLAIN <query>`` prints the plan as text in table
format. INSERT / UPDATE / DELETE print the per-row write report; it is also
kept in a file (``--report``, else a temporary file) and the command exits 1
when any row failed, saying where that file is.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import click

from .common import connection_option, err, friendly_errors, resolve_connection

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


# ---- output formats -----------------------------------------------------------------------------


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        f = float(v)
        return f if Decimal(repr(f)) == v else str(v)  # a number when exact, else the exact text
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return v


def _csv_ready(batch: Any) -> Any:
    """Nested values (multi-select lists) as JSON text: CSV has no lists."""
    import pyarrow as pa

    cols, changed = [], False
    for col in batch.columns:
        if pa.types.is_nested(col.type):
            changed = True
            col = pa.array([None if v is None else json.dumps(_json_value(v), ensure_ascii=False)
                            for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names) if changed else batch


def write_csv(reader: Any, out: IO[bytes]) -> int:
    import pyarrow.csv as pcsv

    writer = None
    rows = 0
    for batch in reader:
        batch = _csv_ready(batch)
        if writer is None:
            writer = pcsv.CSVWriter(out, batch.schema)
        writer.write_batch(batch)
        rows += batch.num_rows
    if writer is None:  # no rows: still the header
        import pyarrow as pa

        empty = _csv_ready(pa.RecordBatch.from_pylist([], schema=reader.schema))
        writer = pcsv.CSVWriter(out, empty.schema)
    writer.close()
    return rows


def write_json(reader: Any, out: IO[bytes]) -> int:
    rows = 0
    for batch in reader:
        for row in batch.to_pylist():
            out.write(json.dumps(_json_value(row), ensure_ascii=False).encode() + b"\n")
            rows += 1
    return rows


def write_parquet(reader: Any, out: IO[bytes]) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def write_table(reader: Any, out: IO[bytes], terminal: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name in reader.schema.names:
        table.add_column(name)
    rows = 0
    for batch in reader:
        for row in zip(*[c.to_pylist() for c in batch.columns], strict=True):
            table.add_row(*["" if v is None else str(_json_value(v)) for v in row])
            rows += 1
    buf = io.StringIO()
    # Off a terminal, never wrap or cut a column: the text may be read by a program.
    width = shutil.get_terminal_size().columns if terminal else 100_000
    console = Console(file=buf, width=width, force_terminal=terminal, color_system="auto" if terminal else None)
    console.print(table)
    console.print(f"({rows:,} row{'' if rows == 1 else 's'})", style="dim")
    out.write(buf.getvalue().encode())
    return rows


def _emit(reader: Any, fmt: str, out: IO[bytes], terminal: bool) -> int:
    if fmt == "csv":
        return write_csv(reader, out)
    if fmt == "json":
        return write_json(reader, out)
    if fmt == "parquet":
        return write_parquet(reader, out)
    return write_table(reader, out, terminal)


def _default_report() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(tempfile.gettempdir()) / "zohocrm-reports" / f"write-{stamp}-{time.monotonic_ns() % 10**6}.csv"


def _sql_text(sql: str) -> str:
    if sql == "-":
        return sys.stdin.read()
    return sql


@click.command()
@connection_option
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table for people; csv, json (one object per line) and parquet stream")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="write results here, not stdout")
@click.option("--api", type=click.Choice(APIS, case_sensitive=False), default=None,
              help="force one read API for every table (default: the connection's APIType, Auto)")
@click.option("--report", type=click.Path(dir_okay=False, writable=True),
              help="INSERT/UPDATE/DELETE: keep the per-row report here (.csv or .parquet)")
@click.argument("sql")
def query(connection: str | None, fmt: str, output: str | None, api: str | None, report: str | None,
          sql: str) -> None:
    """Run one SQL statement over Zoho (SELECT, EXPLAIN, SHOW TABLES, DESCRIBE, INSERT, UPDATE, DELETE).

    SQL is DuckDB's dialect; tables are module api names (Leads, Deals...). Use - to read it from stdin.
    """
    from connector.config import parse_connection_string
    from connector.engine.executor import Engine
    from connector.session import ZohoSession

    text = _sql_text(sql)
    with friendly_errors():
        config = parse_connection_string(resolve_connection(connection))
        if api:
            config = config.replace(api_type=next(a for a in APIS if a.lower() == api.lower()))
        with ZohoSession(config) as session:
            progress = ReadProgress(session.http.meter)
            engine = Engine(session, progress=progress)
            report_path = Path(report) if report else _default_report()
            try:
                result = engine.run(text, report_path=report_path)
                terminal = output is None and sys.stdout.isatty()
                if fmt == "parquet" and terminal:
                    raise click.UsageError("parquet is binary: pass --output FILE or redirect stdout")
                with _open_output(output) as out:
                    if result.kind == "explain" and fmt == "table":
                        out.write((result.explain_text or "").encode() + b"\n")
                        rows = len(result.plan.scans) if result.plan else 0
                    else:
                        rows = _emit(result.reader, fmt, out, terminal)
            finally:
                progress.stop()
            _finish(result, rows, session.http.meter.total)


class _open_output:  # noqa: N801 - used as a context manager
    def __init__(self, output: str | None) -> None:
        self.output = output
        self.fh: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self.output is None:
            sys.stdout.flush()
            return sys.stdout.buffer
        self.fh = open(self.output, "wb")  # noqa: SIM115 - closed in __exit__
        return self.fh

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()
        else:
            sys.stdout.buffer.flush()


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
