"""What ``zohocrm migrate`` shows: progress (bars on a terminal, plain lines off one), the summary
table, the ``--json`` document, and what an interrupted run kept and how to resume it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:  # loaded with the migrate command, which ``zohocrm --help`` lists without the sync engine
    from connector.sync.contract import Target
    from connector.sync.runner import MigrationResult

#: credits so far of the run's calls for a module (wherever and whenever they were made: read ahead, or
#: asked beside the run's metadata), or of all its calls (None)
Meter = Callable[[str | None], int]


class ProgressBars:
    """One bar per module: rows so far, rows/s, and the credits of its calls."""

    def __init__(self, console: Console, meter: Meter) -> None:
        self.meter = meter
        self.bars = Progress(TextColumn("  {task.description:<22}"), BarColumn(bar_width=24),
                             TextColumn("{task.fields[rows]:>10,} rows"), TextColumn("{task.fields[rate]:>8} rows/s"),
                             TextColumn("{task.fields[credits]:>7,} credits"), TimeElapsedColumn(),
                             console=console, transient=False)
        self.tasks: dict[str, Any] = {}
        self.t0: dict[str, float] = {}
        self.last_t = time.monotonic()
        self.rows: dict[str, dict[str, int]] = {}

    def __enter__(self) -> ProgressBars:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.bars.__exit__(None, None, None)

    def _finish(self) -> None:
        """Every bar so far done, with its module's credits as they are now (files fetched after its last rows)."""
        for module, task in self.tasks.items():
            self.bars.update(task, total=1, completed=1, credits=self.meter(module))

    def __call__(self, module: str, phase: str, rows: int) -> None:
        if module not in self.tasks:
            self._finish()  # modules run one after another: the last one is done
            self.tasks[module] = self.bars.add_task(module, total=None, rows=0, rate="", credits=0)
            # The module's first calls (a Bulk job, a first page) came before its first report: time counts
            # from the previous report; its credits are its own calls', whenever they were made.
            self.t0[module] = self.last_t
        self.last_t = time.monotonic()
        # A Zoho target reports rows written after rows read: once writing, the bar shows those.
        seen = self.rows.setdefault(module, {})
        seen[phase] = rows
        shown = seen.get("write", rows)
        dt = time.monotonic() - self.t0[module]
        self.bars.update(self.tasks[module], rows=shown, rate=f"{shown / dt:,.0f}" if dt > 0.05 else "",
                         credits=self.meter(module))


class PlainProgress:
    """Off a terminal (cron, CI, a scheduler's log): plain lines, one per module at least every ``every`` s.

    ``Leads: 40,000 rows, 3,900 rows/s, 120 credits, 10 s`` — also while nothing arrives (a Bulk
    job being prepared), so a log shows the run is alive; and a last line when the module is done.
    """

    def __init__(self, stream: IO[str], meter: Meter, every: float) -> None:
        self.stream, self.meter, self.every = stream, meter, every
        self.lock = threading.Lock()
        self.module: str | None = None
        self.rows = 0
        self.phases: dict[str, int] = {}
        self.t0 = self.last_line = time.monotonic()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="migrate-progress", daemon=True)

    def __enter__(self) -> PlainProgress:
        if self.every > 0:
            self.ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        with self.lock:
            if self.module is not None and exc[0] is None:
                self._line("done")

    def __call__(self, module: str, phase: str, rows: int) -> None:
        with self.lock:
            if module != self.module:
                if self.module is not None:
                    self._line("done")
                self.module, self.phases = module, {}
                self.t0 = time.monotonic()  # the runner reports "start" first
            self.phases[phase] = rows
            self.rows = self.phases.get("write", rows)  # a Zoho target: rows written, once writing
            if time.monotonic() - self.last_line >= self.every:
                self._line()

    def _tick(self) -> None:
        while not self.stop.wait(min(self.every, 1.0)):
            with self.lock:
                if self.module is not None and time.monotonic() - self.last_line >= self.every:
                    self._line()

    def _line(self, state: str = "") -> None:
        now = time.monotonic()
        dt = max(now - self.t0, 1e-9)
        credits = self.meter(self.module)
        tail = f", {state}" if state else ""
        self.stream.write(f"{self.module}: {self.rows:,} rows, {self.rows / dt:,.0f} rows/s, {credits:,} credits, "
                          f"{dt:,.0f} s{tail}\n")
        self.stream.flush()
        self.last_line = now


def summary_table(result: MigrationResult) -> Table:
    t = Table(title="migration summary", title_justify="left")
    cols = ("module", "mode", "read", "written", "deleted", "failed", "deferred", "formulas", "credits", "seconds",
            "error")
    for col in cols:
        t.add_column(col, justify="left" if col in ("module", "mode", "error") else "right")
    for m in result.modules:
        t.add_row(m.module, m.mode, f"{m.rows_read:,}", f"{m.rows_written:,}", f"{m.rows_deleted:,}",
                  f"{m.rows_failed:,}", f"{m.rows_deferred:,}", f"{m.formulas_refreshed:,}", f"{m.credits:,}",
                  f"{m.seconds:.1f}", m.error or "")
    return t


def deferred_notes(result: MigrationResult) -> list[str]:
    return [f"{m.module}: {m.rows_deferred:,} rows changed after the run started were read but left for the next "
            "run (deferred), which takes them whole" for m in result.modules if m.rows_deferred]


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def interruption_text(word: str, partial: MigrationResult | None, target: Target | None, incremental: bool) -> str:
    """``interrupted: Leads and Accounts were loaded and kept; Deals was not committed — run ... to resume``."""
    again = ("run the same command again to resume" if incremental else
             "run the same command with --incremental to resume from there (without it, everything loads again)")
    if partial is None:
        return f"{word} before the migration started; nothing was written — run the same command again"
    kept = [m.module for m in partial.modules if m.error is None]
    failed = [m.module for m in partial.modules if m.error is not None]
    parts = []
    if kept:
        parts.append(f"{_names(kept)} {'was' if len(kept) == 1 else 'were'} loaded and kept")
    if failed:
        parts.append(f"{_names(failed)} failed before the stop")
    from connector.sync.runner import SECOND_PASS

    current = partial.interrupted_in
    if current == SECOND_PASS:
        parts.append("some lookups that wait for their record were not set yet")
    elif current is not None and target is not None and target.scheme == "zoho":
        sent = target.module_stats(current).sent
        parts.append(f"{current} stopped part way: the {sent:,} rows it had sent are recorded and will not be sent "
                     "twice" if sent else f"{current} stopped before its first batch was recorded")
    elif current is not None:
        parts.append(f"{current} was not committed (the target keeps what it had before)")
    done = {m.module for m in partial.modules} | ({current} if current else set())
    waiting = [m for m in partial.planned if m not in done]
    if waiting:
        parts.append(f"{_names(waiting)} {'was' if len(waiting) == 1 else 'were'} not started")
    return f"{word}: {'; '.join(parts) or 'nothing was written'} — {again}"


def module_document(m: Any, report_path: str | None) -> dict[str, Any]:
    return {"module": m.module, "mode": m.mode, "rows_read": m.rows_read, "rows_written": m.rows_written,
            "rows_deleted": m.rows_deleted, "rows_failed": m.rows_failed, "rows_deferred": m.rows_deferred,
            "formulas_refreshed": m.formulas_refreshed, "lookups_cleared": m.lookups_cleared, "credits": m.credits,
            "seconds": round(m.seconds, 3), "error": m.error, "notes": list(m.notes),
            "report_path": report_path if m.rows_failed else None}


def result_document(result: MigrationResult | None, *, source: str, target: str, incremental: bool,
                    seconds: float, exit_status: int, error: BaseException | None = None,
                    interrupted: str | None = None) -> dict[str, Any]:
    """The ``--json`` answer: per module and in total, with the exit status and why."""
    modules = [module_document(m, result.report_path) for m in result.modules] if result else []
    totals: dict[str, Any] = {k: sum(int(m[k]) for m in modules) for k in (
        "rows_read", "rows_written", "rows_deleted", "rows_failed", "rows_deferred", "formulas_refreshed")}
    totals["credits"] = result.credits if result else 0
    totals["seconds"] = round(seconds, 3)
    doc: dict[str, Any] = {
        "ok": exit_status == 0, "exit_status": exit_status, "source": source, "target": target,
        "incremental": incremental, "started_at": result.started_at.isoformat() if result and result.started_at
        else None, "modules": modules, "totals": totals, "report_path": result.report_path if result else None,
        "notes": list(result.notes) if result else [], "error": None, "interrupted": None}
    if error is not None and interrupted is None:
        doc["error"] = {"type": type(error).__name__, "message": getattr(error, "message", str(error)),
                        "hint": getattr(error, "hint", None)}
    if interrupted is not None:
        doc["interrupted"] = {"in_module": result.interrupted_in if result else None,
                              "not_started": [m for m in result.planned if m not in
                                              {x.module for x in result.modules} | {result.interrupted_in}]
                              if result else [], "message": interrupted}
    return doc
