"""``zohocrm migrate``: copy modules between Zoho, DuckDB, Parquet and CSV, once or incrementally.

Progress bars (rows, rows/s, credits) go to stderr, the summary table to
stdout; the exit status is 0 only when every module ran and every row landed,
and the message then says where the per-row report is.
"""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .common import friendly_errors, resolve_connection

SCHEMES = ("duckdb:", "parquet:", "csv:", "zoho:")


def endpoint(value: str) -> str:
    """A backend URL as given, or a connection string (inline, ``@file``, or a file path)."""
    text = value.strip()
    if text.lower().startswith(SCHEMES) and not text.startswith("@"):
        return text
    return resolve_connection(text)


class ProgressBars:
    """One bar per module: rows so far, rows/s, and the credits spent while it ran."""

    def __init__(self, console: Console, meter: Any) -> None:
        self.meter = meter
        self.bars = Progress(TextColumn("  {task.description:<22}"), BarColumn(bar_width=24),
                             TextColumn("{task.fields[rows]:>10,} rows"), TextColumn("{task.fields[rate]:>8} rows/s"),
                             TextColumn("{task.fields[credits]:>7,} credits"), TimeElapsedColumn(),
                             console=console, transient=False)
        self.tasks: dict[str, Any] = {}
        self.t0: dict[str, float] = {}
        self.c0: dict[str, int] = {}
        self.last = meter()
        self.last_t = time.monotonic()
        self.rows: dict[str, dict[str, int]] = {}

    def __enter__(self) -> ProgressBars:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for task in self.tasks.values():
            self.bars.update(task, total=1, completed=1)
        self.bars.__exit__(None, None, None)

    def __call__(self, module: str, phase: str, rows: int) -> None:
        now = self.meter()
        if module not in self.tasks:
            for task in self.tasks.values():  # modules run one after another: the last one is done
                self.bars.update(task, total=1, completed=1)
            self.tasks[module] = self.bars.add_task(module, total=None, rows=0, rate="", credits=0)
            # The module's first calls (a Bulk job, a first page) came before its first report:
            # time and credits count from the previous report.
            self.t0[module], self.c0[module] = self.last_t, self.last
        self.last, self.last_t = now, time.monotonic()
        # A Zoho target reports rows written after rows read: once writing, the bar shows those.
        seen = self.rows.setdefault(module, {})
        seen[phase] = rows
        shown = seen.get("write", rows)
        dt = time.monotonic() - self.t0[module]
        self.bars.update(self.tasks[module], rows=shown, rate=f"{shown / dt:,.0f}" if dt > 0.05 else "",
                         credits=now - self.c0[module])


def summary_table(result: Any) -> Table:
    t = Table(title="migration summary", title_justify="left")
    for col in ("module", "mode", "read", "written", "deleted", "failed", "formulas", "seconds", "error"):
        t.add_column(col, justify="right" if col not in ("module", "mode", "error") else "left")
    for m in result.modules:
        t.add_row(m.module, m.mode, f"{m.rows_read:,}", f"{m.rows_written:,}", f"{m.rows_deleted:,}",
                  f"{m.rows_failed:,}", f"{m.formulas_refreshed:,}", f"{m.seconds:.1f}", m.error or "")
    return t


@click.command()
@click.option("--source", required=True, metavar="URL|STRING|@FILE",
              help="a Zoho connection string (or @file), duckdb:PATH, parquet:DIR or csv:DIR")
@click.option("--target", required=True, metavar="URL|STRING|@FILE", help="same forms as --source")
@click.option("--modules", default=None, metavar="A,B", help="modules to copy (default: every module of the source)")
@click.option("--incremental", is_flag=True, help="after the first full load, copy only changes and deletes")
@click.option("--mode", type=click.Choice(["insert", "upsert"]), default="insert", show_default=True,
              help="Zoho targets: how rows not migrated before are written")
@click.option("--key", default=None, metavar="FIELD", help="Zoho targets: upsert/match field, e.g. Email")
@click.option("--refresh-formulas", is_flag=True,
              help="re-read formula and rollup fields (they change without Modified_Time moving)")
@click.option("--state", "state_path", default=None, metavar="PATH",
              help="Zoho targets: the sync state file (id map, watermarks); default next to the token store "
                   "or under ~/.zohocrm/sync/")
@click.option("--write-api", type=click.Choice(["auto", "rest", "bulk"]), default="auto", show_default=True,
              help="Zoho targets: REST, Bulk Write, or the cheaper in credits per batch")
@click.option("--source-id-field", default=None, metavar="FIELD",
              help="Zoho targets: a text field that receives the source id (lets a lost answer be matched)")
@click.option("--report-dir", default=None, metavar="DIR", help="where the per-row report of failed rows goes")
def migrate(source: str, target: str, modules: str | None, incremental: bool, mode: str, key: str | None,
            refresh_formulas: bool, state_path: str | None, write_api: str, source_id_field: str | None,
            report_dir: str | None) -> None:
    """Copy modules from --source to --target; with --incremental, only what changed since the last run."""
    from connector.sync import open_source, open_target, run

    err = Console(stderr=True)
    out = Console()
    started = time.monotonic()
    with friendly_errors():
        src = open_source(endpoint(source))
        try:
            tgt = open_target(endpoint(target), mode=mode, key=key, state_path=state_path, write_api=write_api,
                              source_id_field=source_id_field, report_dir=report_dir)
        except BaseException:
            src.close()
            raise
        try:
            def meter() -> int:
                return sum(int(p.credits()) for p in (src, tgt) if hasattr(p, "credits"))

            err.print(f"[bold]migrate[/bold] {src!r} -> {tgt!r}" + (" (incremental)" if incremental else ""))
            with ProgressBars(err, meter) as bars:
                result = run(src, tgt, modules=[m.strip() for m in modules.split(",") if m.strip()] if modules
                             else None, incremental=incremental, progress=bars, refresh_formulas=refresh_formulas)
        finally:
            tgt.close()
            src.close()
    out.print(summary_table(result))
    for note in result.notes + [f"{m.module}: {n}" for m in result.modules for n in m.notes]:
        err.print(f"note: {note}")
    err.print(f"{result.rows_written:,} rows written, {result.credits:,} credits, "
              f"{time.monotonic() - started:.1f} s")
    if result.dry_run:
        _dry_run_summary(err, result)
        return
    if not result.ok:
        failed = [m for m in result.modules if m.error]
        for m in failed:
            err.print(f"[red]{m.module} failed: {m.error}[/red]")
        if result.rows_failed:
            err.print(f"[red]{result.rows_failed:,} rows were not written; per-row report: "
                      f"{result.report_path}[/red] (fix them and run again: only what is missing is written)")
        raise SystemExit(1)


def _dry_run_summary(err: Console, result: Any) -> None:
    """DryRun=true on the target: what would have been written; exit 0 when every row validated."""
    would: dict[str, int] = {}
    for m in result.modules:
        for op, n in m.would.items():
            would[op] = would.get(op, 0) + n
    told = ", ".join(f"{op} {n:,}" for op, n in would.items()) or "nothing to write"
    err.print(f"dry run: nothing was written; would {told}" +
              (f"; per-row report: {result.report_path}" if result.report_path else ""))
    failed = [m for m in result.modules if m.error]
    for m in failed:
        err.print(f"[red]{m.module} failed: {m.error}[/red]")
    if result.rows_failed:
        err.print(f"[red]{result.rows_failed:,} rows would not be written (see the report); fix them, then run "
                  "without DryRun[/red]")
    if not result.ok:
        raise SystemExit(1)
