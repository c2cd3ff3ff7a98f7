"""``zohocrm state``: show and reset what a sync remembers (watermarks, id map, pending batches).

``show`` reads only and prints a table (or ``--json``) to stdout. ``reset`` forgets
the watermark of some modules so the next run loads them in full; it asks first
(``--yes`` answers for scripts). The state lives in the target for DuckDB and
file targets, and in a sidecar file for Zoho targets (see ``connector.sync.admin``).
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .common import EXIT_USAGE, friendly_errors
from .migrate_cmd import endpoint

target_option = click.option("--target", required=True, metavar="URL|STRING|@FILE",
                             help="the migration's target: duckdb:PATH, parquet:DIR, csv:DIR or a Zoho connection")
source_option = click.option("--source", default=None, metavar="URL|STRING|@FILE",
                             help="Zoho targets: the migration's source (the state file is named after both ends)")
state_option = click.option("--state", "state_path", default=None, metavar="PATH",
                            help="Zoho targets: the sync state file the migration used (--state of migrate)")


def _locate(target: str, source: str | None, state_path: str | None) -> Any:
    from connector.sync.admin import locate

    return locate(endpoint(target), source=endpoint(source) if source else None, state_path=state_path)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def status_table(view: Any) -> Table:
    zoho = view.kind == "zoho"
    t = Table(title=f"sync state in {view.location}", title_justify="left")
    cols = ["module", "watermark (UTC)", "boundary ids", "last run (UTC)", "rows"]
    cols += ["id map", "failed", "deferred", "pending batches"] if zoho else ["files"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("module", "watermark (UTC)", "last run (UTC)", "files") else "right")
    for m in view.modules:
        boundary = f"{m.boundary_ids:,}" + (" (settled)" if m.boundary_settled and m.boundary_ids else "")
        row = [m.module, _when(m.watermark) or ("full load pending" if not m.loaded else ""), boundary,
               _when(m.last_run), _count(m.rows)]
        if zoho:
            row += [_count(m.id_map), _count(m.failed), _count(m.deferred), _count(m.pending_batches)]
        else:
            row.append("" if m.files else "left out")  # --no-files
        t.add_row(*row)
    return t


@click.group()
def state() -> None:
    """Show or reset a sync's state: watermarks, id map size, pending batches."""


@state.command("show")
@target_option
@source_option
@state_option
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def show_cmd(target: str, source: str | None, state_path: str | None, as_json: bool) -> None:
    """Print each module's watermark, boundary ids, last run, rows (and, into Zoho, the id map and
    pending batches; into files and DuckDB, whether its files were left out)."""
    from connector.sync.admin import dumps, show

    with friendly_errors():
        view = show(_locate(target, source, state_path))
    if as_json:
        click.echo(dumps(view))
        return
    Console(width=max(200, Console().width)).print(status_table(view))
    if not view.modules:
        click.echo("no module has a sync state yet: the next run loads everything", err=True)


@state.command("reset")
@target_option
@source_option
@state_option
@click.option("--module", "modules", multiple=True, metavar="MODULE",
              help="a module to reset (repeat, or A,B); --all resets every module")
@click.option("--all", "everything", is_flag=True, help="reset every module")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def reset_cmd(target: str, source: str | None, state_path: str | None, modules: tuple[str, ...],
              everything: bool, yes: bool) -> None:
    """Forget the watermark of --module (or --all): the next run loads those modules in full."""
    from connector.sync.admin import reset

    names = [m.strip() for part in modules for m in part.split(",") if m.strip()]
    if bool(names) == everything:
        raise click.UsageError("say which modules to reset: --module NAME (repeatable) or --all")
    with friendly_errors():
        loc = _locate(target, source, state_path)
        what = "every module" if everything else ", ".join(names)
        if not yes:
            if not sys.stdin.isatty():
                click.echo(f"error: resetting {what} in {loc.path} makes the next run load it in full; "
                           "add --yes to confirm", err=True)
                raise SystemExit(EXIT_USAGE)
            click.confirm(f"Reset {what} in {loc.path}? The next run loads it in full", abort=True, err=True)
        done = reset(loc, None if everything else names)
    if not done:
        click.echo("no module had a sync state: nothing to reset", err=True)
        return
    kept = (" The id map and any pending batches are kept: records already in Zoho are updated, not "
            "inserted again." if loc.kind == "zoho" else "")
    click.echo(f"reset {', '.join(done)}: the next run loads {'it' if len(done) == 1 else 'them'} in full.{kept}")
