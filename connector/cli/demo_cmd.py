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

    from .migrate_cmd import ProgressBars

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
        target = DuckDBTarget(db_path)
        meter = session.http.meter

        def credits() -> int:
            return int(meter.total)

        # The first load of a whole org is what Bulk Read is for: one export job per module.
        err.print(f"[bold]2.[/bold] Full load of every module into {db_path} (Bulk Read: one export job per "
                  "module) ...")
        t0, c0 = time.monotonic(), credits()
        with ProgressBars(err, credits) as bars:
            full = run(ZohoSource(session, api_type="Bulk"), target, progress=bars)
        _summary(err, full, "full load", time.monotonic() - t0, credits() - c0)
        err.print("[bold]3.[/bold] Changing the CRM: creating, updating and deleting records in Leads, "
                  "Contacts and Deals ...")
        changed = _mutate(emu.origin)
        err.print(f"   {changed}")
        # Zoho timestamps have whole seconds and a sync never takes the current second (it may
        # still be changing); the emulator's clock moves on so the changes are settled.
        emu.advance_clock(2)
        err.print("[bold]4.[/bold] Incremental sync: COQL for rows with Modified_Time >= the watermark, "
                  "/deleted for deletions ...")
        t0, c0 = time.monotonic(), credits()
        with ProgressBars(err, credits) as bars:
            inc = run(ZohoSource(session), target, incremental=True, progress=bars)
        _summary(err, inc, "incremental", time.monotonic() - t0, credits() - c0)
        total_credits = credits()
        target.close()
        session.close()
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    err.print("[bold]5.[/bold] Asking questions in plain SQL:")
    for title, sql in QUESTIONS:
        out.print(_table(con, title, sql))
    con.close()
    err.print(f"\nDone in {time.monotonic() - started:.0f} s, {total_credits:,} API credits used "
              f"(a real Enterprise org has at least 50,000 a day).")
    err.print(f"Your data: [bold]{db_path.resolve()}[/bold] — open it with `duckdb {db_path}` or pandas; "
              "the sync state (watermarks per module) is in its _zohocrm_state table.")
    err.print("Next: `zohocrm emulator` to keep a local CRM running, `zohocrm migrate --source @conn.txt "
              "--target duckdb:crm.duckdb --incremental` on a schedule. See README.md.")


def _summary(err: Console, result: Any, label: str, seconds: float, credits: int) -> None:
    read = sum(m.rows_read for m in result.modules)
    written = sum(m.rows_written for m in result.modules)
    deleted = sum(m.rows_deleted for m in result.modules)
    failed = [m for m in result.modules if m.error]
    rate = f", {read / seconds:,.0f} rows/s" if seconds > 0 and read else ""
    err.print(f"   {label}: {read:,} rows read, {written:,} written, {deleted:,} deleted across "
              f"{len(result.modules)} modules in {seconds:.1f} s{rate}; {credits:,} credits")
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
