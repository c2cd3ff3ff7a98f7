"""``zohocrm broker``: serve workspaces over the sealed Zoho connection, and issue their keys."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

from connector.localfs import write_private

from .common import err, friendly_errors, resolve_connection


@click.group()
def broker() -> None:
    """A local service that holds the Zoho connection for scripts, notebooks and AI agents."""


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:8787", param_hint="--listen")
    return host.strip("[]"), int(port)


@broker.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the policy file (TOML): workspaces, their org, modules and operations")
@click.option("--connection", envvar="ZOHOCRM_CONNECTION", help="the broker's own Zoho connection (or @file)")
@click.option("--listen", default="127.0.0.1:8787", show_default=True, help="HOST:PORT (port 0: any free port)")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TLS certificate (PEM); required to listen anywhere but this machine")
@click.option("--key", "key_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the certificate's private key (PEM), if not in --cert")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              help="keys, signing key, budgets and audit log (default: <policy>.broker/ beside the policy)")
def serve(policy_path: Path, connection: str | None, listen: str, cert: Path | None, key_path: Path | None,
          state_dir: Path | None) -> None:
    """Serve the policy's workspaces until Ctrl-C or SIGTERM."""
    from connector.broker.policy import load_policy, write_warnings
    from connector.broker.serve import BrokerServer
    from connector.broker.server import Broker

    host, port = _listen(listen)
    with friendly_errors():
        warnings, errors = write_warnings(load_policy(policy_path))
        for line in warnings:
            err(f"warning: {line}")
        if errors:
            for line in errors:
                err(f"error: {line}")
            err("refusing to start: set confirm_writes = true in each workspace that should write")
            raise SystemExit(2)
        service = Broker(resolve_connection(connection), policy_path, state_dir)
        try:
            server = BrokerServer(service, host, port, cert=cert, key=key_path)
        except BaseException:
            service.close()
            raise
        for why in sorted(service.refused.values()):
            err(f"warning: refused {why}")
        served = ", ".join(sorted(service.served)) or "none"
        err(f"broker listening on {server.url} for org {service.org_id}; workspaces: {served}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server.start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            server.server_close()
            service.close()
        err("broker stopped")


@broker.group("key")
def key_group() -> None:
    """Workspace keys: random, shown once, stored hashed."""


@key_group.command("new")
@click.argument("workspace")
@click.option("--policy", "policy_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the key (and envelope keys) to this file (0600) for BrokerKeyFile, instead of stdout")
def key_new(workspace: str, policy_path: Path, state_dir: Path | None, out: Path | None) -> None:
    """Issue WORKSPACE a new key (any earlier key stops working)."""
    from connector.broker.policy import KeyRegistry, load_policy
    from connector.broker.server import default_state_dir, signing_key

    with friendly_errors():
        workspaces = load_policy(policy_path)
        if workspace not in workspaces:
            raise click.BadParameter(f"no workspace {workspace!r} in {policy_path} (it has "
                                     f"{', '.join(workspaces)})", param_hint="WORKSPACE")
        folder = state_dir or default_state_dir(policy_path)
        issued = KeyRegistry(folder).issue(workspaces[workspace], signing_key(folder).mldsa_public)
        if out is not None:
            write_private(out, json.dumps(issued, indent=1), "broker key file")
            err(f"key for workspace {workspace} written to {out} (0600); use BrokerKeyFile={out}")
        elif workspaces[workspace].envelope:
            raise click.UsageError("this workspace's answers are sealed: its envelope keys need --out FILE")
        else:
            click.echo(issued["key"])
            err(f"the key above is shown once and stored hashed; use BrokerKey=<key> for workspace {workspace}")
        sys.stdout.flush()


@key_group.command("revoke")
@click.argument("workspace")
@click.option("--policy", "policy_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path))
def key_revoke(workspace: str, policy_path: Path, state_dir: Path | None) -> None:
    """Make WORKSPACE's key stop working at once."""
    from connector.broker.policy import KeyRegistry
    from connector.broker.server import default_state_dir

    with friendly_errors():
        found = KeyRegistry(state_dir or default_state_dir(policy_path)).revoke(workspace)
    err(f"key of workspace {workspace} revoked" if found else f"workspace {workspace} had no key")
