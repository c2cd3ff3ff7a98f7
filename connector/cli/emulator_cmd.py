"""``zohocrm emulator``: a thin wrapper over :func:`connector.emulator.cli.serve`."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import click

FAULT_KINDS_HELP = "comma-separated subset of 500,502,503,429,error200,drop,slow,drop_after"


def _sizes(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        name, sep, n = v.partition("=")
        if not sep or not n.strip().isdigit():
            raise click.BadParameter(f"expected Module=N, got {v!r}", param_hint="--size")
        out[name.strip()] = int(n)
    return out


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="interface to bind; anything but loopback needs --allow-remote")
@click.option("--port", default=0, show_default=True, type=int, help="0 picks a free port")
@click.option("--allow-remote", is_flag=True,
              help="allow a --host other machines can reach (warns; /__emulator/ then needs the admin token)")
@click.option("--admin-token", envvar="ZOHOCRM_EMULATOR_ADMIN_TOKEN", default=None, metavar="TOKEN",
              help="token /__emulator/ paths require (also on loopback); generated off loopback when not given "
                   "[env ZOHOCRM_EMULATOR_ADMIN_TOKEN]")
@click.option("--advertise-host", default=None, metavar="NAME",
              help="host name put in the printed origins (default: the bound address; the machine's name "
                   "for 0.0.0.0)")
@click.option("--dev-credentials", is_flag=True,
              help="serve the fixed client id, secret and refresh token of connection_strings/emulator.txt "
                   "(loopback only)")
@click.option("--records", default=2_000, show_default=True, type=click.IntRange(0, 5_000_000),
              help="records in the org, split across modules")
@click.option("--size", "sizes", multiple=True, metavar="MODULE=N", help="records of one module, e.g. Leads=250000")
@click.option("--seed", default=42, show_default=True, type=int, help="data seed (same seed, same org)")
@click.option("--data-dir", type=click.Path(file_okay=False), help="persist the org and tokens here")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0),
              help="every API call's time at Zoho: no answer sooner (the emulator's own work is done within it)")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="share of API calls that fail (seeded, reproducible)")
@click.option("--fault-kinds", default=None, help=FAULT_KINDS_HELP)
@click.option("--index-lag-s", default=0.0, show_default=True, type=click.FloatRange(0),
              help="search index lag: newer changes are invisible to /search")
@click.option("--credits", default=1_000_000, show_default=True, type=click.IntRange(0),
              help="API credits per rolling 24 h")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(1),
              help="concurrent calls per client (Enterprise: 20)")
@click.option("--sub-concurrency", default=10, show_default=True, type=click.IntRange(1),
              help="concurrent heavy calls (sort_by, COQL, big writes) per client")
@click.option("--slow-fault-ms", default=2000.0, show_default=True, type=click.FloatRange(0),
              help="how long a 'slow' fault holds the answer back")
@click.option("--token-ttl-s", default=3600, show_default=True, type=click.IntRange(1), help="access token lifetime")
@click.option("--bulk-rows-per-s", default=200_000.0, show_default=True, type=float,
              help="bulk job processing speed")
@click.option("--location", default="us", show_default=True,
              type=click.Choice(["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"]),
              help="data center this instance pretends to be")
@click.option("--environment", default="production", show_default=True,
              type=click.Choice(["production", "sandbox", "developer"]))
@click.option("--manual-consent", is_flag=True, help="show an Accept/Deny consent page instead of auto-approving")
@click.option("--org", "org_kind", default="enterprise", show_default=True,
              type=click.Choice(["enterprise", "classic"]),
              help="enterprise: a whole standard org (notes, attachments, activities, inventory, campaigns, "
                   "cases...); classic: the ten modules of before")
def emulator(host: str, port: int, allow_remote: bool, admin_token: str | None, advertise_host: str | None,
             dev_credentials: bool, records: int, sizes: tuple[str, ...], seed: int, data_dir: str | None,
             latency_ms: float, fault_rate: float, fault_kinds: str | None, index_lag_s: float, credits: int,
             concurrency: int, sub_concurrency: int, slow_fault_ms: float, token_ttl_s: int,
             bulk_rows_per_s: float, location: str, environment: str, manual_consent: bool, org_kind: str) -> None:
    """Run a local Zoho CRM (accounts server, CRM API v8/v7, bulk APIs) until Ctrl-C.

    Prints one JSON line with the origins, credentials and a connection string when ready (with
    the admin token that /__emulator/ then needs, when it binds off loopback or one was given).
    """
    from ..emulator.cli import serve
    from ..warm import arrow_in_background

    arrow_in_background()  # the command's process: pyarrow's first conversion without pandas, before the org's
    kw = dict(host=host, port=port, records=records, sizes=_sizes(sizes), seed=seed, data_dir=data_dir,
              latency_ms=latency_ms, fault_rate=fault_rate, index_lag_s=index_lag_s, credits=credits,
              concurrency=concurrency, sub_concurrency=sub_concurrency, slow_fault_ms=slow_fault_ms,
              token_ttl_s=token_ttl_s, bulk_rows_per_s=bulk_rows_per_s,
              location=location, environment=environment, auto_approve=not manual_consent,
              allow_remote=allow_remote, admin_token=admin_token, advertise_host=advertise_host,
              dev_credentials=dev_credentials, org=org_kind)
    if fault_kinds:
        kw["fault_kinds"] = tuple(k.strip() for k in fault_kinds.split(",") if k.strip())
    try:
        code = serve(**kw)
    except ValueError as exc:  # Settings.validate: a usage error, reported on stderr with status 2
        raise click.UsageError(str(exc)) from None
    _end(code)


def _end(code: int) -> NoReturn:
    """End the process once the emulator has stopped (its org saved, its store closed, its temp files gone).

    A request a client walked away from may still be answered on a daemon thread, and a native pool
    (DuckDB's, Arrow's) may still be calling into Python; the interpreter's finalization would stop such
    a thread inside native code and the C++ runtime aborts the process ("terminate called ...", "FATAL:
    exception not rethrown": seen twice in CI under load, the second time after the old check for live
    Python threads had let finalization run). With nothing left to save, the process ends without it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
