"""``zohocrm demo``: the first thing a new user runs — no Zoho account needed.

Starts the embedded emulator, migrates every module into a local DuckDB file
with progress bars, changes some records in the "CRM" and runs an incremental
sync, then answers a few questions in SQL and says where everything is.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import requests
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

QUESTIONS = [
    ("Leads by source (top 5)",
     'SELECT Lead_Source, count(*) AS leads, count(*) FILTER (WHERE Converted__s) AS converted '
     'FROM "Leads" GROUP BY 1 ORDER BY leads DESC LIMIT 5'),
    ("Open pipeline by stage",
     'SELECT Stage, count(*) AS deals, sum(Amount) AS amount, round(avg(Probability), 1) AS avg_probability '
     'FROM "Deals" WHERE Stage NOT LIKE \'Closed%\' GROUP BY 1 ORDER BY amount DESC NULLS LAST'),
    ("Accounts with the most contacts (a join across modules)",
     'SELECT a.Account_Name, count(c.id) AS contacts, a.Industry FROM "Accounts" a '
     'JOIN "Contacts" c ON c.Account_Name_Id = a.id GROUP BY a.Account_Name, a.Industry '
     'ORDER BY contacts DESC, a.Account_Name LIMIT 5'),
    ("Task load per owner",
     'SELECT Owner_Name, count(*) FILTER (WHERE Status <> \'Completed\') AS open_tasks, count(*) AS all_tasks '
     'FROM "Tasks" GROUP BY 1 ORDER BY open_tasks DESC'),
]


def _table(con: Any, title: str, sql: str) -> Table:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in cols:
        t.add_column(c)
    for row in cur.fetchall():
        t.add_row(*["" if v is None else (f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in row])
    return t


@click.command()
@click.option("--records", default=20_000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="size of the emulated org")
@click.option("--dir", "out_dir", default="zohocrm-demo", show_default=True, type=click.Path(file_okay=False),
              help="where the DuckDB file goes")
@click.option("--seed", default=42, show_default=True, type=int)
def demo(records: int, out_dir: str, seed: int) -> None:
    """Emulator -> DuckDB migration -> changes -> incremental sync -> SQL. Offline, about a minute."""
    from connector.emulator import Emulator
    from connector.session import ZohoSession
    from connector.sync.runner import run
    from connector.sync.source_zoho import ZohoSource
    from connector.sync.target_duckdb import DuckDBTarget

    err = Console(stderr=True)
    out = Console()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "zoho.duckdb"
    if db_path.exists():
        db_path.unlink()
    started = time.monotonic()
    err.print(f"[bold]1.[/bold] Starting a local Zoho CRM emulator with {records:,} records (seed {seed}) ...")
    with Emulator(records=records, seed=seed) as emu:
        err.print(f"   accounts server and API at {emu.origin} (OAuth, REST, COQL, Bulk — all local)")
        session = ZohoSession(emu.connection_string)
        source = ZohoSource(session)
        target = DuckDBTarget(db_path)
        err.print(f"[bold]2.[/bold] Migrating every module into {db_path} ...")
        result = _run_with_bars(err, run, source, target, incremental=False)
        _summary(err, result, "full load")
        err.print("[bold]3.[/bold] Changing the CRM: creating, updating and deleting records in Leads, "
                  "Contacts and Deals ...")
        changed = _mutate(emu.origin)
        err.print(f"   {changed}")
        err.print("[bold]4.[/bold] Incremental sync (only what changed since the watermark) ...")
        inc = _run_with_bars(err, run, source, target, incremental=True)
        _summary(err, inc, "incremental")
        credits = session.http.meter.snapshot()["credits"]
        target.close()
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    err.print("[bold]5.[/bold] Asking questions in plain SQL:")
    for title, sql in QUESTIONS:
        out.print(_table(con, title, sql))
    con.close()
    err.print(f"\nDone in {time.monotonic() - started:.0f} s, {credits:,} API credits used.")
    err.print(f"Your data: [bold]{db_path.resolve()}[/bold] — open it with `duckdb {db_path}` or pandas.")
    err.print("Next: `zohocrm emulator` to keep a local CRM running, `zohocrm query -c ... \"SELECT ...\"` "
              "for live SQL, `zohocrm migrate --incremental` on a schedule. See README.md.")


def _run_with_bars(err: Console, run: Any, source: Any, target: Any, *, incremental: bool) -> Any:
    with Progress(TextColumn("   {task.description:<22}"), BarColumn(bar_width=30),
                  TextColumn("{task.fields[rows]:>9,} rows"), TextColumn("{task.fields[rate]:>9} rows/s"),
                  TimeElapsedColumn(), console=err, transient=False) as bars:
        tasks: dict[str, Any] = {}
        t0: dict[str, float] = {}

        def progress(module: str, phase: str, rows: int) -> None:
            if module not in tasks:
                tasks[module] = bars.add_task(module, total=None, rows=0, rate="")
                t0[module] = time.monotonic()
            dt = max(1e-3, time.monotonic() - t0[module])
            bars.update(tasks[module], rows=rows, rate=f"{rows / dt:,.0f}")

        result = run(source, target, incremental=incremental, progress=progress)
        for module, task in tasks.items():
            bars.update(task, total=1, completed=1)
        return result


def _summary(err: Console, result: Any, label: str) -> None:
    written = sum(m.rows_written for m in result.modules)
    deleted = sum(m.rows_deleted for m in result.modules)
    failed = [m for m in result.modules if m.error]
    err.print(f"   {label}: {written:,} rows written, {deleted:,} deleted across {len(result.modules)} modules")
    for m in failed:
        err.print(f"   [red]{m.module} failed: {m.error}[/red]")
    if failed:
        raise SystemExit(1)


def _mutate(origin: str) -> str:
    parts = []
    for module, spec in (("Leads", {"creates": 25, "updates": 40, "deletes": 5}),
                         ("Contacts", {"creates": 10, "updates": 15, "deletes": 3}),
                         ("Deals", {"creates": 5, "updates": 20, "deletes": 2})):
        r = requests.post(f"{origin}/__emulator/mutate", json={"module": module, **spec, "seed": 7}, timeout=60)
        r.raise_for_status()
        body = r.json()
        parts.append(f"{module}: +{len(body['created'])} ~{len(body['updated'])} -{len(body['deleted'])}")
    return "; ".join(parts)
