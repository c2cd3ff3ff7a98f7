"""``zohocrm demo``: the first thing a new user runs — no Zoho account needed.

Starts the embedded emulator, migrates every module into a local DuckDB file
with progress bars, changes some records in the "CRM" and runs an incremental
sync, then answers a few questions in SQL and says where everything is.

Everything it writes stays in its ``--dir`` folder: the DuckDB file, and the
sealed token store with its key in ``auth/`` (both replaced on each run, since
each run's emulator has new credentials).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .common import friendly_errors

#: off a terminal rich would cut and wrap at 80 columns; a log or a pipe gets whole lines instead
OFF_TERMINAL_WIDTH = 1_000
#: what the demo keeps in its folder: the data, and a folder for the token store, its key and their companions
DB_FILE, AUTH_DIR = "zoho.duckdb", "auth"
LOOK_INSIDE_SQL = "SELECT Lead_Source, count(*) AS leads FROM Leads GROUP BY ALL ORDER BY leads DESC LIMIT 5"

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


def _console(stderr: bool = False) -> Console:
    """A terminal gets rich's own width; a pipe or a log file gets lines that are never cut or wrapped."""
    console = Console(stderr=stderr)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(stderr=stderr, width=OFF_TERMINAL_WIDTH, soft_wrap=True)


def _cell(value: Any) -> Text:
    # Text, not a str: rich would read "[...]" in a company name as markup.
    if value is None:
        return Text("NULL", style="dim italic")  # a blank cell reads as an empty string, or as no row at all
    if isinstance(value, (float, Decimal)):
        return Text(f"{value:,.2f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return Text(f"{value:,}")
    return Text(str(value))


def _table(con: Any, title: str, sql: str) -> Table:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    t = Table(title=title, title_justify="left", show_lines=False)
    for i, c in enumerate(cols):
        numeric = any(isinstance(r[i], (int, float, Decimal)) and not isinstance(r[i], bool) for r in rows)
        t.add_column(c, justify="right" if numeric else "left")
    for row in rows:
        t.add_row(*[_cell(v) for v in row])
    return t


def look_inside_command(db_path: Path) -> str:
    """A shell command that shows the demo's data with what is surely installed: this Python and its DuckDB."""
    python = Path(sys.executable)
    try:
        shown = os.path.relpath(python)
        python_text = shown if not shown.startswith("..") else str(python)
    except ValueError:  # another drive (Windows)
        python_text = str(python)
    code = (f"import duckdb; duckdb.connect({json.dumps(str(db_path))}, read_only=True)"
            f".sql({json.dumps(LOOK_INSIDE_SQL)}).show()")
    return f"{shlex.quote(python_text)} -c {shlex.quote(code)}"


@click.command()
@click.option("--records", default=20_000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="size of the emulated org")
@click.option("--dir", "out_dir", default="zohocrm-demo", show_default=True, type=click.Path(file_okay=False),
              help="the demo's folder: its DuckDB file and token store (nothing is written elsewhere)")
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--org", "org", default="classic", show_default=True, type=click.Choice(["classic", "enterprise"]),
              help="classic: the ten CRM modules; enterprise: the whole org (notes, files, activities, "
                   "inventory...) — slower, its attachments are listed record by record as Zoho requires")
def demo(records: int, out_dir: str, seed: int, org: str) -> None:
    """Emulator -> DuckDB migration -> changes -> incremental sync -> SQL. Offline, about a minute."""
    with friendly_errors():
        _demo(records, Path(out_dir), seed, org)


def _fresh_folder(folder: Path) -> Path:
    """The demo's folder, emptied of what an earlier run left (the data and that run's tokens)."""
    from connector.localfs import private_dir, reporting_os_errors

    private_dir(folder, "demo folder", setting="--dir")
    for name in (DB_FILE, f"{DB_FILE}.wal"):
        with reporting_os_errors(folder / name, "file of an earlier demo run", setting="--dir"):
            (folder / name).unlink(missing_ok=True)
    with reporting_os_errors(folder / AUTH_DIR, "token folder of an earlier demo run", setting="--dir"):
        if (folder / AUTH_DIR).exists():
            shutil.rmtree(folder / AUTH_DIR)
    return folder / DB_FILE


def _demo(records: int, folder: Path, seed: int, org: str = "classic") -> None:
    from connector.config import parse_connection_string
    from connector.emulator import Emulator
    from connector.session import ZohoSession
    from connector.sync.runner import run
    from connector.sync.source_zoho import ZohoSource
    from connector.sync.target_duckdb import DuckDBTarget

    from .migrate_cmd import ProgressBars

    err = _console(stderr=True)
    out = _console()
    db_path = _fresh_folder(folder)
    started = time.monotonic()
    err.print(f"[bold]1.[/bold] Starting a local Zoho CRM emulator with {records:,} records (seed {seed}) ...")
    with Emulator(org=org, records=records, seed=seed) as emu:
        err.print(f"   accounts server and API at {emu.origin} (OAuth, REST, COQL, Bulk — all local)")
        # The token store and its key stay in the demo's folder, not in ~/.config/zohocrm.
        config = parse_connection_string(emu.connection_string).replace(
            oauth_settings_location=folder / AUTH_DIR / "tokens" / "demo.tokens",
            oauth_key_location=folder / AUTH_DIR / "key" / "demo.key")  # apart: the auth layer insists
        session = ZohoSession(config)
        target = DuckDBTarget(db_path)
        meter = session.http.meter

        def credits() -> int:
            return int(meter.total)

        def run_meter() -> Callable[[str | None], int]:
            """Credits of the run about to start (its modules' calls; all of them for None): the two runs
            share one connection, whose meter counts since it opened."""
            total, tags = meter.total, meter.tags()
            return lambda module: int(meter.total - total if module is None
                                      else meter.charged(module) - tags.get(module, 0))

        # The first load of a whole org is what Bulk Read is for: one export job per module.
        err.print(f"[bold]2.[/bold] Full load of every module into {db_path} (Bulk Read: one export job per "
                  "module) ...")
        t0, c0 = time.monotonic(), credits()
        with ProgressBars(err, run_meter()) as bars:
            full = run(ZohoSource(session, api_type="Bulk"), target, progress=bars)
        _summary(err, full, "full load", time.monotonic() - t0, credits() - c0)
        err.print("[bold]3.[/bold] Changing the CRM: creating, updating and deleting records in Leads, "
                  "Contacts and Deals ...")
        changed = _mutate(emu)
        err.print(f"   {changed}")
        # Zoho timestamps have whole seconds and a sync never takes the current second (it may
        # still be changing); the emulator's clock moves on so the changes are settled.
        emu.advance_clock(2)
        err.print("[bold]4.[/bold] Incremental sync: COQL for rows with Modified_Time >= the watermark, "
                  "/deleted for deletions ...")
        t0, c0 = time.monotonic(), credits()
        with ProgressBars(err, run_meter()) as bars:
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
    err.print(f"Your data: [bold]{db_path.resolve()}[/bold]; the sync state (watermarks per module) is in its "
              "_zohocrm_state table. Look inside with the Python that ran this demo (DuckDB and pandas came "
              "with it; .df() instead of .show() gives a pandas DataFrame):")
    err.print(Text(f"   {look_inside_command(db_path)}"))
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


def _mutate(emu: Any) -> str:
    parts = []
    for module, spec in (("Leads", {"creates": 25, "updates": 40, "deletes": 5}),
                         ("Contacts", {"creates": 10, "updates": 15, "deletes": 3}),
                         ("Deals", {"creates": 5, "updates": 20, "deletes": 2})):
        body = emu.mutate(module, **spec, seed=7)
        parts.append(f"{module}: +{len(body['created'])} ~{len(body['updated'])} -{len(body['deleted'])}")
    return "; ".join(parts)
